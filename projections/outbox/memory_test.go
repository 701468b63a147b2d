package outbox

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/projections"
)

// A bounded outbox in memory makes its writer wait while more messages than the bound wait for the dispatcher,
// once the dispatcher reads, and lets it go on as the dispatcher forgets what it took; what is left to read is
// exactly what was not forgotten. Apply under a cancelled context is the probe: it fails only when it would wait.
func TestBoundedMemoryWaitsForTheDispatcher(t *testing.T) {
	m := NewMemory(0)
	m.Bound(3)
	for i := range 5 {
		m.messages = append(m.messages, Message{ID: fmt.Sprint(i), EndpointID: "e", EventID: fmt.Sprint("ev", i),
			EventPosition: eventstore.Position(10 + i), FinalPosition: eventstore.Position(20 + i)})
		m.keys[m.messages[i].Key()] = true
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	pos := eventstore.Position(100)
	apply := func() error {
		pos++
		return m.Apply(cancelled, []projections.Event{{Recorded: eventstore.Recorded{Position: pos}, Domain: &domain.LedgerClosed{Ledger: uint32(pos)}}})
	}
	if err := apply(); err != nil {
		t.Fatalf("before the dispatcher reads, Apply does not wait: %v", err)
	}
	first, err := m.MessagesAfter(context.Background(), Cursor{}, 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("read %v (%v)", first, err)
	}
	if err := apply(); !errors.Is(err, context.Canceled) {
		t.Fatalf("5 messages wait, the bound is 3: Apply went on (%v)", err)
	}
	m.Forget(CursorOf(first[1]))
	if err := apply(); err != nil {
		t.Fatalf("3 messages wait: Apply waits (%v)", err)
	}
	rest, _ := m.MessagesAfter(context.Background(), Cursor{}, 10)
	if len(rest) != 3 || rest[0].ID != "2" || len(m.keys) != 3 || m.keys[first[0].Key()] {
		t.Fatalf("after forgetting two: %v, keys %v", rest, m.keys)
	}
	m.Forget(CursorOf(rest[2]))
	if left, _ := m.MessagesAfter(context.Background(), Cursor{}, 10); len(left) != 0 || len(m.messages) != 0 {
		t.Fatalf("everything forgotten, and %v left (%d held)", left, len(m.messages))
	}
}

// A rebuild at start releases the history's messages again; with the dispatcher's cursor the outbox keeps only
// those after it, and they are exactly the full outbox's messages after the cursor.
func TestMemoryRebuildSkipsWhatWasDispatched(t *testing.T) {
	var l log
	l.add("ep", &domain.WebhookEndpointAdded{EndpointID: "all"})
	for i := uint32(10); i < 20; i++ {
		l.withdrawal(fmt.Sprint("w", i), i)
		l.ledger(i)
	}
	ctx := context.Background()
	full := NewMemory(1)
	if err := full.Apply(ctx, l.events); err != nil {
		t.Fatal(err)
	}
	all, _ := full.MessagesAfter(ctx, Cursor{}, 100)
	if len(all) != 9 {
		t.Fatalf("%d messages, want the 9 final withdrawals", len(all))
	}
	cursor := CursorOf(all[5])
	rebuilt := NewMemory(1)
	rebuilt.SkipThrough(cursor)
	if err := rebuilt.Apply(ctx, l.events); err != nil {
		t.Fatal(err)
	}
	kept, _ := rebuilt.MessagesAfter(ctx, Cursor{}, 100)
	if len(rebuilt.messages) != 3 || fmt.Sprint(kept) != fmt.Sprint(all[6:]) {
		t.Fatalf("kept %d: %v, want %v", len(rebuilt.messages), kept, all[6:])
	}
}
