package escrows

import (
	"context"
	"fmt"
	"math/big"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/projections/reconcile"
)

// Reconcile is the LiquiFact module's reconciliation hook (reconcile.Hook): an escrow's funded amount and status
// and each investor's contribution, as its storage holds them, against the escrow folded from the log as of the
// same ledger.
type Reconcile struct {
	Log StreamReader
}

// Keys are the escrow's instance (holding the InvoiceEscrow) and the contribution of every investor the log knows.
func (r Reconcile) Keys(ctx context.Context, contract domain.Address) ([]xdr.LedgerKey, error) {
	e, err := Replay(ctx, r.Log, contract, 0)
	if err != nil {
		return nil, err
	}
	key, err := liquifact.InstanceKey(contract)
	if err != nil {
		return nil, err
	}
	keys := []xdr.LedgerKey{key}
	for _, p := range e.Positions {
		k, err := liquifact.ContributionKey(contract, p.Investor)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// Compare holds the entries read at ledger against the escrow as of ledger: the funded amount, the status, and the
// contribution of each investor whose key was read (one who funded after the keys were taken waits for the next run).
func (r Reconcile) Compare(ctx context.Context, contract domain.Address, ledger uint32, keys []xdr.LedgerKey, entries []xdr.LedgerEntry) ([]reconcile.Drift, error) {
	read := map[domain.Address]bool{}
	for _, k := range keys {
		if cd, ok := k.GetContractData(); ok {
			investor, isContribution, err := liquifact.ContributionKeyInvestor(cd.Key)
			if err != nil {
				return nil, err
			}
			if isContribution {
				read[investor] = true
			}
		}
	}
	stored, err := liquifact.ReadStored(entries)
	if err != nil {
		return nil, err
	}
	e, known, err := AsOfLedger(ctx, r.Log, contract, ledger)
	if err != nil {
		return nil, err
	}
	if !stored.Found && !known {
		return nil, nil
	}
	subject := e.InvoiceID
	if subject == "" {
		subject = string(contract)
	}
	var out []reconcile.Drift
	amount := func(field string, chain, projected domain.Amount) {
		if chain.Cmp(projected) != 0 {
			diff := new(big.Int).Sub(chain.Big(), projected.Big())
			mag, _ := domain.AmountFromBig(diff.Abs(diff))
			out = append(out, reconcile.Drift{Contract: contract, Subject: subject, Field: field, OnChain: chain.String(),
				Projected: projected.String(), Magnitude: mag})
		}
	}
	if stored.Found != known {
		out = append(out, reconcile.Drift{Contract: contract, Subject: subject, Field: "exists",
			OnChain: fmt.Sprint(stored.Found), Projected: fmt.Sprint(known)})
		return out, nil
	}
	amount("fundedAmount", stored.FundedAmount, e.FundedAmount)
	if liquifact.EscrowStatus(stored.Status) != e.Status {
		out = append(out, reconcile.Drift{Contract: contract, Subject: subject, Field: "status",
			OnChain: liquifact.EscrowStatus(stored.Status).String(), Projected: e.Status.String()})
	}
	for _, p := range e.Positions {
		if read[p.Investor] {
			amount("contribution of "+string(p.Investor), stored.Contributions[p.Investor], p.Contribution)
		}
	}
	return out, nil
}
