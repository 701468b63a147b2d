package streams

import (
	"context"
	"testing"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/projections"
)

// decodeAll hides Memory's Wants, so that the runner decodes every event for it.
type decodeAll struct{ m *Memory }

func (d decodeAll) Name() string { return d.m.Name() }
func (d decodeAll) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	return d.m.Checkpoint(ctx)
}
func (d decodeAll) Apply(ctx context.Context, batch []projections.Event) error {
	return d.m.Apply(ctx, batch)
}

func TestFoldingOnlyPaymentStreamsChangesNothing(t *testing.T) {
	store := filledStore(t)
	selective, all := NewMemory(store), NewMemory(store)
	catchUp(t, store, selective, 50)
	catchUp(t, store, decodeAll{all}, 50)
	got, _ := selective.StateHash()
	want, _ := all.StateHash()
	if got != want || len(all.All()) == 0 {
		t.Fatalf("%d streams decoding only theirs, %d decoding all; hashes %s, %s", len(selective.All()), len(all.All()), got, want)
	}
}
