package eventstore

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errFlaky = errors.New("connection reset")

// flakyReader fails its first `failures` reads, then serves positions 1..total.
func flakyReader(failures, total int) func(context.Context, Position, int) ([]Recorded, error) {
	calls := 0
	return func(_ context.Context, after Position, max int) ([]Recorded, error) {
		calls++
		if calls <= failures {
			return nil, errFlaky
		}
		var out []Recorded
		for p := after + 1; p <= Position(total) && len(out) < max; p++ {
			out = append(out, Recorded{Position: p})
		}
		return out, nil
	}
}

func TestSubscribeRetriesTransientErrors(t *testing.T) {
	cfg := SubscriptionConfig{PageSize: 2, Buffer: 1, PollInterval: 10 * time.Millisecond, MaxRetries: 5,
		Transient: func(err error) bool { return errors.Is(err, errFlaky) }}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, errs := Subscribe(ctx, flakyReader(3, 5), NewNotifier(), 0, cfg)
	for want := Position(1); want <= 5; want++ {
		select {
		case r := <-ch:
			if r.Position != want {
				t.Fatalf("position %d, want %d", r.Position, want)
			}
		case err := <-errs:
			t.Fatalf("gave up: %v", err)
		}
	}
}

func TestSubscribeGivesUp(t *testing.T) {
	for name, cfg := range map[string]SubscriptionConfig{
		"final error":       {PageSize: 2, Buffer: 1, PollInterval: time.Millisecond},
		"too many failures": {PageSize: 2, Buffer: 1, PollInterval: time.Millisecond, MaxRetries: 2, Transient: func(error) bool { return true }},
	} {
		ch, errs := Subscribe(context.Background(), flakyReader(100, 1), NewNotifier(), 0, cfg)
		select {
		case err := <-errs:
			if !errors.Is(err, errFlaky) {
				t.Errorf("%s: error %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no error", name)
		}
		if _, open := <-ch; open {
			t.Errorf("%s: events channel left open", name)
		}
	}
}

func TestExpectedVersionString(t *testing.T) {
	for v, want := range map[ExpectedVersion]string{Any: "any", NoStream: "no stream", Exact(3): "version 3", -7: "invalid(-7)"} {
		if v.String() != want {
			t.Errorf("%d prints %q", int64(v), v.String())
		}
	}
}
