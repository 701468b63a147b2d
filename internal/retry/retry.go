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
