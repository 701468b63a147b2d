package outbox

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/projections"
)

// log builds a sequence of projection events with consecutive positions.
type log struct {
	events []projections.Event
}

// names maps the tests' readable event names to the UUIDs the stores require, and back.
var names = map[string]string{}

func uuidOf(name string) string {
	id := domain.DerivedEventUUID("outbox-test", name)
	names[id] = name
	return id
}

func (l *log) add(name string, e domain.Event) {
	id := uuidOf(name)
	pos := eventstore.Position(len(l.events) + 1)
	l.events = append(l.events, projections.Event{Recorded: eventstore.Recorded{ID: id, Position: pos, Type: string(e.Type()),
		Stream: "s", RecordedAt: time.Unix(int64(pos), 0).UTC()}, Domain: e})
}

func (l *log) withdrawal(id string, ledger uint32) {
	l.add(id, &fluxora.StreamWithdrawn{ChainMeta: domain.ChainMeta{Ledger: ledger, ContractID: "C"}, StreamID: 1})
}

func (l *log) created(id string, ledger uint32) {
	l.add(id, &fluxora.StreamCreated{ChainMeta: domain.ChainMeta{Ledger: ledger, ContractID: "C"}, StreamID: 1})
}

func (l *log) ledger(n uint32) {
	l.add(fmt.Sprintf("ledger-%d", n), &domain.LedgerClosed{Ledger: n})
}

// outboxes runs the scenario through the memory outbox, and through PostgreSQL when it is there.
func outboxes(t *testing.T, margin uint32, events []projections.Event) map[string][]Message {
	t.Helper()
	ctx := context.Background()
	mem := NewMemory(margin)
	// One event per batch and all in one batch must agree.
	for _, ev := range events {
		if err := mem.Apply(ctx, []projections.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	all := NewMemory(margin)
	if err := all.Apply(ctx, events); err != nil {
		t.Fatal(err)
	}
	out := map[string][]Message{"memory": paged(t, mem), "memory-one-batch": paged(t, all)}
	if testing.Short() {
		return out
	}
	url := pgtest.URL(t)
	pg, err := OpenPostgres(ctx, pgtest.Pool(t, url), pgtest.Schema(t, url), 1, margin)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(events); i += 3 {
		if err := pg.Apply(ctx, events[i:min(i+3, len(events))]); err != nil {
			t.Fatal(err)
		}
	}
	out["postgres"] = paged(t, pg)
	return out
}

func keys(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.EndpointID+":"+names[m.EventID]+":"+m.Type)
	}
	return out
}

func TestOutbox(t *testing.T) {
	var l log
	l.add("ep-all", &domain.WebhookEndpointAdded{EndpointID: "all"})
	l.add("ep-w", &domain.WebhookEndpointAdded{EndpointID: "w", EventTypes: []string{fluxora.WebhookStreamWithdrawn}})
	l.created("c1", 10)
	l.ledger(10)
	l.withdrawal("w1", 11)
	l.ledger(11) // margin 1: ledger 10 is final now
	l.withdrawal("w2", 12)
	l.ledger(12) // 11 final
	l.add("rev-w2", &domain.EventReverted{RevertedEventID: uuidOf("w2"), Fork: 11})
	l.add("late", &domain.WebhookEndpointAdded{EndpointID: "late"})
	l.withdrawal("w2b", 12)
	l.ledger(12) // the new branch's 12 (no tip change)
	l.ledger(13) // 12 final: w2b, never the reverted w2
	l.add("gone", &domain.WebhookEndpointRemoved{EndpointID: "w"})
	l.withdrawal("w3", 14)
	l.ledger(14)
	l.ledger(15) // 14 final: w3 for "all" and "late", not for the removed "w"
	l.withdrawal("w4", 16)
	l.ledger(16) // 16 not final yet: nothing for w4

	want := fmt.Sprint([]string{"all:c1:stream.created", "all:w1:stream.withdrawn", "w:w1:stream.withdrawn",
		"all:w2b:stream.withdrawn", "late:w2b:stream.withdrawn", "w:w2b:stream.withdrawn",
		"all:w3:stream.withdrawn", "late:w3:stream.withdrawn"})
	for name, msgs := range outboxes(t, 1, l.events) {
		if got := fmt.Sprint(keys(msgs)); got != want {
			t.Fatalf("%s:\n got %s\nwant %s", name, got, want)
		}
		for _, m := range msgs {
			if m.ID != DeliveryID(m.EndpointID, m.EventID) {
				t.Fatalf("%s: delivery id %s is not stable", name, m.ID)
			}
		}
	}
}

