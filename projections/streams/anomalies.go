package streams

import (
	"context"
	"slices"
	"sync"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/projections"
)

// Anomalies is the stream contract's anomaly detection for the audit log in memory (audit.Anomalies): it folds
// the payment streams a batch touches and reports what each event raises. It keeps a cache of stream states; a
// stream not in it is replayed from the log up to the audit checkpoint, which is the state the fold would hold.
type Anomalies struct {
	reader StreamReader
	// MaxCached bounds the cached states (more than the streams a batch touches); tests lower it.
	MaxCached int

	mu      sync.RWMutex
	folds   map[fluxora.StreamRef]*cachedFold
	batches uint64
}

type cachedFold struct {
	state fluxora.Stream
	used  uint64 // the batch that last touched it
}

// anomalyCache is how many stream states Anomalies keeps by default.
const anomalyCache = 4096

// NewAnomalies detects anomalies with replays from reader.
func NewAnomalies(reader StreamReader) *Anomalies {
	return &Anomalies{reader: reader, MaxCached: anomalyCache, folds: map[fluxora.StreamRef]*cachedFold{}}
}

// Raise folds batch onto the states as of checkpoint (the audit log's, before the batch) and returns the anomalies
// each event raises, by event id. keep caches the states the batch leaves; call it once the batch is stored (a
// batch that is not stored leaves the cache as it was).
func (a *Anomalies) Raise(ctx context.Context, batch []projections.Event, checkpoint eventstore.Position) (map[string][]domain.Anomaly, func(), error) {
	raised := map[string][]domain.Anomaly{}
	changes, err := Fold(ctx, a.reader, batch, func(ref fluxora.StreamRef) (fluxora.Stream, error) {
		a.mu.RLock()
		f, ok := a.folds[ref]
		a.mu.RUnlock()
		if ok {
			return f.state, nil
		}
		if checkpoint == 0 {
			return fluxora.Stream{}, nil
		}
		return Replay(ctx, a.reader, ref, checkpoint)
	}, func(ev projections.Event, an domain.Anomaly) { raised[ev.ID] = append(raised[ev.ID], an) })
	if err != nil {
		return nil, nil, err
	}
	return raised, func() { a.keep(changes) }, nil
}

// Cached is how many stream states the cache holds.
func (a *Anomalies) Cached() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.folds)
}

// State is a cached stream state, for tests.
func (a *Anomalies) State(ref fluxora.StreamRef) (fluxora.Stream, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	f, ok := a.folds[ref]
	if !ok {
		return fluxora.Stream{}, false
	}
	return f.state, true
}

// Refs are the cached streams.
func (a *Anomalies) Refs() []fluxora.StreamRef {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]fluxora.StreamRef, 0, len(a.folds))
	for ref := range a.folds {
		out = append(out, ref)
	}
	return out
}

func (a *Anomalies) keep(changes map[fluxora.StreamRef]*Change) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.batches++
	for ref, c := range changes {
		if c.Gone {
			delete(a.folds, ref)
		} else {
			a.folds[ref] = &cachedFold{state: c.State.Detached(), used: a.batches}
		}
	}
	a.evict()
}

// evict drops the least recently used half of the cached folds once there are more than MaxCached.
func (a *Anomalies) evict() {
	if len(a.folds) <= a.MaxCached {
		return
	}
	used := make([]uint64, 0, len(a.folds))
	for _, f := range a.folds {
		used = append(used, f.used)
	}
	slices.Sort(used)
	cut := used[len(used)/2]
	for ref, f := range a.folds {
		if f.used < cut {
			delete(a.folds, ref)
		}
	}
}
