package storetest

// The live half of the conformance suite: subscriptions (catch-up then live, cancellation), concurrent writers
// without skips, and what a store does across its lifetime (reopen, long streams, close, reading backward).

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamledger/streamledger/eventstore"
)

// collect reads n events from a subscription or fails.
func collect(t *testing.T, ch <-chan eventstore.Recorded, errs <-chan error, n int) []eventstore.Recorded {
	t.Helper()
	var out []eventstore.Recorded
	deadline := time.After(30 * time.Second)
	for len(out) < n {
		select {
		case r, ok := <-ch:
			if !ok {
				t.Fatalf("subscription closed after %d of %d events: %v", len(out), n, <-errs)
			}
			out = append(out, r)
		case <-deadline:
			t.Fatalf("timed out after %d of %d events", len(out), n)
		}
	}
	return out
}

func samePositions(t *testing.T, got, want []eventstore.Recorded) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Position != want[i].Position || got[i].ID != want[i].ID {
			t.Fatalf("event %d: position %d id %s, want %d %s", i, got[i].Position, got[i].ID, want[i].Position, want[i].ID)
		}
	}
}

func testSubscribe(t *testing.T, h Harness) {
	s := h.Open(t)
	for i := 0; i < 10; i++ {
		mustAppend(t, s, fmt.Sprintf("s%d", i%3), eventstore.Any, events(3)...)
	}
	stored := readAll(t, s)
	for _, from := range []eventstore.Position{0, 14, head(t, s)} {
		t.Run(fmt.Sprintf("from %d", from), func(t *testing.T) {
			ctx, cancel := context.WithCancel(ctxT(t))
			defer cancel()
			ch, errs := s.SubscribeAll(ctx, from)
			past := collect(t, ch, errs, len(stored)-int(from))
			samePositions(t, past, stored[from:])
			// Live: appended after the catch-up finished.
			evs := events(4)
			mustAppend(t, s, fmt.Sprintf("live-%d", from), eventstore.NoStream, evs...)
			live := collect(t, ch, errs, 4)
			for i, r := range live {
				if r.ID != evs[i].ID {
					t.Fatalf("live event %d is %s, want %s", i, r.ID, evs[i].ID)
				}
			}
			stored = readAll(t, s)
		})
	}
	t.Run("hand-over while appending", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctxT(t))
		defer cancel()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if _, err := s.Append(ctx, "handover", eventstore.Any, events(3)...); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		}()
		ch, errs := s.SubscribeAll(ctx, 0)
		wg.Wait()
		all := readAll(t, s)
		samePositions(t, collect(t, ch, errs, len(all)), all)
	})
}

