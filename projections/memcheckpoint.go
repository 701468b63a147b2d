package projections

import (
	"context"
	"sync/atomic"

	"github.com/streamledger/streamledger/eventstore"
)

// MemoryCheckpoint is what every in-memory projection shares: the position of its last applied event. Projections
// embed it for Checkpoint and call Advance at the end of Apply, under the lock that makes the batch visible.
type MemoryCheckpoint struct {
	position atomic.Uint64
}

// Checkpoint is the position of the last applied event.
func (c *MemoryCheckpoint) Checkpoint(context.Context) (eventstore.Position, error) {
	return eventstore.Position(c.position.Load()), nil
}

// Advance records that batch, which is not empty, has been applied.
func (c *MemoryCheckpoint) Advance(batch []Event) {
	c.position.Store(uint64(batch[len(batch)-1].Position))
}
