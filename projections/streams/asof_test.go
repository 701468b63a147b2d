package streams

import (
	"context"
	"testing"
	"time"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

func TestPointInTime(t *testing.T) {
	store := filledStore(t)
	live := NewMemory(store)
	catchUp(t, store, live, 100)
	ctx := context.Background()
	checked := 0
	for _, s := range live.All() {
		if s.Version < 3 {
			continue
		}
		checked++
		if _, ok, err := AsOfLedger(ctx, store, s.Ref(), s.CreatedLedger-1); ok || err != nil {
			t.Fatalf("%s existed before its creation ledger: %v", s.Ref(), err)
		}
		now, ok, err := AsOfLedger(ctx, store, s.Ref(), s.UpdatedLedger)
		if !ok || err != nil || now.LastEventID != s.LastEventID || now.Version != s.Version {
			t.Fatalf("%s as of its last ledger: %+v %v", s.Ref(), now, err)
		}
		before, ok, err := AsOfLedger(ctx, store, s.Ref(), s.UpdatedLedger-1)
		if !ok || err != nil || before.Version >= s.Version {
			t.Fatalf("%s as of the ledger before its last update: version %d of %d (%v)", s.Ref(), before.Version, s.Version, err)
		}
		created, _, _ := AsOfLedger(ctx, store, s.Ref(), s.CreatedLedger)
		byTime, ok, err := AsOfTime(ctx, store, s.Ref(), closedAt(t, ctx, store, s.Ref(), s.CreatedLedger))
		if !ok || err != nil || byTime.LastEventID != created.LastEventID {
			t.Fatalf("%s by time: %+v %v", s.Ref(), byTime, err)
		}
	}
	if checked == 0 {
		t.Fatal("no stream with history")
	}
}

// closedAt is the close time of a ledger of the stream, from its stored events.
func closedAt(t *testing.T, ctx context.Context, store StreamReader, ref fluxora.StreamRef, ledger uint32) time.Time {
	t.Helper()
	es, err := entries(ctx, store, ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range es {
		if ce, ok := en.Event.(domain.ChainEvent); ok && ce.ChainMetadata().Ledger == ledger {
			return ce.ChainMetadata().LedgerClosedAt
		}
	}
	t.Fatalf("no event of %s in ledger %d", ref, ledger)
	return time.Time{}
}
