package streams

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"sync"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/projections"
)

// Name is the projection's name.
const Name = "streams"

// Memory keeps the stream states in memory; a batch becomes visible at once, with its checkpoint.
type Memory struct {
	projections.MemoryCheckpoint
	reader StreamReader

	mu      sync.RWMutex
	streams map[fluxora.StreamRef]fluxora.Stream
	// sorted lists the streams in (contract, stream id) order for listings; nil after a stream came or went.
	sorted []fluxora.StreamRef
}

// NewMemory returns an empty projection; reader serves the replays after reversals.
func NewMemory(reader StreamReader) *Memory {
	return &Memory{reader: reader, streams: map[fluxora.StreamRef]fluxora.Stream{}}
}

// Name is "streams".
func (m *Memory) Name() string { return Name }

// Wants is Folded: the runner decodes no other event for this projection.
func (m *Memory) Wants(rec *eventstore.Recorded) bool { return Folded(rec) }

// Apply folds a batch. The new states are computed aside (readers keep seeing the previous batch) and swapped
// in with the checkpoint under one lock.
func (m *Memory) Apply(ctx context.Context, batch []projections.Event) error {
	changes, err := Fold(ctx, m.reader, batch, func(ref fluxora.StreamRef) (fluxora.Stream, error) {
		m.mu.RLock()
		defer m.mu.RUnlock()
		return m.streams[ref], nil
	}, nil)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for ref, c := range changes {
		_, had := m.streams[ref]
		if c.Gone {
			delete(m.streams, ref)
		} else {
			m.streams[ref] = c.State.Detached() // kept for long: not holding its events' records
		}
		if had == c.Gone {
			m.sorted = nil
		}
	}
	m.Advance(batch)
	return nil
}

// Get returns one stream's state.
func (m *Memory) Get(ref fluxora.StreamRef) (fluxora.Stream, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.streams[ref]
	return s, ok
}

// All returns every stream, ordered by contract and stream id.
func (m *Memory) All() []fluxora.Stream {
	m.mu.RLock()
	out := make([]fluxora.Stream, 0, len(m.streams))
	for _, s := range m.streams {
		out = append(out, s)
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return less(out[i].Ref(), out[j].Ref()) })
	return out
}

// List returns the streams that match f, one page of them, and whether more follow.
func (m *Memory) List(f Filter, p Page) ([]fluxora.Stream, bool) {
	refs := m.sortedRefs()
	m.mu.RLock()
	defer m.mu.RUnlock()
	start := sort.Search(len(refs), func(i int) bool { return p.after(refs[i]) })
	var out []fluxora.Stream
	for _, ref := range refs[start:] {
		s, ok := m.streams[ref]
		if !ok || !f.match(&s) {
			continue
		}
		if len(out) == p.Limit {
			return out, true
		}
		out = append(out, s)
	}
	return out, false
}

// sortedRefs returns the streams in listing order, sorting again only after streams came or went.
func (m *Memory) sortedRefs() []fluxora.StreamRef {
	m.mu.RLock()
	refs := m.sorted
	m.mu.RUnlock()
	if refs != nil {
		return refs
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sorted == nil {
		m.sorted = make([]fluxora.StreamRef, 0, len(m.streams))
		for ref := range m.streams {
			m.sorted = append(m.sorted, ref)
		}
		sort.Slice(m.sorted, func(i, j int) bool { return less(m.sorted[i], m.sorted[j]) })
	}
	return m.sorted
}

func less(a, b fluxora.StreamRef) bool {
	if a.ContractID != b.ContractID {
		return a.ContractID < b.ContractID
	}
	return a.StreamID < b.StreamID
}

// StateHash is a deterministic hash of every stream's state: two projections with the same hash hold the same
// streams. Rebuilds compare it with the live projection's.
func (m *Memory) StateHash() (string, error) { return StateHash(m.All()) }

// StateHash hashes streams given in (contract, stream id) order, as every backend lists them.
func StateHash(streams []fluxora.Stream) (string, error) {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, s := range streams {
		if err := enc.Encode(s); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Reader serves the projection through the context-taking, error-returning reads that Postgres has too, so the
// API reads either one the same way.
func (m *Memory) Reader() MemoryReader { return MemoryReader{m} }

// MemoryReader is Memory's Reader.
type MemoryReader struct{ m *Memory }

// Get is Memory.Get; it never fails.
func (r MemoryReader) Get(_ context.Context, ref fluxora.StreamRef) (fluxora.Stream, bool, error) {
	s, ok := r.m.Get(ref)
	return s, ok, nil
}

// List is Memory.List; it never fails.
func (r MemoryReader) List(_ context.Context, f Filter, p Page) ([]fluxora.Stream, bool, error) {
	out, more := r.m.List(f, p)
	return out, more, nil
}
