package postgres

import (
	"bytes"
	"sync"

	"github.com/streamledger/streamledger/eventstore"
)

// recent keeps the last committed events this process appended or read, by position, so that the projections
// of one process, which read the same events at about the same time (and usually just after the ingester
// appended them), do not each fetch them from the server again. A position's event never changes once
// committed, so an entry cannot go stale; only committed events go in, and a read is served from memory only
// for the positions it holds without a gap, the rest coming from the server.
type recent struct {
	mu   sync.RWMutex
	ring []eventstore.Recorded // slot position % len; a slot holds the last event put there
}

func newRecent(size int) *recent {
	if size <= 0 {
		return nil
	}
	return &recent{ring: make([]eventstore.Recorded, size)}
}

// run returns the held events after position after, in order, up to max and up to the first one it lacks.
func (c *recent) run(after eventstore.Position, max int) []eventstore.Recorded {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []eventstore.Recorded
	for p := after + 1; len(out) < max; p++ {
		r := c.ring[uint64(p)%uint64(len(c.ring))]
		if r.Position != p {
			break
		}
		if out == nil {
			out = make([]eventstore.Recorded, 0, max)
		}
		out = append(out, r)
	}
	return out
}

// put keeps committed events. appended says they come from the writer, whose Data and Metadata are the
// caller's to reuse: those are copied.
func (c *recent) put(recs []eventstore.Recorded, appended bool) {
	if c == nil || len(recs) == 0 {
		return
	}
	if len(recs) > len(c.ring) {
		recs = recs[len(recs)-len(c.ring):]
	}
	if appended {
		owned := make([]eventstore.Recorded, len(recs))
		for i, r := range recs {
			r.Data = bytes.Clone(r.Data)
			if r.Metadata != nil {
				r.Metadata = bytes.Clone(r.Metadata)
			}
			owned[i] = r
		}
		recs = owned
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range recs {
		c.ring[uint64(r.Position)%uint64(len(c.ring))] = r
	}
}
