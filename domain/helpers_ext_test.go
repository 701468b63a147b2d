package domain_test

import (
	"github.com/streamledger/streamledger/contracts/fluxora/fluxoratest"
	"github.com/streamledger/streamledger/domain"
)

const (
	testAccount  = fluxoratest.Account
	testAccount2 = fluxoratest.Account2
	testContract = fluxoratest.Contract
)

// testEvents knows every event type of the samples: the core's and the stream contract's modules', whose events serve as samples here.
var testEvents = fluxoratest.Registry()

func everyEvent() []domain.Event { return fluxoratest.Samples() }
