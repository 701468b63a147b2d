// Package retry holds what the long-running loops (ingestion, projections) share to wait between attempts.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Sleep waits d, or until ctx ends (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff is the wait after the given number of consecutive failures: initial, doubling up to max, with ±20%
// jitter so that many processes restarted together do not retry in step.
func Backoff(initial, max time.Duration, failures int) time.Duration {
	d := initial
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d - d/5 + time.Duration(rand.Int64N(int64(d/5)*2+1))
}

// Policy is how a loop waits after consecutive failures. Initial and Max bound the backoff; Sleep is the clock
// (tests replace it).
type Policy struct {
	Initial, Max time.Duration
	Sleep        func(ctx context.Context, d time.Duration) error
}

// WithDefaults fills what is unset: Initial with initial, Max with 30 s (never below Initial), Sleep with Sleep.
func (p Policy) WithDefaults(initial time.Duration) Policy {
	if p.Initial <= 0 {
		p.Initial = initial
	}
	if p.Max < p.Initial {
		p.Max = max(30*time.Second, p.Initial)
	}
	if p.Sleep == nil {
		p.Sleep = Sleep
	}
	return p
}

// Wait sleeps the backoff for the given number of consecutive failures, or until ctx ends.
func (p Policy) Wait(ctx context.Context, failures int) error {
	return p.Sleep(ctx, Backoff(p.Initial, p.Max, failures))
}