// rewinds are the two ways the tip comes down: an operator's rewind and a reorg onto a shorter branch, both from
// tip 20 to ledger 12, with c20 pending (not final at tip 20) and reverted.
var rewinds = []struct {
	name   string
	rewind func(l *log)
}{
	{"operator rewind", func(l *log) {
		l.add("rev-c20", &domain.EventReverted{RevertedEventID: uuidOf("c20"), Fork: 12})
		l.add("reorg", &domain.ChainReorganized{Fork: 12, OldTip: 20, NewTip: 12})
		l.add("rewind", &domain.OperatorRewound{From: 20, To: 12})
	}},
	{"reorg to a shorter branch", func(l *log) {
		l.add("reorg", &domain.ChainReorganized{Fork: 12, OldTip: 20, NewTip: 12})
		l.add("rev-c20", &domain.EventReverted{RevertedEventID: uuidOf("c20"), Fork: 12})
	}},
}

// rewound is a log of ledgers 11 to 20 brought down to 12 by rewind, then ledger 13 again with event c13.
func rewound(rewind func(l *log)) *log {
	var l log
	l.add("ep-all", &domain.WebhookEndpointAdded{EndpointID: "all"})
	l.created("c11", 11)
	for n := uint32(11); n <= 20; n++ {
		if n == 20 {
			l.created("c20", 20) // not final at tip 20, reverted before it was
		}
		l.ledger(n)
	}
	rewind(&l)
	l.created("c13", 13)
	l.ledger(13)
	return &l
}

// TestFinalityFollowsTheChainDownAfterARewind: after an operator rewinds ingestion (or a reorg leaves a shorter
// branch) the tip is lower than the highest ledger ever closed, and a ledger is final only once the tip is the
// margin beyond it again: the re-ingested ledger 13 is not final while the tip is 13, though ledgers up to 20 had
// closed before. Finality measured against the old tip would send a webhook for an event a reorg at the new tip
// could still take back.
func TestFinalityFollowsTheChainDownAfterARewind(t *testing.T) {
	for _, tc := range rewinds {
		t.Run(tc.name, func(t *testing.T) {
			l := rewound(tc.rewind) // the tip is 13: nothing above 12 is final
			for name, msgs := range outboxes(t, 1, l.events) {
				if got := fmt.Sprint(keys(msgs)); got != "[all:c11:stream.created]" {
					t.Fatalf("%s: at tip 13 after the rewind: %s, want only c11", name, got)
				}
			}
			l.ledger(14) // 13 is final now
			for name, msgs := range outboxes(t, 1, l.events) {
				if got := fmt.Sprint(keys(msgs)); got != "[all:c11:stream.created all:c13:stream.created]" {
					t.Fatalf("%s: at tip 14: %s, want c11 and c13", name, got)
				}
			}
		})
	}
}

