package audit

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/spill"
	"github.com/streamledger/streamledger/projections"
)

// Memory keeps the audit log in this process, rebuilt from the event log at every start (the embedded default):
// the entries' leaves and the tree hashes in scratch files (NewScratch), so that memory does not grow with the log,
// or in memory (NewMemory). Anomaly detection is the modules' (Anomalies), with whatever it caches.
type Memory struct {
	projections.MemoryCheckpoint
	anomalies Anomalies

	mu      sync.RWMutex
	size    int64       // entries
	leafEnd int64       // the bytes of leaves
	nhashes int64       // tlog's stored hashes, in their append-only order
	leaves  *spill.File // the entries' leaf bytes, one after the other
	ends    *spill.File // where each entry's leaf ends in leaves: 8 bytes, big-endian, an entry
	hashes  *spill.File // the stored hashes, 32 bytes each
}

// Anomalies is a module's anomaly detection (DESIGN §12): Raise folds a batch onto the module's states as of
// checkpoint (the log's, before the batch) and returns the anomalies each event raises, by event id; keep, called
// once the batch is stored, lets it cache the states the batch left. The audit log names no module.
type Anomalies interface {
	Raise(ctx context.Context, batch []projections.Event, checkpoint eventstore.Position) (raised map[string][]domain.Anomaly, keep func(), err error)
}

// NewMemory returns an empty audit log in memory; anomalies (nil: none) raises the anomaly entries.
func NewMemory(anomalies Anomalies) *Memory {
	m, err := NewScratch(anomalies, "")
	if err != nil {
		panic(err) // creating buffers in memory does not fail
	}
	return m
}

// NewScratch returns an empty audit log whose entries and hashes are kept in scratch files in dir (created, and
// truncated: the log is rebuilt from the events). Close removes them.
func NewScratch(anomalies Anomalies, dir string) (*Memory, error) {
	m := &Memory{anomalies: anomalies}
	var err error
	for name, f := range map[string]**spill.File{"audit-leaves": &m.leaves, "audit-ends": &m.ends, "audit-hashes": &m.hashes} {
		if *f, err = spill.Create(dir, name); err != nil {
			m.Close()
			return nil, fmt.Errorf("audit: %w", err)
		}
	}
	return m, nil
}

// Close removes the scratch files.
func (m *Memory) Close() error {
	var errs []error
	for _, f := range []*spill.File{m.leaves, m.ends, m.hashes} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

// Name is "audit".
func (m *Memory) Name() string { return Name }

// Apply appends the batch's entries and their tree hashes, atomically with the checkpoint.
func (m *Memory) Apply(ctx context.Context, batch []projections.Event) error {
	before, _ := m.Checkpoint(ctx)
	raised, keep, err := raise(ctx, m.anomalies, batch, before)
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
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.store(leaves, pending); err != nil {
		return err
	}
	keep()
	m.Advance(batch)
	return nil
}

// raise asks a (nil: no detection) for a batch's anomalies.
func raise(ctx context.Context, a Anomalies, batch []projections.Event, checkpoint eventstore.Position) (map[string][]domain.Anomaly, func(), error) {
	if a == nil {
		return nil, func() {}, nil
	}
	return a.Raise(ctx, batch, checkpoint)
}

// store appends leaves and their stored hashes. A failed write leaves the counts as they were: what was written past
// them is overwritten by the next batch.
func (m *Memory) store(leaves [][]byte, hashes []tlog.Hash) error {
	end := m.leafEnd
	data := make([]byte, 0, 512*len(leaves))
	ends := make([]byte, 0, 8*len(leaves))
	for _, leaf := range leaves {
		data = append(data, leaf...)
		ends = binary.BigEndian.AppendUint64(ends, uint64(end+int64(len(data))))
	}
	hs := make([]byte, 0, tlog.HashSize*len(hashes))
	for _, h := range hashes {
		hs = append(hs, h[:]...)
	}
	if err := m.leaves.WriteAt(data, end); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := m.ends.WriteAt(ends, 8*m.size); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := m.hashes.WriteAt(hs, tlog.HashSize*m.nhashes); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	m.size += int64(len(leaves))
	m.leafEnd += int64(len(data))
	m.nhashes += int64(len(hashes))
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
	return m.size
}

// Leaves returns the leaves of entries [from, to).
func (m *Memory) Leaves(from, to int64) ([][]byte, error) {
	to = min(to, m.Size())
	if from < 0 || from >= to {
		return nil, nil
	}
	// ends holds where entries from-1 … to-1 end; the entry before the first ends at 0.
	n := to - from
	ends := make([]byte, 8*(n+1))
	var err error
	if from == 0 {
		err = m.ends.ReadAt(ends[8:], 0)
	} else {
		err = m.ends.ReadAt(ends, 8*(from-1))
	}
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	at := func(i int64) int64 { return int64(binary.BigEndian.Uint64(ends[8*i:])) }
	start := at(0)
	data := make([]byte, at(n)-start)
	if err := m.leaves.ReadAt(data, start); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	out := make([][]byte, n)
	for i := range n {
		out[i] = data[at(i)-start : at(i+1)-start : at(i+1)-start]
	}
	return out, nil
}

// Entries returns entries [from, to).
func (m *Memory) Entries(from, to int64) ([]Entry, error) {
	leaves, err := m.Leaves(from, to)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(leaves))
	for i, leaf := range leaves {
		if err := json.Unmarshal(leaf, &out[i]); err != nil {
			return nil, fmt.Errorf("audit: entry %d: %w", from+int64(i), err)
		}
	}
	return out, nil
}

