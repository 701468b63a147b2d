package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/internal/syncbuf"
)

// TestBackfillProgress: a backfill's progress is logged with its rate and ETA while it runs (drawn on a terminal),
// and its end once the tip reaches the target.
func TestBackfillProgress(t *testing.T) {
	for _, onTerminal := range []bool{false, true} {
		var mu sync.Mutex
		st := chain.Status{Health: chain.HealthBackfilling, Tip: 1000, TargetLedger: 100_000}
		clock := time.Unix(0, 0)
		status := func() chain.Status {
			mu.Lock()
			defer mu.Unlock()
			// Each look is 10 s of chain time later, 5,000 ledgers and 10 events further.
			clock = clock.Add(10 * time.Second)
			st.Tip, st.Ledgers, st.Events = min(st.Tip+5000, st.TargetLedger), st.Ledgers+5000, st.Events+10
			return st
		}
		now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
		logs := &syncbuf.Buffer{}
		var term *syncbuf.Buffer
		var w interface{ Write([]byte) (int, error) }
		if onTerminal {
			term = &syncbuf.Buffer{}
			w = term
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if onTerminal {
			reportBackfill(ctx, status, w, slog.New(slog.NewJSONHandler(logs, nil)), now, time.Millisecond)
		} else {
			reportBackfill(ctx, status, nil, slog.New(slog.NewJSONHandler(logs, nil)), now, time.Millisecond)
		}
		cancel()
		if ctx.Err() == context.DeadlineExceeded {
			t.Fatal("the report did not end at the target")
		}
		out := logs.String()
		if !strings.Contains(out, `"msg":"backfill complete","target":100000`) {
			t.Fatalf("no end: %s", out)
		}
		if onTerminal {
			// 5,000 ledgers in 10 s of the clock: 500 ledgers/s; the rest at that rate.
			if !strings.Contains(term.String(), "ledger 11000 → 100000, 500 ledgers/s, 20 events, ETA 2m58s") {
				t.Fatalf("terminal: %q", term.String())
			}
			continue
		}
		if !strings.Contains(out, `"msg":"backfill progress","tip":11000,"target":100000,"ledgersPerSecond":500,"eventsIngested":20,"eta":"2m58s"`) {
			t.Fatalf("logs: %s", out)
		}
		if bytes.Count([]byte(out), []byte("backfill progress")) < 10 {
			t.Fatalf("too few progress lines: %s", out)
		}
	}
}
