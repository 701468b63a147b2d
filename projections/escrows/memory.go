// Package escrows is the LiquiFact module's read model (DESIGN §12): each escrow's state, the fold of its
// contract's events (liquifact.Apply), kept by contract, with its investors' positions.
package escrows

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/projections"
)

// Name is the projection's name.
const Name = "escrows"

// StreamReader reads an escrow's store stream, for replays after a reversal and points in time.
type StreamReader interface {
	ReadStream(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error)
}

// Folded reports whether rec can change an escrow: the events of escrow store streams, compensations included.
func Folded(rec *eventstore.Recorded) bool { return strings.HasPrefix(rec.Stream, "escrow-") }

// Memory keeps the escrows in memory; a batch becomes visible at once, with its checkpoint.
type Memory struct {
	projections.MemoryCheckpoint
	reader StreamReader

	mu      sync.RWMutex
	escrows map[domain.Address]liquifact.Escrow
}

// NewMemory returns an empty projection; reader serves the replays after reversals.
func NewMemory(reader StreamReader) *Memory {
	return &Memory{reader: reader, escrows: map[domain.Address]liquifact.Escrow{}}
}

// Name is "escrows".
func (m *Memory) Name() string { return Name }

// Wants is Folded: the runner decodes no other event for this projection.
func (m *Memory) Wants(rec *eventstore.Recorded) bool { return Folded(rec) }

// Apply folds a batch; an escrow a compensation touched is replayed from its store stream as it stands at the
// compensation (every event of an escrow is in its stream).
func (m *Memory) Apply(ctx context.Context, batch []projections.Event) error {
	m.mu.RLock()
	changed := map[domain.Address]liquifact.Escrow{}
	current := func(c domain.Address) liquifact.Escrow {
		if e, ok := changed[c]; ok {
			return e
		}
		return m.escrows[c]
	}
	var err error
	for _, ev := range batch {
		if ev.Domain == nil || !Folded(&ev.Recorded) {
			continue
		}
		contract, ok := contractOf(ev.Domain)
		if !ok {
			continue
		}
		if domain.IsCompensation(ev.Domain) {
			var e liquifact.Escrow
			if e, err = Replay(ctx, m.reader, contract, ev.Position); err != nil {
				break
			}
			changed[contract] = e
			continue
		}
		changed[contract] = liquifact.Apply(current(contract), ev.ID, ev.Domain)
	}
	m.mu.RUnlock()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for c, e := range changed {
		if e.Version == 0 {
			delete(m.escrows, c)
		} else {
			m.escrows[c] = e
		}
	}
	m.Advance(batch)
	return nil
}

// contractOf is the escrow contract an event of an escrow stream belongs to.
func contractOf(e domain.Event) (domain.Address, bool) {
	switch v := e.(type) {
	case *domain.EventReverted:
		return v.ContractID, true
	case *domain.EventRestored:
		return v.ContractID, true
	case domain.ChainEvent:
		return v.ChainMetadata().ContractID, true
	}
	return "", false
}

// Get is one escrow by contract.
func (m *Memory) Get(c domain.Address) (liquifact.Escrow, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.escrows[c]
	return e, ok
}

// All are the escrows by contract.
func (m *Memory) All() []liquifact.Escrow {
	m.mu.RLock()
	out := make([]liquifact.Escrow, 0, len(m.escrows))
	for _, e := range m.escrows {
		out = append(out, e)
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b liquifact.Escrow) int { return strings.Compare(string(a.Contract), string(b.Contract)) })
	return out
}

// Hash is a digest of every escrow, for comparing a rebuild with the live projection.
func (m *Memory) Hash() string { return hashOf(m.All()) }

// Replay is an escrow's state from its stored events up to position until (0: all), as they stand there.
func Replay(ctx context.Context, reader StreamReader, contract domain.Address, until eventstore.Position) (liquifact.Escrow, error) {
	es, err := entries(ctx, reader, contract, until)
	if err != nil {
		return liquifact.Escrow{}, err
	}
	return liquifact.ReplayAsOf(es, ^uint32(0)), nil
}

// AsOfLedger is an escrow's state as of ledger L: the fold of its standing events at or below L.
func AsOfLedger(ctx context.Context, reader StreamReader, contract domain.Address, ledger uint32) (liquifact.Escrow, bool, error) {
	es, err := entries(ctx, reader, contract, 0)
	if err != nil {
		return liquifact.Escrow{}, false, err
	}
	e := liquifact.ReplayAsOf(es, ledger)
	return e, e.Known, nil
}

// entries reads an escrow's stored events up to position until (0: all).
func entries(ctx context.Context, reader StreamReader, contract domain.Address, until eventstore.Position) ([]domain.Entry, error) {
	codec := liquifact.NewCodec()
	stream := liquifact.EscrowStoreStream(contract)
	var out []domain.Entry
	var from eventstore.Version
	for {
		page, err := reader.ReadStream(ctx, stream, from, 1000)
		if err != nil {
			return nil, fmt.Errorf("read escrow %s: %w", contract, err)
		}
		for _, rec := range page {
			if until > 0 && rec.Position > until {
				return out, nil
			}
			ev, err := projections.Decode(rec, codec)
			if err != nil {
				return nil, fmt.Errorf("escrow %s: %w", contract, err)
			}
			out = append(out, domain.Entry{ID: rec.ID, Event: ev.Domain})
		}
		if len(page) < 1000 {
			return out, nil
		}
		from = page[len(page)-1].Version + 1
	}
}
