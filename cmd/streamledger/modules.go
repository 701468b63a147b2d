package main

import (
	"encoding/hex"
	"fmt"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/config"
	"github.com/streamledger/streamledger/projections"
)

// moduleNamed is the module a CONTRACTS entry names: cmd wires the modules into a core that names none
// (DESIGN §12). Config has refused any other name, saying which it knows.
func moduleNamed(name string) (chain.Module, error) {
	switch name {
	case config.ModuleFluxora:
		return fluxora.Module{}, nil
	case config.ModuleFluxoraFactory:
		return fluxora.Factory{}, nil
	case config.ModuleFluxoraGovernance:
		return fluxora.Governance{}, nil
	case config.ModuleLiquiFact:
		return liquifact.Module{}, nil
	}
	return nil, fmt.Errorf("%w: CONTRACTS: no module %q in this build", errUsage, name)
}

// bindContracts binds each configured contract to its module, and each configured executable's instances.
func bindContracts(contracts []config.Contract) (*chain.Contracts, error) {
	var bindings []chain.Binding
	var wasm []chain.WasmBinding
	for _, c := range contracts {
		m, err := moduleNamed(c.Module)
		if err != nil {
			return nil, err
		}
		if c.WasmHash != "" {
			raw, err := hex.DecodeString(c.WasmHash)
			if err != nil || len(raw) != 32 {
				return nil, fmt.Errorf("%w: CONTRACTS: wasm:%s is not a hash", errUsage, c.WasmHash)
			}
			wasm = append(wasm, chain.WasmBinding{Hash: xdr.Hash(raw), Module: m})
			continue
		}
		bindings = append(bindings, chain.Binding{Contract: c.ID, Module: m})
	}
	bound, err := chain.NewContractsWithWasm(bindings, wasm)
	if err != nil {
		return nil, fmt.Errorf("%w: CONTRACTS: %v", errUsage, err)
	}
	return bound, nil
}

// codecOf is what reads the stored contract events of a command that follows no source (replay, audit):
// the configured contracts' modules. With none configured (the simulator's default), events are read with
// every module of this build and as they were stored: the simulator's were all written by this build's decoder.
func codecOf(cfg *config.Config) (projections.Codec, error) {
	if len(cfg.Contracts) > 0 {
		return bindContracts(cfg.Contracts)
	}
	var types []domain.Event
	for _, name := range config.Modules() {
		m, err := moduleNamed(name)
		if err != nil {
			return nil, err
		}
		types = append(types, m.Events()...)
	}
	events, err := domain.NewRegistry(types...)
	if err != nil {
		return nil, fmt.Errorf("event registry of this build's modules: %w", err)
	}
	return projections.Registry(events), nil
}
