package audit

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/streams"
)

// Memory keeps the audit log in memory (the embedded default, rebuilt from the event log at start).
type Memory struct {
	projections.MemoryCheckpoint
	reader streams.StreamReader

	mu      sync.RWMutex
	entries []Entry
	hashes  []tlog.Hash // tlog's stored hashes, in their append-only order
	folds   map[domain.StreamRef]domain.Stream
}

// NewMemory returns an empty audit log; reader serves the stream replays that anomaly detection needs.
func NewMemory(reader streams.StreamReader) *Memory {
	return &Memory{reader: reader, folds: map[domain.StreamRef]domain.Stream{}}
}

// Name is "audit".
func (m *Memory) Name() string { return Name }

// Apply appends the batch's entries and their tree hashes, atomically with the checkpoint.
func (m *Memory) Apply(ctx context.Context, batch []projections.Event) error {
	raised := map[string][]domain.Anomaly{}
	changes, err := streams.Fold(ctx, m.reader, batch, func(ref domain.StreamRef) (domain.Stream, error) {
		m.mu.RLock()
		defer m.mu.RUnlock()
		return m.folds[ref], nil
	}, func(ev projections.Event, a domain.Anomaly) { raised[ev.ID] = append(raised[ev.ID], a) })
	if err != nil {
		return err
	}
	size := m.Size()
	fresh := entries(batch, raised, size)
	leaves, err := leavesOf(fresh)
	if err != nil {
		return err
	}
	pending, err := appendHashes(m.hashReader(), size, leaves)
	if err != nil {
		return err
	}
	for i := range fresh {
		fresh[i].detach()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, fresh...)
	m.hashes = append(m.hashes, pending...)
	for ref, c := range changes {
		if c.Gone {
			delete(m.folds, ref)
		} else {
			m.folds[ref] = c.State.Detached()
		}
	}
	m.Advance(batch)
	return nil
}

// appendHashes computes the stored hashes that appending leaves (numbered from size) adds to a log of size
// entries whose stored hashes stored reads.
func appendHashes(stored tlog.HashReader, size int64, leaves [][]byte) ([]tlog.Hash, error) {
	r := &pendingReader{stored: stored, base: tlog.StoredHashCount(size)}
	for i, leaf := range leaves {
		hs, err := tlog.StoredHashes(size+int64(i), leaf, r)
		if err != nil {
			return nil, fmt.Errorf("audit: hashes of entry %d: %w", size+int64(i), err)
		}
		r.pending = append(r.pending, hs...)
	}
	return r.pending, nil
}

// pendingReader reads the stored hashes from index base on from pending (computed, not stored yet) and the older
// ones from stored.
type pendingReader struct {
	stored  tlog.HashReader
	base    int64
	pending []tlog.Hash
}

func (r *pendingReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var older []int64
	for i, idx := range indexes {
		switch {
		case idx < r.base:
			older = append(older, idx)
		case idx-r.base < int64(len(r.pending)):
			out[i] = r.pending[idx-r.base]
		default:
			return nil, fmt.Errorf("audit: tree hash %d is not stored yet", idx)
		}
	}
	if len(older) == 0 {
		return out, nil
	}
	hs, err := r.stored.ReadHashes(older)
	if err != nil {
		return nil, err
	}
	k := 0
	for i, idx := range indexes {
		if idx < r.base {
			out[i] = hs[k]
			k++
		}
	}
	return out, nil
}

// Size is the number of entries.
func (m *Memory) Size() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return int64(len(m.entries))
}

// Entries returns entries [from, to).
func (m *Memory) Entries(from, to int64) []Entry {
	m.mu.RLock()
	defer m.mu.RUnlock()
	to = min(to, int64(len(m.entries)))
	if from >= to {
		return nil
	}
	return append([]Entry(nil), m.entries[from:to]...)
}

func (m *Memory) hashReader() tlog.HashReader {
	m.mu.RLock()
	stored := m.hashes
	m.mu.RUnlock()
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			if idx >= int64(len(stored)) {
				return nil, fmt.Errorf("audit: tree hash %d is not stored", idx)
			}
			out[i] = stored[idx]
		}
		return out, nil
	})
}

// Head is the current tree head.
func (m *Memory) Head() (Checkpoint, error) {
	size := m.Size()
	root, err := tlog.TreeHash(size, m.hashReader())
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: tree hash: %w", err)
	}
	return Checkpoint{Origin: Origin, Size: size, Root: root}, nil
}

// InclusionProof proves entry seq in the tree of size treeSize.
func (m *Memory) InclusionProof(_ context.Context, seq, treeSize int64) (tlog.RecordProof, error) {
	if seq < 0 || seq >= treeSize || treeSize > m.Size() {
		return nil, fmt.Errorf("%w: entry %d in a tree of size %d (log size %d)", ErrOutOfRange, seq, treeSize, m.Size())
	}
	return tlog.ProveRecord(treeSize, seq, m.hashReader())
}

// ConsistencyProof proves that the tree of size older is a prefix of the tree of size newer.
func (m *Memory) ConsistencyProof(_ context.Context, older, newer int64) (tlog.TreeProof, error) {
	if older < 1 || older > newer || newer > m.Size() {
		return nil, fmt.Errorf("%w: sizes %d and %d (log size %d)", ErrOutOfRange, older, newer, m.Size())
	}
	return tlog.ProveTree(newer, older, m.hashReader())
}

// Snapshot calls fn with the log cut at treeSize entries (0: every entry it has now).
func (m *Memory) Snapshot(_ context.Context, treeSize int64, fn func(View) error) error {
	size := m.Size()
	if treeSize < 0 || treeSize > size {
		return fmt.Errorf("%w: a tree of %d entries (the log has %d)", ErrOutOfRange, treeSize, size)
	}
	if treeSize == 0 {
		treeSize = size
	}
	return fn(memoryView{m: m, size: treeSize, hashes: m.hashReader()})
}

type memoryView struct {
	m      *Memory
	size   int64
	hashes tlog.HashReader
}

func (v memoryView) Size() int64             { return v.size }
func (v memoryView) Hashes() tlog.HashReader { return v.hashes }

// Scan copies the entries a chunk at a time, so that the log keeps growing while an export runs.
func (v memoryView) Scan(ctx context.Context, f Filter, fn func(r *Row) error) error {
	const chunk = 1024
	for from := int64(0); from < v.size; from += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, e := range v.m.Entries(from, min(from+chunk, v.size)) {
			leaf, err := e.Leaf()
			if err != nil {
				return err
			}
			r, err := RowOf(&e, leaf)
			if err != nil {
				return err
			}
			if !f.match(&r) {
				continue
			}
			if err := fn(&r); err != nil {
				return err
			}
		}
	}
	return nil
}
