package liquifactsim

import (
	"context"
	"fmt"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
)

// LedgerEntries serves the escrows' storage as the contract keeps it, at the last ledger the scenario played (its
// canonical chain's): the reconciliation source of the simulated network (what RPC getLedgerEntries answers on a
// real one). A drift injected with Drift is served too.
func (s *Scenario) LedgerEntries(_ context.Context, keys []xdr.LedgerKey) ([]xdr.LedgerEntry, uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []xdr.LedgerEntry
	for _, key := range keys {
		cd, ok := key.GetContractData()
		if !ok || cd.Contract.ContractId == nil {
			continue
		}
		e := s.byContract(*cd.Contract.ContractId)
		if e == nil || !e.state.Known {
			continue
		}
		var val xdr.ScVal
		switch {
		case cd.Key.Type == xdr.ScValTypeScvLedgerKeyContractInstance:
			st := e.state
			funded, _ := st.FundedAmount.Add(s.drift[e.address])
			escrow := sim.Struct(map[string]xdr.ScVal{"invoice_id": sim.Sym(st.InvoiceID), "admin": sim.Addr(st.Admin),
				"sme_address": sim.Addr(st.Sme), "amount": sim.I128(st.InvoiceAmount), "funding_target": sim.I128(st.FundingTarget),
				"funded_amount": sim.I128(funded), "yield_bps": i64(st.YieldBps), "maturity": sim.U64(st.Maturity),
				"status": sim.U32(uint32(st.Status))})
			storage := xdr.ScMap{{Key: liquifact.EscrowKey(), Val: escrow}}
			wasm := s.WasmHash()
			val = xdr.ScVal{Type: xdr.ScValTypeScvContractInstance, Instance: &xdr.ScContractInstance{
				Executable: xdr.ContractExecutable{Type: xdr.ContractExecutableTypeContractExecutableWasm, WasmHash: &wasm},
				Storage:    &storage}}
		default:
			if cd.Key.Vec == nil || *cd.Key.Vec == nil || len(**cd.Key.Vec) != 2 {
				continue
			}
			investor, err := addressOf((**cd.Key.Vec)[1])
			if err != nil {
				return nil, 0, err
			}
			p, ok := e.state.Position(investor)
			if !ok {
				continue
			}
			val = sim.I128(p.Contribution)
		}
		out = append(out, xdr.LedgerEntry{LastModifiedLedgerSeq: xdr.Uint32(s.seq), Data: xdr.LedgerEntryData{
			Type: xdr.LedgerEntryTypeContractData, ContractData: &xdr.ContractDataEntry{Contract: cd.Contract, Key: cd.Key,
				Durability: cd.Durability, Val: val}}})
	}
	return out, s.seq, nil
}

// Drift makes the served storage of an escrow disagree with its events: delta is added to its funded amount.
func (s *Scenario) Drift(contract domain.Address, delta domain.Amount) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drift[contract] = delta
}

func (s *Scenario) byContract(id xdr.ContractId) *escrow {
	for _, e := range s.escrows {
		if e.contract == id {
			return e
		}
	}
	return nil
}

func addressOf(v xdr.ScVal) (domain.Address, error) {
	a, ok := v.GetAddress()
	if !ok {
		return "", fmt.Errorf("liquifactsim: key element is %s, want an address", v.Type)
	}
	s, err := a.String()
	return domain.Address(s), err
}
