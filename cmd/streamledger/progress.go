package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/streamledger/streamledger/chain"
)

// terminal is w when it is a terminal (progress is drawn there), nil otherwise (progress is logged).
func terminal(w io.Writer) io.Writer {
	if !isTerminal(w) {
		return nil
	}
	return w
}

// reportBackfill shows a backfill's progress until the tip reaches the target or ctx ends: a line redrawn every
// second on a terminal, a structured log every 10 s otherwise, and a log line when it is complete. The rate is the
// last report's interval's.
func reportBackfill(ctx context.Context, status func() chain.Status, term io.Writer, log *slog.Logger, now func() time.Time, poll time.Duration) {
	every := 10 * time.Second
	if term != nil {
		every = time.Second
	}
	tick := time.NewTicker(poll) // how soon the end is seen
	defer tick.Stop()
	last, at := status(), now()
	for {
		select {
		case <-ctx.Done():
			if term != nil {
				fmt.Fprintln(term)
			}
			return
		case <-tick.C:
		}
		st, t := status(), now()
		complete := st.Tip >= st.TargetLedger
		if t.Sub(at) >= every || complete {
			p := progressOf(last, st, t.Sub(at))
			last, at = st, t
			if term != nil {
				fmt.Fprintf(term, "\r\033[Kbackfill %s", p)
			} else if !complete {
				log.Info("backfill progress", "tip", st.Tip, "target", st.TargetLedger, "ledgersPerSecond", int64(p.rate),
					"eventsIngested", st.Events, "eta", p.eta.String(), "status", st.Health)
			}
		}
		if complete {
			if term != nil {
				fmt.Fprintln(term)
			}
			log.Info("backfill complete", "target", st.TargetLedger, "ledgers", st.Ledgers, "events", st.Events)
			return
		}
	}
}

// progress is one progress report.
type progress struct {
	tip, target uint32
	rate        float64 // ledgers per second
	events      int64
	eta         time.Duration
}

func progressOf(before, now chain.Status, elapsed time.Duration) progress {
	p := progress{tip: now.Tip, target: now.TargetLedger, events: now.Events}
	if elapsed > 0 && now.Ledgers >= before.Ledgers {
		p.rate = float64(now.Ledgers-before.Ledgers) / elapsed.Seconds()
	}
	if p.rate > 0 && now.Tip < now.TargetLedger {
		p.eta = time.Duration(float64(now.TargetLedger-now.Tip) / p.rate * float64(time.Second)).Round(time.Second)
	}
	return p
}

func (p progress) String() string {
	eta := "—"
	if p.eta > 0 {
		eta = p.eta.String()
	}
	return fmt.Sprintf("ledger %d → %d, %.0f ledgers/s, %d events, ETA %s", p.tip, p.target, p.rate, p.events, eta)
}
