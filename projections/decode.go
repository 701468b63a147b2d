package projections

import (
	"runtime"
	"sync"

	"github.com/streamledger/streamledger/eventstore"
)

// DecodeCache keeps recently decoded events so that the projections of one process, which read the same events
// at about the same time, decode each once. Decoded events are shared: projections must not modify them (the
// domain fold never does). A nil *DecodeCache decodes without caching.
type DecodeCache struct {
	mu    sync.Mutex
	byPos map[eventstore.Position]Event
	order []eventstore.Position // ring of cached positions, oldest at next
	next  int
}

// NewDecodeCache keeps up to size events.
func NewDecodeCache(size int) *DecodeCache {
	return &DecodeCache{byPos: make(map[eventstore.Position]Event, size), order: make([]eventstore.Position, 0, size)}
}

// parallelDecode is the batch size from which decoding is spread over the cores.
const parallelDecode = 256

// decode decodes a batch with in (see Decode), from the cache where it can and on every core for the rest. An event
// that wants (when not nil) declines is left undecoded: nil Domain. The runners sharing a cache share in too.
func (c *DecodeCache) decode(recs []eventstore.Recorded, wants func(*eventstore.Recorded) bool, in Codec) ([]Event, error) {
	out := make([]Event, len(recs))
	var missing []int // indexes to decode; nil: all of them
	if c != nil || wants != nil {
		missing = make([]int, 0, len(recs))
		if c != nil {
			c.mu.Lock()
		}
		for i := range recs {
			rec := &recs[i]
			if wants != nil && !wants(rec) {
				out[i].Recorded = *rec
				continue
			}
			if c != nil {
				if e, ok := c.byPos[rec.Position]; ok && e.ID == rec.ID {
					out[i] = e
					continue
				}
			}
			missing = append(missing, i)
		}
		if c != nil {
			c.mu.Unlock()
		}
	}
	n := len(recs)
	if missing != nil {
		n = len(missing)
	}
	index := func(k int) int {
		if missing != nil {
			return missing[k]
		}
		return k
	}
	workers := 1
	if n >= parallelDecode {
		workers = runtime.GOMAXPROCS(0)
	}
	// Each worker keeps its first failure at the lowest index it saw, so the error reported is the first one.
	failed := make([]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := w; k < n; k += workers {
				i := index(k)
				var err error
				if out[i], err = Decode(recs[i], in); err != nil {
					failed[w], errs[w] = i, err
					return
				}
			}
		})
	}
	wg.Wait()
	first := -1
	for w, err := range errs {
		if err != nil && (first < 0 || failed[w] < failed[first]) {
			first = w
		}
	}
	if first >= 0 {
		return nil, errs[first]
	}
	if c != nil && n > 0 {
		c.mu.Lock()
		for k := range n {
			c.put(out[index(k)])
		}
		c.mu.Unlock()
	}
	return out, nil
}

func (c *DecodeCache) put(e Event) {
	if _, ok := c.byPos[e.Position]; ok || cap(c.order) == 0 {
		return
	}
	if len(c.order) < cap(c.order) {
		c.order = append(c.order, e.Position)
	} else {
		delete(c.byPos, c.order[c.next])
		c.order[c.next] = e.Position
		c.next = (c.next + 1) % len(c.order)
	}
	c.byPos[e.Position] = e
}
