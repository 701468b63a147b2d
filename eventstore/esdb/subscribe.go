package esdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/streamledger/streamledger/eventstore"
)

// SubscribeAll delivers every event after from, then live ones, until ctx ends. It is a catch-up subscription to
// $all that starts at the $all position of the log entry before the one holding from+1, filtered on the server to
// the commit log stream. When the connection drops it subscribes again from the last $all position it saw, and
// positions at or before the last delivered one are skipped, so an overlap is harmless and a gap is an error.
func (s *Store) SubscribeAll(ctx context.Context, from eventstore.Position) (<-chan eventstore.Recorded, <-chan error) {
	out := make(chan eventstore.Recorded, s.cfg.Subscription.Buffer)
	errs := make(chan error, 1)
	go func() {
		defer close(out)
		defer close(errs)
		// Close ends the subscription too; the caller's ctx alone says whether an end is an error.
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(s.life, cancel)()
		err := s.subscribe(sctx, from, out)
		if s.closed.Load() && ctx.Err() == nil {
			err = eventstore.ErrClosed
		}
		if err != nil && ctx.Err() == nil {
			errs <- fmt.Errorf("subscription after position %d: %w", from, err)
		}
	}()
	return out, errs
}

func (s *Store) subscribe(ctx context.Context, after eventstore.Position, out chan<- eventstore.Recorded) error {
	start, err := s.startFor(ctx, after)
	if err != nil {
		return err
	}
	failures := 0
	for {
		seen, err := s.follow(ctx, start, &after, out)
		if ctx.Err() != nil {
			return nil
		}
		if seen != nil {
			start, failures = *seen, 0
		}
		failures++
		if !Transient(err) || failures > s.cfg.Subscription.MaxRetries {
			return err
		}
		s.log.Warn("eventstoredb subscription dropped; resuming", "after", uint64(after), "attempt", failures, "error", err.Error())
		t := time.NewTimer(min(50*time.Millisecond<<min(failures, 7), 5*time.Second))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// startFor is the $all position to subscribe from so that the first entry delivered holds after+1.
func (s *Store) startFor(ctx context.Context, after eventstore.Position) (esdb.AllPosition, error) {
	s.mu.RLock()
	head := s.headLocked()
	s.mu.RUnlock()
	if after >= head {
		if err := s.reload(ctx); err != nil {
			return nil, err
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	rev := s.batchOfLocked(after + 1)
	if rev == 0 {
		return esdb.Start{}, nil
	}
	return s.batches[rev-1].all, nil
}

// follow runs one subscription until it drops, delivering records after *after. It returns the last $all position
// it saw (nil when none) and why it stopped.
func (s *Store) follow(ctx context.Context, start esdb.AllPosition, after *eventstore.Position, out chan<- eventstore.Recorded) (*esdb.Position, error) {
	// A subscription has a client of its own for as long as it runs (see use), and a new one after a drop.
	c, err := esdb.NewClient(s.conf)
	if err != nil {
		return nil, fmt.Errorf("eventstoredb client: %w", err)
	}
	defer c.Close()
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: start, Filter: s.logOnly})
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	var seen *esdb.Position
	for {
		ev := sub.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			return seen, dropped(ev.SubscriptionDropped.Error)
		case ev.CheckPointReached != nil:
			p := *ev.CheckPointReached
			seen = &p
		case ev.EventAppeared != nil && ev.EventAppeared.Event != nil:
			e := ev.EventAppeared.Event
			recs, err := decodeBatch(e.Data)
			if err != nil {
				return seen, fmt.Errorf("log revision %d: %w", e.EventNumber, err)
			}
			for _, r := range recs {
				if r.Position <= *after {
					continue
				}
				if r.Position != *after+1 {
					return seen, fmt.Errorf("%w: the subscription jumped from position %d to %d", ErrLog, *after, r.Position)
				}
				select {
				case out <- r:
					*after = r.Position
				case <-ctx.Done():
					return seen, ctx.Err()
				}
			}
			p := e.Position
			seen = &p
		}
	}
}

// dropped wraps the error a subscription dropped with; the library passes gRPC's own, which Transient reads.
func dropped(err error) error {
	if err == nil {
		err = errors.New("no reason given")
	}
	return fmt.Errorf("eventstoredb subscription dropped: %w", err)
}
