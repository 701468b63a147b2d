package streams

import (
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// Filter selects streams; empty fields match everything.
type Filter struct {
	Status     fluxora.StreamStatus
	Sender     domain.Address
	Recipient  domain.Address
	ContractID domain.Address
}

func (f Filter) match(s *fluxora.Stream) bool {
	return (f.Status == "" || s.Status == f.Status) && (f.Sender == "" || s.Sender == f.Sender) &&
		(f.Recipient == "" || s.Recipient == f.Recipient) && (f.ContractID == "" || s.ContractID == f.ContractID)
}

// Page is a keyset page: the streams after After (exclusive; the zero ref starts at the beginning), in
// (contract, stream id) order, at most Limit of them.
type Page struct {
	After fluxora.StreamRef
	Limit int
}

// after tells whether ref comes after the page's start.
func (p Page) after(ref fluxora.StreamRef) bool {
	if p.After == (fluxora.StreamRef{}) {
		return true
	}
	return less(p.After, ref)
}
