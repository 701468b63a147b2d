package streams

import (
	"context"
	"fmt"
	"math/big"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/projections/reconcile"
)

// Reconcile is the stream contract's reconciliation hook (reconcile.Hook): each stream's deposit, withdrawn amount,
// rate and status, as its storage entry holds them, against the stream folded from the log as of the same ledger.
type Reconcile struct {
	Log StreamReader
	// IDs lists a contract's streams (the live read model's).
	IDs func(ctx context.Context, contract domain.Address) ([]uint64, error)
}

// Keys are the entries of the contract's streams.
func (r Reconcile) Keys(ctx context.Context, contract domain.Address) ([]xdr.LedgerKey, error) {
	ids, err := r.IDs(ctx, contract)
	if err != nil {
		return nil, err
	}
	keys := make([]xdr.LedgerKey, 0, len(ids))
	for _, id := range ids {
		k, err := fluxora.StreamKey(contract, id)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// Compare holds the stream entries read at ledger against the streams as of ledger: the streams whose keys were read
// (one created after the keys were taken waits for the next run).
func (r Reconcile) Compare(ctx context.Context, contract domain.Address, ledger uint32, keys []xdr.LedgerKey, entries []xdr.LedgerEntry) ([]reconcile.Drift, error) {
	stored, err := fluxora.ReadStoredStreams(entries)
	if err != nil {
		return nil, err
	}
	var out []reconcile.Drift
	for _, k := range keys {
		cd, isData := k.GetContractData()
		if !isData {
			continue
		}
		id, isStream, err := fluxora.StreamKeyID(cd.Key)
		if err != nil {
			return nil, err
		}
		if !isStream {
			continue
		}
		ref := fluxora.StreamRef{ContractID: contract, StreamID: id}
		s, known, err := AsOfLedger(ctx, r.Log, ref, ledger)
		if err != nil {
			return nil, err
		}
		onChain, present := stored[id]
		live := known && s.Status != fluxora.StatusClosed
		subject := ref.String()
		if present != live {
			if !present && !known {
				continue // created after the ledger the storage was read at
			}
			out = append(out, reconcile.Drift{Contract: contract, Subject: subject, Field: "exists",
				OnChain: fmt.Sprint(present), Projected: fmt.Sprint(live)})
			continue
		}
		if !present {
			continue
		}
		for _, f := range []struct {
			name             string
			chain, projected domain.Amount
		}{{"depositAmount", onChain.Deposit, s.DepositAmount}, {"withdrawnAmount", onChain.Withdrawn, s.WithdrawnAmount},
			{"ratePerSecond", onChain.RatePerSecond, s.RatePerSecond}} {
			if f.chain.Cmp(f.projected) != 0 {
				diff := new(big.Int).Sub(f.chain.Big(), f.projected.Big())
				mag, _ := domain.AmountFromBig(diff.Abs(diff))
				out = append(out, reconcile.Drift{Contract: contract, Subject: subject, Field: f.name, OnChain: f.chain.String(),
					Projected: f.projected.String(), Magnitude: mag})
			}
		}
		if int(onChain.Status) != fluxora.StatusCode(s.Status) {
			out = append(out, reconcile.Drift{Contract: contract, Subject: subject, Field: "status",
				OnChain: fmt.Sprint(onChain.Status), Projected: string(s.Status)})
		}
	}
	return out, nil
}
