package postgres

import (
	"maps"
	"sync"

	"github.com/streamledger/streamledger/eventstore"
)

// maxHeads bounds the stream versions kept; past it they are forgotten and looked up again.
const maxHeads = 100_000

// streamHeads are the versions of the streams this process appended to, valid as long as the store's head is
// still at: an append reads the head under the append lock anyway, and when it finds it there (nobody else
// appended since) it needs to look up only the streams it does not know. The ingester appends to the same few
// hundred streams over and over, and looking them all up was an eighth of an append.
type streamHeads struct {
	mu       sync.Mutex
	at       eventstore.Position
	versions map[string]eventstore.Version // -1: the stream has no event
}

// lookup splits streams into those whose versions are known (as of the returned head) and those to look up.
func (h *streamHeads) lookup(streams []string) (eventstore.Position, map[string]eventstore.Version, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	known := make(map[string]eventstore.Version, len(streams))
	var missing []string
	for _, s := range streams {
		if v, ok := h.versions[s]; ok {
			known[s] = v
		} else {
			missing = append(missing, s)
		}
	}
	return h.at, known, missing
}

// advance records an append that was planned at head from and committed up to head to, leaving versions as
// the last versions of its streams. The others are still right if nothing else was appended in between.
func (h *streamHeads) advance(from, to eventstore.Position, versions map[string]eventstore.Version) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.versions == nil || h.at != from || len(h.versions)+len(versions) > maxHeads {
		h.versions = make(map[string]eventstore.Version, len(versions))
	}
	maps.Copy(h.versions, versions)
	h.at = to
}
