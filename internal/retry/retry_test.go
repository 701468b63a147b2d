package retry

import (
	"context"
	"testing"
	"time"
)

func TestWithDefaults(t *testing.T) {
	for _, tc := range []struct {
		name              string
		in                Policy
		initial, wantInit time.Duration
		wantMax           time.Duration
	}{
		{"unset", Policy{}, time.Second, time.Second, 30 * time.Second},
		{"kept", Policy{Initial: time.Millisecond, Max: time.Second}, time.Second, time.Millisecond, time.Second},
		{"max below initial", Policy{Initial: time.Minute, Max: time.Second}, time.Second, time.Minute, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.in.WithDefaults(tc.initial)
			if p.Initial != tc.wantInit || p.Max != tc.wantMax || p.Sleep == nil {
				t.Fatalf("%+v", p)
			}
		})
	}
}

func TestBackoffStaysWithinJitterOfTheCappedDoubling(t *testing.T) {
	for failures := 1; failures <= 12; failures++ {
		want := min(100*time.Millisecond<<(failures-1), 5*time.Second)
		for range 200 {
			d := Backoff(100*time.Millisecond, 5*time.Second, failures)
			if d < want-want/5 || d > want+want/5 {
				t.Fatalf("after %d failures: %s, want %s ±20%%", failures, d, want)
			}
		}
	}
}

func TestWaitSleepsTheBackoffAndStopsWithTheContext(t *testing.T) {
	var slept time.Duration
	p := Policy{Initial: time.Second, Max: time.Minute, Sleep: func(_ context.Context, d time.Duration) error { slept = d; return nil }}
	if err := p.Wait(context.Background(), 3); err != nil || slept < 3200*time.Millisecond || slept > 4800*time.Millisecond {
		t.Fatalf("slept %s: %v", slept, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Policy{}).WithDefaults(time.Hour).Wait(ctx, 1); err != context.Canceled {
		t.Fatalf("cancelled wait: %v", err)
	}
}