func testSubscribeCancel(t *testing.T, h Harness) {
	s := h.Open(t)
	mustAppend(t, s, "c", eventstore.NoStream, events(5)...)
	runtime.GC()
	before := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithCancel(ctxT(t))
		ch, errs := s.SubscribeAll(ctx, 0)
		if i%2 == 0 {
			collect(t, ch, errs, 5) // cancel while live and waiting
		}
		cancel() // and, on odd rounds, while the channel is full of undelivered events
		deadline := time.After(10 * time.Second)
		for open := true; open; {
			select {
			case _, open = <-ch:
			case <-deadline:
				t.Fatal("subscription did not end after cancel")
			}
		}
		if err, ok := <-errs; ok && err != nil {
			t.Fatalf("cancel reported an error: %v", err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		var stacks strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
		t.Fatalf("%d goroutines after cancelling 20 subscriptions, %d before:\n%s", n, before, stacks.String())
	}
}

// testConcurrentNoSkips is the global-order guarantee under contention: 8 writers append random batches to random
// streams, a random share of them cancelled mid-flight (rolled back, or not, depending on where the cancel lands),
// while a subscriber reads live. The subscriber must see exactly the committed events, each once, in position
// order: if it ever observed N+1 before N committed, N would be missing from what it saw.
func testConcurrentNoSkips(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	ch, errs := s.SubscribeAll(ctx, 0)

	type outcome struct {
		ids []string
		ok  bool
	}
	var mu sync.Mutex
	var outcomes []outcome
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; i < 40; i++ {
				var batch []eventstore.StreamAppend
				var ids []string
				for k := 0; k < 1+r.IntN(3); k++ {
					evs := events(1 + r.IntN(6))
					for _, e := range evs {
						ids = append(ids, e.ID)
					}
					batch = append(batch, eventstore.StreamAppend{Stream: fmt.Sprintf("w%d-%d", w, r.IntN(4)), Expected: eventstore.Any, Events: evs})
				}
				actx, acancel := context.WithCancel(ctx)
				switch r.IntN(8) {
				case 0:
					acancel() // refused before it starts
				case 1, 2:
					time.AfterFunc(time.Duration(r.IntN(2000))*time.Microsecond, acancel) // lands anywhere
				}
				_, err := s.AppendMany(actx, batch)
				acancel()
				mu.Lock()
				outcomes = append(outcomes, outcome{ids: ids, ok: err == nil})
				mu.Unlock()
				if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
					t.Errorf("append: %v", err)
				}
			}
		}(w)
	}
	wg.Wait()
	committed := readAll(t, s)
	seen := collect(t, ch, errs, len(committed))
	samePositions(t, seen, committed)
	for i := 1; i < len(seen); i++ {
		if seen[i].Position <= seen[i-1].Position {
			t.Fatalf("subscriber saw position %d after %d", seen[i].Position, seen[i-1].Position)
		}
	}
	stored := map[string]bool{}
	for _, r := range committed {
		if stored[r.ID] {
			t.Fatalf("event %s stored twice", r.ID)
		}
		stored[r.ID] = true
	}
	cancelled := 0
	for _, o := range outcomes {
		n := 0
		for _, id := range o.ids {
			if stored[id] {
				n++
			}
		}
		switch {
		case o.ok && n != len(o.ids):
			t.Fatalf("a successful batch is missing %d of %d events", len(o.ids)-n, len(o.ids))
		case n != 0 && n != len(o.ids):
			t.Fatalf("a batch was written in part: %d of %d events", n, len(o.ids))
		case !o.ok:
			cancelled++
		}
	}
	t.Logf("%d batches, %d cancelled, %d events committed", len(outcomes), cancelled, len(committed))
	select {
	case extra := <-ch:
		t.Fatalf("subscriber saw an extra event at %d", extra.Position)
	case <-time.After(50 * time.Millisecond):
	}
}

func testReopen(t *testing.T, h Harness) {
	s := h.Open(t)
	evs := events(5)
	mustAppend(t, s, "r", eventstore.NoStream, evs...)
	mustAppend(t, s, "q", eventstore.NoStream, events(2)...)
	before := readAll(t, s)
	s = h.Reopen(t, s)
	samePositions(t, readAll(t, s), before)
	if res := mustAppend(t, s, "r", eventstore.Exact(4), evs[4], Event("T", 5)); !res.Events[0].Duplicate || res.LastVersion != 5 {
		t.Fatalf("after reopen: %+v", res)
	}
	if head(t, s) != 8 {
		t.Fatalf("head %d, want 8", head(t, s))
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	ch, errs := s.SubscribeAll(ctx, 7)
	if got := collect(t, ch, errs, 1); got[0].Position != 8 || got[0].Version != 5 {
		t.Fatalf("subscription after reopen: %+v", got[0])
	}
}

func testLongStream(t *testing.T, h Harness) {
	s := h.Open(t)
	const total, batch = 100_000, 1000
	for i := 0; i < total; i += batch {
		mustAppend(t, s, "long", eventstore.Any, events(batch)...)
	}
	var v eventstore.Version
	for {
		page, err := s.ReadStream(ctxT(t), "long", v, 4096)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			if r.Version != v {
				t.Fatalf("version %d, want %d", r.Version, v)
			}
			v++
		}
	}
	if v != total {
		t.Fatalf("read %d events, want %d", v, total)
	}
}

