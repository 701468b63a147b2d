// Package reconcile compares projections with the contracts' on-chain storage (DESIGN §15). The core runs it and
// names no module: each module brings its Hook, which says which storage entries hold what its projection states
// and how the two compare.
package reconcile

import (
	"context"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
)

// Hook is a module's side of reconciliation (DESIGN §12).
type Hook interface {
	// Keys are the storage entries of contract that hold the module's projected fields (a stream's, an escrow's
	// funded amount and status), as RPC getLedgerEntries takes them.
	Keys(ctx context.Context, contract domain.Address) ([]xdr.LedgerKey, error)
	// Compare holds the entries read at ledger for keys (a key with no entry is missing from entries) against the
	// module's projection as of that same ledger, and returns every field on which they differ. It compares the
	// subjects of keys only: the storage is read at the source's latest ledger, which may be ahead of the log when
	// the keys were taken, so the projection as of ledger may know subjects (a stream, an investor) whose keys were
	// not read; the next run compares them.
	Compare(ctx context.Context, contract domain.Address, ledger uint32, keys []xdr.LedgerKey, entries []xdr.LedgerEntry) ([]Drift, error)
}

// Drift is one field on which the projection and the chain disagree.
type Drift struct {
	Contract  domain.Address
	Subject   string // what the field belongs to, as the API names it: a stream id, an invoice id
	Field     string // the projected field, as the API names it
	OnChain   string
	Projected string
	// Magnitude is |on chain − projected| for an amount, in base units; zero for other fields.
	Magnitude domain.Amount
}
