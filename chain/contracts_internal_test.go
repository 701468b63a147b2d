package chain

import (
	"testing"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// fluxoraContracts binds contracts to the Fluxora module, as CONTRACTS=fluxora:C… does.
func fluxoraContracts(tb testing.TB, contracts ...domain.Address) *Contracts {
	tb.Helper()
	bindings := make([]Binding, len(contracts))
	for i, c := range contracts {
		bindings[i] = Binding{Contract: c, Module: fluxora.Module{}}
	}
	c, err := NewContracts(bindings...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
