package esdb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	client "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/esdb"
	"github.com/streamledger/streamledger/eventstore/storetest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func rawClient(t *testing.T, url string) *client.Client {
	t.Helper()
	conf, err := client.ParseConnectionString(url)
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = func(client.LogLevel, string, ...interface{}) {}
	c, err := client.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readRaw(t *testing.T, c *client.Client, stream string) []*client.RecordedEvent {
	t.Helper()
	rs, err := c.ReadStream(ctxT(t), stream, client.ReadStreamOptions{From: client.Start{}}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []*client.RecordedEvent
	for {
		ev, err := rs.Recv()
		if err != nil {
			return out
		}
		out = append(out, ev.Event)
	}
}

// TestStreamsMapOneToOne: what an EventStoreDB user sees is our streams, with our ids, types, data and metadata, at
// revisions equal to our versions.
func TestStreamsMapOneToOne(t *testing.T) {
	srv := startServer(t)
	s := open(t, srv.URL(), esdb.Config{Namespace: "prod-"})
	a, b := storetest.Event("Created", 1), storetest.Event("Withdrawn", 2)
	a.Metadata = []byte(`{"causation":"x"}`)
	if _, err := s.AppendMany(ctxT(t), []eventstore.StreamAppend{
		{Stream: "fluxora-C1-1", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{a}},
		{Stream: "ledgers-net", Expected: eventstore.Any, Events: []eventstore.NewEvent{storetest.Event("LedgerClosed", 3)}},
		{Stream: "fluxora-C1-1", Expected: eventstore.Exact(0), Events: []eventstore.NewEvent{b}},
	}); err != nil {
		t.Fatal(err)
	}
	raw := readRaw(t, rawClient(t, srv.URL()), "prod-fluxora-C1-1")
	if len(raw) != 2 {
		t.Fatalf("the EventStoreDB stream holds %d events, want 2", len(raw))
	}
	for i, want := range []eventstore.NewEvent{a, b} {
		got := raw[i]
		if got.EventID.String() != want.ID || got.EventType != want.Type || string(got.Data) != string(want.Data) ||
			string(got.UserMetadata) != string(want.Metadata) || got.EventNumber != uint64(i) || got.ContentType != "application/json" {
			t.Fatalf("event %d in EventStoreDB: %+v, want %+v at revision %d", i, got, want, i)
		}
	}
	if log := readRaw(t, rawClient(t, srv.URL()), "prod-"+esdb.DefaultLogStream); len(log) != 1 {
		t.Fatalf("the commit log holds %d entries for one batch", len(log))
	}
}

// TestTwoWriters: two processes on one server see each other's commits, keep positions dense and refuse an id
// the other one stored in another stream.
func TestTwoWriters(t *testing.T) {
	srv := startServer(t)
	one, two := open(t, srv.URL(), esdb.Config{}), open(t, srv.URL(), esdb.Config{})
	ctx := ctxT(t)
	shared := storetest.Event("T", 0)
	if _, err := one.Append(ctx, "s", eventstore.NoStream, shared, storetest.Event("T", 1)); err != nil {
		t.Fatal(err)
	}
	// two loaded an empty log: its first commit loses the race, reloads and is then refused on our terms.
	if _, err := two.Append(ctx, "s", eventstore.NoStream, storetest.Event("T", 2)); !errors.Is(err, eventstore.ErrWrongVersion) {
		t.Fatalf("append over the other writer's stream: %v, want ErrWrongVersion", err)
	}
	if _, err := two.Append(ctx, "other", eventstore.Any, shared); !errors.Is(err, eventstore.ErrIDConflict) {
		t.Fatalf("the other writer's id in another stream: %v, want ErrIDConflict", err)
	}
	res, err := two.Append(ctx, "s", eventstore.Exact(1), storetest.Event("T", 3))
	if err != nil || res.Events[0].Position != 3 || res.LastVersion != 2 {
		t.Fatalf("append after catching up: %+v, %v", res, err)
	}
	recs, err := one.ReadStream(ctx, "s", 0, 10)
	if err != nil || len(recs) != 3 || recs[2].Position != 3 || recs[2].Version != 2 {
		t.Fatalf("the first writer reads the stream the second extended: %d events, %v", len(recs), err)
	}
	if h, err := one.Head(ctx); err != nil || h != 3 {
		t.Fatalf("head seen by the first writer: %d, %v", h, err)
	}
	all, err := one.ReadAll(ctx, 2, 10)
	if err != nil || len(all) != 1 || all[0].ID != recs[2].ID || !all[0].RecordedAt.Equal(recs[2].RecordedAt) {
		t.Fatalf("read all after 2: %+v, %v", all, err)
	}
}

// TestSubscriptionResumesAfterReconnect: the server goes away and comes back; the subscription resumes from the
// last $all position it saw and delivers every event once, in order.
func TestSubscriptionResumesAfterReconnect(t *testing.T) {
	srv := startServer(t)
	s := open(t, srv.URL(), esdb.Config{Subscription: eventstore.SubscriptionConfig{Buffer: 16, MaxRetries: 50}})
	ctx := ctxT(t)
	for i := 0; i < 5; i++ {
		if _, err := s.Append(ctx, fmt.Sprintf("s%d", i%2), eventstore.Any, storetest.Event("T", i)); err != nil {
			t.Fatal(err)
		}
	}
	sub, errs := s.SubscribeAll(ctx, 2)
	next := func(want eventstore.Position) {
		t.Helper()
		select {
		case r, ok := <-sub:
			if !ok {
				t.Fatalf("subscription ended: %v", <-errs)
			}
			if r.Position != want {
				t.Fatalf("position %d, want %d", r.Position, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no event %d", want)
		}
	}
	for p := eventstore.Position(3); p <= 5; p++ {
		next(p)
	}
	// Down long enough for the client library to give up on its connection for good.
	srv.Stop()
	for i := 0; i < 2; i++ { // the first fails on the connection, the second in the library's rediscovery
		if _, err := s.Append(ctx, "after", eventstore.Any, storetest.Event("T", 5)); !esdb.Transient(err) {
			t.Fatalf("append while the server is down: %v, want a transient error", err)
		}
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 10; i++ {
		for attempt := 0; ; attempt++ {
			_, err := s.Append(ctx, "after", eventstore.Any, storetest.Event("T", i))
			if err == nil {
				break
			}
			if !esdb.Transient(err) || attempt > 50 {
				t.Fatalf("append after the restart: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for p := eventstore.Position(6); p <= 10; p++ {
		next(p)
	}
	select {
	case r := <-sub:
		t.Fatalf("extra event at %d", r.Position)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestReservedAndOversized(t *testing.T) {
	srv := startServer(t)
	s := open(t, srv.URL(), esdb.Config{MaxAppendSize: 4096})
	ctx := ctxT(t)
	for _, name := range []string{esdb.DefaultLogStream, "$system"} {
		if _, err := s.Append(ctx, name, eventstore.Any, storetest.Event("T", 0)); !errors.Is(err, eventstore.ErrInvalidStream) {
			t.Errorf("append to %q: %v, want ErrInvalidStream", name, err)
		}
	}
	big := eventstore.NewEvent{ID: uuid.NewString(), Type: "T", Data: []byte(`"` + string(make([]byte, 0)) + fmt.Sprintf("%05000d", 0) + `"`)}
	if _, err := s.Append(ctx, "s", eventstore.Any, big); !errors.Is(err, eventstore.ErrEventTooLarge) {
		t.Fatalf("a batch over the append limit: %v, want ErrEventTooLarge", err)
	}
	if h, err := s.Head(ctx); err != nil || h != 0 {
		t.Fatalf("head %d, %v after refused appends", h, err)
	}
}

// TestForeignWriteIsReported: an event written to one of our streams behind the store's back is reported, not
// served as ours.
func TestForeignWriteIsReported(t *testing.T) {
	srv := startServer(t)
	s := open(t, srv.URL(), esdb.Config{})
	ctx := ctxT(t)
	if _, err := rawClient(t, srv.URL()).AppendToStream(ctx, "s", client.AppendToStreamOptions{}, client.EventData{
		EventID: uuid.New(), EventType: "Foreign", ContentType: client.ContentTypeJson, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "s", eventstore.NoStream, storetest.Event("T", 0)); err != nil {
		t.Fatalf("the commit itself succeeds: %v", err)
	}
	if _, err := s.ReadStream(ctx, "s", 0, 10); !errors.Is(err, esdb.ErrMirror) {
		t.Fatalf("read a stream with a foreign event: %v, want ErrMirror", err)
	}
	if all, err := s.ReadAll(ctx, 0, 10); err != nil || len(all) != 1 {
		t.Fatalf("the log still serves the committed event: %d, %v", len(all), err)
	}
}

// TestTransientErrors: what the client library reports when the server is gone is retried; the rest is final.
func TestTransientErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{status.Error(codes.Unavailable, "connection refused"), true},
		{fmt.Errorf("could not send append request. Reason: %w", io.EOF), true},
		{status.Error(codes.InvalidArgument, "bad"), false},
		{errors.New("wrong expected version"), false},
		{nil, false},
	} {
		if got := esdb.Transient(tc.err); got != tc.want {
			t.Errorf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
