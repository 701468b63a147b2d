package domain_test

import "github.com/streamledger/streamledger/contracts/fluxora/fluxoratest"

// testEvents decodes the samples: the core's events and the stream contract's modules', whose events serve as
// samples of every field shape here.
var testEvents = fluxoratest.Registry()
