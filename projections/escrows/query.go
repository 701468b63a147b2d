package escrows

import (
	"context"
	"slices"
	"strings"

	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
)

// Filter selects escrows; empty fields select all.
type Filter struct {
	Status       *liquifact.EscrowStatus
	Sme          domain.Address
	Investor     domain.Address // an investor with a position
	FundingToken domain.Address
}

func (f Filter) matches(e *liquifact.Escrow) bool {
	if f.Status != nil && e.Status != *f.Status {
		return false
	}
	if f.Sme != "" && e.Sme != f.Sme {
		return false
	}
	if f.FundingToken != "" && e.FundingToken != f.FundingToken {
		return false
	}
	if f.Investor != "" {
		if _, ok := e.Position(f.Investor); !ok {
			return false
		}
	}
	return true
}

// Page is a keyset page: escrows after contract After (in contract order), at most Limit.
type Page struct {
	After domain.Address
	Limit int
}

// List is a page of the escrows f selects, in contract order, and whether more follow.
func (m *Memory) List(f Filter, p Page) ([]liquifact.Escrow, bool) {
	var out []liquifact.Escrow
	for _, e := range m.All() {
		if p.After != "" && strings.Compare(string(e.Contract), string(p.After)) <= 0 {
			continue
		}
		if !e.Known || !f.matches(&e) {
			continue
		}
		if len(out) == p.Limit {
			return out, true
		}
		out = append(out, e)
	}
	return out, false
}

// ByInvoice is the escrow of an invoice id (one contract is one invoice; the first by contract if two share an id).
func (m *Memory) ByInvoice(invoiceID string) (liquifact.Escrow, bool) {
	for _, e := range m.All() {
		if e.InvoiceID == invoiceID && e.Known {
			return e, true
		}
	}
	return liquifact.Escrow{}, false
}

// Holding is one investor's position in one escrow.
type Holding struct {
	Escrow   liquifact.Escrow
	Position liquifact.Position
}

// Positions are an investor's positions, by escrow contract.
func (m *Memory) Positions(investor domain.Address) []Holding {
	var out []Holding
	for _, e := range m.All() {
		if p, ok := e.Position(investor); ok {
			out = append(out, Holding{Escrow: e, Position: p})
		}
	}
	slices.SortFunc(out, func(a, b Holding) int { return strings.Compare(string(a.Escrow.Contract), string(b.Escrow.Contract)) })
	return out
}

// MemoryReader is the memory read model behind the interface the routes read (the PostgreSQL one's too).
type MemoryReader struct{ m *Memory }

// Reader is the memory read model as the routes read it.
func (m *Memory) Reader() MemoryReader { return MemoryReader{m} }

// Get is one escrow by contract.
func (r MemoryReader) Get(_ context.Context, c domain.Address) (liquifact.Escrow, bool, error) {
	e, ok := r.m.Get(c)
	return e, ok, nil
}

// ByInvoice is the escrow of an invoice id.
func (r MemoryReader) ByInvoice(_ context.Context, id string) (liquifact.Escrow, bool, error) {
	e, ok := r.m.ByInvoice(id)
	return e, ok, nil
}

// List is a page of escrows.
func (r MemoryReader) List(_ context.Context, f Filter, p Page) ([]liquifact.Escrow, bool, error) {
	list, more := r.m.List(f, p)
	return list, more, nil
}

// Positions are an investor's positions.
func (r MemoryReader) Positions(_ context.Context, investor domain.Address) ([]Holding, error) {
	return r.m.Positions(investor), nil
}
