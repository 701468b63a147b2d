package main

import (
	"fmt"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/config"
	"github.com/streamledger/streamledger/projections"
)

// bindContracts binds each configured contract to its module: cmd wires the modules into a core that names none
// (DESIGN §12). CONTRACTS accepts only fluxora today (config refuses the rest, naming the setting), and
// CONTRACT_IDS means fluxora.
func bindContracts(ids []domain.Address) (*chain.Contracts, error) {
	bindings := make([]chain.Binding, len(ids))
	for i, id := range ids {
		bindings[i] = chain.Binding{Contract: id, Module: fluxora.Module{}}
	}
	c, err := chain.NewContracts(bindings...)
	if err != nil {
		return nil, fmt.Errorf("%w: CONTRACTS: %v", errUsage, err)
	}
	return c, nil
}

// interpreterOf is what reads the stored contract events of a command that follows no source (replay, audit):
// the configured contracts' modules. With none configured (the simulator's default), events are read as they
// were stored: the simulator's were all written by this build's decoder.
func interpreterOf(cfg *config.Config) (projections.Interpreter, error) {
	if len(cfg.ContractIDs) == 0 {
		return nil, nil
	}
	return bindContracts(cfg.ContractIDs)
}
