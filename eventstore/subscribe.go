package eventstore

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Notifier wakes subscribers when the head moves. Backends that learn of appends in-process (memory, bolt) signal
// it directly; PostgreSQL signals it from LISTEN/NOTIFY, and subscribers also poll, so a lost notification only
// delays delivery, never loses an event.
type Notifier struct {
	mu   sync.Mutex
	wake chan struct{}
}

// NewNotifier returns a Notifier with nobody waiting.
func NewNotifier() *Notifier { return &Notifier{wake: make(chan struct{})} }

// Signal wakes everyone waiting now.
func (n *Notifier) Signal() {
	n.mu.Lock()
	close(n.wake)
	n.wake = make(chan struct{})
	n.mu.Unlock()
}

// Wait returns a channel closed at the next Signal.
func (n *Notifier) Wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.wake
}

// SubscriptionConfig tunes Subscribe.
type SubscriptionConfig struct {
	PageSize     int           // events read per catch-up query
	Buffer       int           // events buffered in the channel
	PollInterval time.Duration // longest wait without a notification
	// Transient tells errors worth retrying (a dropped connection) from final ones; nil: none are.
	Transient func(error) bool
	// MaxRetries bounds consecutive transient failures before the subscription gives up with the error.
	MaxRetries int
}

// DefaultSubscription is what the backends use.
var DefaultSubscription = SubscriptionConfig{PageSize: 1000, Buffer: 1024, PollInterval: time.Second, MaxRetries: 12}

// Subscribe runs a catch-up-then-live subscription over any reader: it reads pages after the last delivered
// position until it reaches the head, then waits for the notifier (or the poll interval) and reads again. Because
// it always asks for "after the last position delivered", the hand-over from catch-up to live can neither skip
// nor repeat an event. Both channels close when ctx ends (without an error) or when reading fails (after sending
// the error). The goroutine belongs to the caller's ctx.
func Subscribe(ctx context.Context, read func(ctx context.Context, after Position, max int) ([]Recorded, error),
	n *Notifier, from Position, cfg SubscriptionConfig) (<-chan Recorded, <-chan error) {
	out := make(chan Recorded, cfg.Buffer)
	errs := make(chan error, 1)
	go func() {
		defer close(out)
		defer close(errs)
		after := from
		timer := time.NewTimer(cfg.PollInterval)
		defer timer.Stop()
		failures := 0
		for {
			wake := n.Wait() // taken before reading, so an append during the read is not missed
			page, err := read(ctx, after, cfg.PageSize)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				failures++
				if cfg.Transient == nil || !cfg.Transient(err) || failures > cfg.MaxRetries {
					errs <- fmt.Errorf("subscription after position %d: %w", after, err)
					return
				}
				backoff := min(50*time.Millisecond<<min(failures, 7), 5*time.Second)
				timer.Reset(backoff)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
				continue
			}
			failures = 0
			for _, r := range page {
				select {
				case out <- r:
					after = r.Position
				case <-ctx.Done():
					return
				}
			}
			if len(page) == cfg.PageSize {
				continue
			}
			timer.Reset(cfg.PollInterval) // since Go 1.23 a Reset timer never delivers a stale tick
			select {
			case <-wake:
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errs
}