// TestMatchingFromAnyPosition: a replay started after any position releases, for the events after it, the
// messages a replay from the start releases (webhook recovery starts where its range begins), through rewinds and
// reorgs onto shorter and longer branches.
func TestMatchingFromAnyPosition(t *testing.T) {
	logs := map[string]*log{}
	for _, tc := range rewinds {
		l := rewound(tc.rewind)
		l.created("c14", 14)
		l.ledger(14)
		l.ledger(15)
		logs[tc.name] = l
	}
	var longer log // ledgers 11–14, then a reorg at 12 onto a branch up to 16, in one batch as the ingester writes it
	l := &longer
	l.created("c11", 11)
	l.ledger(11)
	l.withdrawal("w12", 12)
	l.ledger(12)
	l.ledger(13)
	l.withdrawal("w14", 14)
	l.ledger(14)
	l.add("reorg", &domain.ChainReorganized{Fork: 12, OldTip: 14, NewTip: 16})
	l.add("rev-w14", &domain.EventReverted{RevertedEventID: uuidOf("w14"), Fork: 12})
	l.withdrawal("w13b", 13)
	l.ledger(13)
	l.ledger(14)
	l.withdrawal("w15b", 15)
	l.ledger(15)
	l.ledger(16)
	l.ledger(17)
	logs["reorg to a longer branch"] = l

	for name, l := range logs {
		reader := newLogReader(t, l.events)
		released := func(after eventstore.Position) []string {
			var out []string
			if err := Matching(context.Background(), reader, fluxora.NewCodec(), 1, Endpoint{ID: "x"}, after, func(m Message) error {
				out = append(out, names[m.EventID])
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			slices.Sort(out)
			return out
		}
		all := released(0)
		if len(all) < 2 {
			t.Fatalf("%s: only %v released", name, all)
		}
		for _, ev := range l.events {
			var want []string
			for _, later := range l.events[ev.Position:] {
				if slices.Contains(all, names[later.ID]) {
					want = append(want, names[later.ID])
				}
			}
			slices.Sort(want)
			if got := released(ev.Position); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: after position %d (%s): %v, want %v", name, ev.Position, names[ev.ID], got, want)
			}
		}
	}
}

// paged reads every message two at a time, following the cursor, so that the keyset order is what is compared.
func paged(t *testing.T, o interface {
	MessagesAfter(context.Context, Cursor, int) ([]Message, error)
}) []Message {
	t.Helper()
	var out []Message
	var after Cursor
	for {
		page, err := o.MessagesAfter(context.Background(), after, 2)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if len(page) < 2 {
			return out
		}
		after = CursorOf(page[len(page)-1])
	}
}

// logReader serves a test log as the stored event log.
type logReader struct{ recs []eventstore.Recorded }

func newLogReader(t *testing.T, events []projections.Event) logReader {
	var r logReader
	for _, ev := range events {
		data, err := domain.Marshal(ev.Domain)
		if err != nil {
			t.Fatal(err)
		}
		rec := ev.Recorded
		rec.Data = data
		r.recs = append(r.recs, rec)
	}
	return r
}

func (r logReader) ReadAll(_ context.Context, after eventstore.Position, limit int) ([]eventstore.Recorded, error) {
	start := min(int(after), len(r.recs))
	return r.recs[start:min(start+limit, len(r.recs))], nil
}

func TestMatchingIsWhatAnEndpointRegisteredFromTheStartWouldGet(t *testing.T) {
	var l log
	l.created("c1", 10)
	l.ledger(10)
	l.withdrawal("w1", 11)
	l.ledger(11)
	l.withdrawal("w2", 12)
	l.ledger(12)
	l.add("rev-w2", &domain.EventReverted{RevertedEventID: uuidOf("w2"), Fork: 11})
	l.add("other", &domain.WebhookEndpointRemoved{EndpointID: "x"}) // registry changes do not touch the replay
	l.withdrawal("w2b", 12)
	l.ledger(12)
	l.ledger(13)
	l.withdrawal("w4", 16)
	l.ledger(16)

	var got []string
	err := Matching(context.Background(), newLogReader(t, l.events), fluxora.NewCodec(), 1, Endpoint{ID: "x", EventTypes: []string{fluxora.WebhookStreamWithdrawn}}, 0,
		func(m Message) error {
			got = append(got, names[m.EventID])
			if m.ID != DeliveryID("x", m.EventID) {
				t.Errorf("delivery id of %s is not the outbox's", names[m.EventID])
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[w1 w2b]" {
		t.Fatalf("matching final events: %v, want [w1 w2b] (w2 reverted, w4 not final, c1 filtered out)", got)
	}
}

// TestMemoryForgetsWhatIsDispatched: messages up to a cursor leave memory, the later ones stay readable after it.
func TestMemoryForgetsWhatIsDispatched(t *testing.T) {
	m := NewMemory(1)
	m.messages = []Message{
		{EndpointID: "a", EventID: "1", FinalPosition: 10, EventPosition: 5},
		{EndpointID: "b", EventID: "1", FinalPosition: 10, EventPosition: 5},
		{EndpointID: "a", EventID: "2", FinalPosition: 12, EventPosition: 11},
	}
	for _, msg := range m.messages {
		m.keys[msg.Key()] = true
	}
	m.Forget(CursorOf(m.messages[1]))
	if len(m.messages) != 1 || m.messages[0].EventID != "2" || len(m.keys) != 1 {
		t.Fatalf("after forgetting: %+v %v", m.messages, m.keys)
	}
	got, err := m.MessagesAfter(context.Background(), Cursor{FinalPosition: 10, EventPosition: 5, EndpointID: "b"}, 10)
	if err != nil || len(got) != 1 || got[0].EventID != "2" {
		t.Fatalf("after the cursor: %+v %v", got, err)
	}
	m.Forget(Cursor{})
	if len(m.messages) != 1 {
		t.Fatal("forgetting up to the start dropped messages")
	}
}