func testClosed(t *testing.T, h Harness) {
	s := h.Open(t)
	mustAppend(t, s, "z", eventstore.NoStream, Event("T", 0))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(context.Background(), "z", eventstore.Any, Event("T", 1)); err == nil {
		t.Fatal("append after close succeeded")
	}
	if _, err := s.ReadAll(context.Background(), 0, 10); err == nil {
		t.Fatal("read after close succeeded")
	}
}

func testReadBackward(t *testing.T, h Harness) {
	s := h.Open(t)
	mustAppend(t, s, "b", eventstore.NoStream, events(5)...)
	// Neighbours whose names share a prefix with "b" must never leak into its reads.
	mustAppend(t, s, "a", eventstore.Any, events(2)...)
	mustAppend(t, s, "b-1", eventstore.Any, events(3)...)
	mustAppend(t, s, "c", eventstore.Any, events(1)...)
	versions := func(recs []eventstore.Recorded) []eventstore.Version {
		var out []eventstore.Version
		for _, r := range recs {
			if r.Stream != "b" {
				t.Fatalf("read of b returned an event of %s", r.Stream)
			}
			out = append(out, r.Version)
		}
		return out
	}
	for _, tc := range []struct {
		from eventstore.Version
		max  int
		want []eventstore.Version
	}{
		{eventstore.EndOfStream, 2, []eventstore.Version{4, 3}},
		{eventstore.EndOfStream, 100, []eventstore.Version{4, 3, 2, 1, 0}},
		{2, 10, []eventstore.Version{2, 1, 0}},
		{0, 10, []eventstore.Version{0}},
		{9, 1, []eventstore.Version{4}},
	} {
		recs, err := s.ReadStreamBackward(ctxT(t), "b", tc.from, tc.max)
		if err != nil {
			t.Fatalf("from %d max %d: %v", tc.from, tc.max, err)
		}
		if got := versions(recs); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Fatalf("from %d max %d: versions %v, want %v", tc.from, tc.max, got, tc.want)
		}
	}
	if recs, err := s.ReadStreamBackward(ctxT(t), "never-written", eventstore.EndOfStream, 10); err != nil || len(recs) != 0 {
		t.Fatalf("unknown stream: %d events, %v", len(recs), err)
	}
	if recs, err := s.ReadStreamBackward(ctxT(t), "c", eventstore.EndOfStream, 10); err != nil || len(recs) != 1 {
		t.Fatalf("last stream in key order: %d events, %v", len(recs), err)
	}
	for _, bad := range []struct {
		from eventstore.Version
		max  int
	}{{-1, 1}, {eventstore.EndOfStream, 0}} {
		if _, err := s.ReadStreamBackward(ctxT(t), "b", bad.from, bad.max); !errors.Is(err, eventstore.ErrInvalidArgument) {
			t.Fatalf("from %d max %d: %v, want ErrInvalidArgument", bad.from, bad.max, err)
		}
	}
}

// testStreamTwiceInBatch pins what the ingester relies on: a stream may appear in several parts of one batch, and
// the events keep the batch's order in both the stream and the global log.
func testStreamTwiceInBatch(t *testing.T, h Harness) {
	s := h.Open(t)
	first, second, other := Event("T", 1), Event("T", 2), Event("T", 3)
	res, err := s.AppendMany(ctxT(t), []eventstore.StreamAppend{
		{Stream: "x", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{first}},
		{Stream: "y", Expected: eventstore.Any, Events: []eventstore.NewEvent{other}},
		{Stream: "x", Expected: eventstore.Any, Events: []eventstore.NewEvent{second}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].LastVersion != 0 || res[2].LastVersion != 1 {
		t.Fatalf("versions %d and %d, want 0 and 1", res[0].LastVersion, res[2].LastVersion)
	}
	all := readAll(t, s)
	var ids []string
	for _, r := range all {
		ids = append(ids, r.ID)
	}
	if want := []string{first.ID, other.ID, second.ID}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("global order %v, want %v", ids, want)
	}
}
