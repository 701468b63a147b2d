package esdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/esdb/esdbtest"
)

// TestOpenCompletesUnmirroredCommits: a writer that stopped between its commit and its 1:1 stream writes leaves
// the log ahead of the streams; the next Open completes them, and reads agree with the log.
func TestOpenCompletesUnmirroredCommits(t *testing.T) {
	srv, err := esdbtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, srv.URL(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "a", eventstore.NoStream, event(0), event(1)); err != nil {
		t.Fatal(err)
	}
	// Commit two batches the way AppendMany does, and stop before mirroring them.
	for i := 0; i < 2; i++ {
		plan, rev, err := s.plan([]eventstore.StreamAppend{
			{Stream: "a", Expected: eventstore.Any, Events: []eventstore.NewEvent{event(2 + i)}},
			{Stream: "b", Expected: eventstore.Any, Events: []eventstore.NewEvent{event(10 + i)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.commit(ctx, rev, plan.Writes[0].ID, encodeBatch(plan.Writes))
		if err != nil {
			t.Fatal(err)
		}
		s.record(rev, plan.Writes, all)
	}
	s.Close()

	again, err := Open(ctx, srv.URL(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.mirrored != 3 {
		t.Fatalf("%d log entries mirrored after Open, want 3", again.mirrored)
	}
	for stream, n := range map[string]int{"a": 4, "b": 2} {
		recs, err := again.ReadStream(ctx, stream, 0, 10)
		if err != nil || len(recs) != n {
			t.Fatalf("%s: %d events, %v; want %d", stream, len(recs), err, n)
		}
		for i, r := range recs {
			if r.Version != eventstore.Version(i) {
				t.Fatalf("%s: version %d at %d", stream, r.Version, i)
			}
		}
	}
}

func event(n int) eventstore.NewEvent {
	return eventstore.NewEvent{ID: uuid.NewString(), Type: "T", Data: []byte{'0' + byte(n%10)}}
}

func TestBatchCodec(t *testing.T) {
	at := time.Unix(1_700_000_000, 5000).UTC()
	recs := []eventstore.Recorded{
		{ID: uuid.NewString(), Stream: "a", Version: 0, Position: 41, Type: "T", Data: []byte(`{ "x" : 1 }`), RecordedAt: at},
		{ID: uuid.NewString(), Stream: "b", Version: 7, Position: 42, Type: "U", Data: []byte(`2`), Metadata: []byte(`{}`), RecordedAt: at},
	}
	got, err := decodeBatch(encodeBatch(recs))
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if got[i].ID != recs[i].ID || got[i].Position != recs[i].Position || got[i].Version != recs[i].Version ||
			!bytes.Equal(got[i].Data, recs[i].Data) || !bytes.Equal(got[i].Metadata, recs[i].Metadata) ||
			(got[i].Metadata == nil) != (recs[i].Metadata == nil) || !got[i].RecordedAt.Equal(at) {
			t.Fatalf("record %d: %+v, want %+v", i, got[i], recs[i])
		}
	}
	good := encodeBatch(recs)
	for name, b := range map[string][]byte{
		"empty": nil, "unknown format": append([]byte{9}, good[1:]...), "truncated": good[:len(good)-1],
		"trailing byte": append(append([]byte{}, good...), 0), "zero count": {batchFormat, 1, 0},
		"zero first position": {batchFormat, 0, 1}, "count beyond the payload": {batchFormat, 1, 200, 1},
	} {
		if _, err := decodeBatch(b); !errors.Is(err, ErrLog) {
			t.Errorf("%s: %v, want ErrLog", name, err)
		}
	}
}

// FuzzDecodeBatch: log entries come from the server; no input may panic, and what decodes re-encodes the same.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(encodeBatch([]eventstore.Recorded{{ID: "6f1c0a52-3b9e-5d0e-9a57-5e2f0c1d7a10", Stream: "s", Position: 1, Type: "T", Data: []byte(`{}`)}}))
	f.Add([]byte{batchFormat, 1, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := decodeBatch(b)
		if err != nil {
			return
		}
		again, err := decodeBatch(encodeBatch(recs))
		if err != nil || len(again) != len(recs) {
			t.Fatalf("re-encode: %d records, %v", len(again), err)
		}
	})
}

// A call cancelled while it sends fails in gRPC with io.EOF; the caller must see that its context ended it.
func TestCallCancelledWhileSendingReportsTheCancellation(t *testing.T) {
	srv, err := esdbtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s, err := Open(context.Background(), srv.URL(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	sendFailed := fmt.Errorf("could not send append request header: %w", io.EOF)
	err = s.use(ctx, func(*esdb.Client) error {
		cancel()
		return sendFailed
	})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, io.EOF) {
		t.Fatalf("got %v; want the cancellation, wrapping the call's own error", err)
	}
	if err := s.use(context.Background(), func(*esdb.Client) error { return sendFailed }); errors.Is(err, context.Canceled) {
		t.Fatalf("a call whose context is alive reported a cancellation: %v", err)
	}
}