func (m *Memory) hashReader() tlog.HashReader {
	m.mu.RLock()
	stored := m.nhashes
	m.mu.RUnlock()
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		lo, hi := int64(math.MaxInt64), int64(-1)
		for _, idx := range indexes {
			if idx < 0 || idx >= stored {
				return nil, fmt.Errorf("audit: tree hash %d is not stored", idx)
			}
			lo, hi = min(lo, idx), max(hi, idx)
		}
		// A tile's hashes are close together in the stored order (a level-0 tile's 256 leaf hashes lie among 511
		// stored hashes): one read of their span costs less than a read each, which made tile requests a system
		// call per hash.
		if n := len(indexes); n > 1 && hi-lo < int64(4*n) {
			span := make([]byte, tlog.HashSize*(hi-lo+1))
			if err := m.hashes.ReadAt(span, tlog.HashSize*lo); err != nil {
				return nil, fmt.Errorf("audit: tree hashes %d-%d: %w", lo, hi, err)
			}
			for i, idx := range indexes {
				copy(out[i][:], span[tlog.HashSize*(idx-lo):])
			}
			return out, nil
		}
		for i, idx := range indexes {
			if err := m.hashes.ReadAt(out[i][:], tlog.HashSize*idx); err != nil {
				return nil, fmt.Errorf("audit: tree hash %d: %w", idx, err)
			}
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

// Leaves returns the leaves of entries [from, to) of the cut.
func (v memoryView) Leaves(_ context.Context, from, to int64) ([][]byte, error) {
	if from < 0 || to > v.size || from > to {
		return nil, fmt.Errorf("%w: entries [%d, %d) of a tree of %d", ErrOutOfRange, from, to, v.size)
	}
	return v.m.Leaves(from, to)
}

// Scan copies the entries a chunk at a time, so that the log keeps growing while an export runs.
func (v memoryView) Scan(ctx context.Context, f Filter, fn func(r *Row) error) error {
	const chunk = 1024
	for from := int64(0); from < v.size; from += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		leaves, err := v.m.Leaves(from, min(from+chunk, v.size))
		if err != nil {
			return err
		}
		for _, leaf := range leaves {
			var r Row
			if err := rowFromLeaf(leaf, &r); err != nil {
				return fmt.Errorf("audit: stored entry: %w", err)
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
