// Package memory is an in-process event store for tests and for tools that need no durability.
package memory

import (
	"context"
	"sync"

	"github.com/streamledger/streamledger/eventstore"
)

// Store keeps every event in memory. It is safe for concurrent use.
type Store struct {
	mu      sync.RWMutex
	log     []eventstore.Recorded            // log[i] has position i+1
	streams map[string][]eventstore.Position // positions of each stream's events, by version
	ids     map[string]eventstore.Position
	closed  bool
	notify  *eventstore.Notifier
}

// New returns an empty store.
func New() *Store {
	return &Store{
		streams: make(map[string][]eventstore.Position),
		ids:     make(map[string]eventstore.Position),
		notify:  eventstore.NewNotifier(),
	}
}

// Append appends events to one stream.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.NewEvent) (eventstore.AppendResult, error) {
	return eventstore.AppendOne(ctx, s.AppendMany, stream, expected, events)
}

// AppendMany appends a multi-stream batch atomically.
func (s *Store) AppendMany(ctx context.Context, batch []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if err := eventstore.ValidateBatch(batch); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	stored := make(map[string]eventstore.Stored)
	for _, id := range eventstore.BatchIDs(batch) {
		if p, ok := s.ids[id]; ok {
			r := s.log[p-1]
			stored[id] = eventstore.Stored{Stream: r.Stream, Version: r.Version, Position: r.Position}
		}
	}
	head := eventstore.Position(len(s.log))
	plan, err := eventstore.PlanAppend(batch, head, stored, func(stream string) eventstore.Version {
		return eventstore.Version(len(s.streams[stream])) - 1
	}, eventstore.Now())
	if err != nil {
		return nil, err
	}
	for _, w := range plan.Writes {
		w.Data = clone(w.Data)
		w.Metadata = clone(w.Metadata)
		s.log = append(s.log, w)
		s.streams[w.Stream] = append(s.streams[w.Stream], w.Position)
		s.ids[w.ID] = w.Position
	}
	if len(plan.Writes) > 0 {
		s.notify.Signal()
	}
	return plan.Results, nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// ReadStream reads up to max events of a stream from version from.
func (s *Store) ReadStream(_ context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error) {
	return s.readStream(stream, from, max, false)
}

// ReadStreamBackward reads up to max events of stream with version ≤ from, newest first.
func (s *Store) ReadStreamBackward(_ context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error) {
	return s.readStream(stream, from, max, true)
}

// readStream walks a stream's positions from version from, forward or backward.
func (s *Store) readStream(stream string, from eventstore.Version, max int, backward bool) ([]eventstore.Recorded, error) {
	if err := eventstore.ValidateReadStream(stream, from, max); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	positions := s.streams[stream]
	v, step := int64(from), int64(1)
	if backward {
		v, step = min(v, int64(len(positions))-1), -1
	}
	var out []eventstore.Recorded
	for ; v >= 0 && v < int64(len(positions)) && len(out) < max; v += step {
		out = append(out, s.log[positions[v]-1])
	}
	return out, nil
}

// ReadAll reads up to max events after position after, in global order.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error) {
	if err := eventstore.ValidateReadAll(max); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	if after >= eventstore.Position(len(s.log)) {
		return nil, nil
	}
	end := min(uint64(after)+uint64(max), uint64(len(s.log)))
	return append([]eventstore.Recorded(nil), s.log[after:end]...), nil
}

// SubscribeAll delivers every event after from, then live ones, until ctx ends.
func (s *Store) SubscribeAll(ctx context.Context, from eventstore.Position) (<-chan eventstore.Recorded, <-chan error) {
	return eventstore.Subscribe(ctx, s.ReadAll, s.notify, from, eventstore.DefaultSubscription)
}

// Head is the position of the last event (0: none).
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, eventstore.ErrClosed
	}
	return eventstore.Position(len(s.log)), nil
}

// Close makes every further call fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.notify.Signal()
	return nil
}
