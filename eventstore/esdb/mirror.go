package esdb

// The mirrors: every event also lives in a 1:1 EventStoreDB stream of its own store stream, written after its
// batch is committed to the log, so that reading a stream is one EventStoreDB read. The log is the truth; a mirror
// that lags or misses a write is repaired from it.

import (
	"context"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/streamledger/streamledger/eventstore"
)

// mirror writes the 1:1 streams of every log entry the index holds that is not mirrored yet, in log order.
// Callers hold writeMu.
func (s *Store) mirror(ctx context.Context) error {
	for {
		s.mu.RLock()
		next, total := s.mirrored, len(s.batches)
		s.mu.RUnlock()
		if next >= total {
			return nil
		}
		recs, ok := s.pending[next]
		if !ok {
			entries, err := s.readLog(ctx, next, 1)
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				return fmt.Errorf("%w: log revision %d is gone", ErrLog, next)
			}
			recs = entries[0].recs
		}
		if err := s.mirrorBatch(ctx, recs); err != nil {
			return fmt.Errorf("log revision %d: %w", next, err)
		}
		delete(s.pending, next)
		s.mu.Lock()
		s.mirrored = next + 1
		s.mu.Unlock()
	}
}

// mirrorBatch appends each run of one stream's events to that stream, expecting the revision before it.
func (s *Store) mirrorBatch(ctx context.Context, recs []eventstore.Recorded) error {
	for start := 0; start < len(recs); {
		end := start + 1
		for end < len(recs) && recs[end].Stream == recs[start].Stream {
			end++
		}
		if err := s.mirrorRun(ctx, recs[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

func (s *Store) mirrorRun(ctx context.Context, run []eventstore.Recorded) error {
	stream := run[0].Stream
	var expected esdb.ExpectedRevision = esdb.NoStream{}
	if run[0].Version > 0 {
		expected = esdb.Revision(uint64(run[0].Version - 1))
	}
	events := make([]esdb.EventData, len(run))
	for i, r := range run {
		events[i] = esdb.EventData{EventID: uuid.MustParse(r.ID), EventType: r.Type, ContentType: esdb.ContentTypeJson,
			Data: r.Data, Metadata: r.Metadata}
	}
	err := s.use(ctx, func(c *esdb.Client) error {
		_, err := c.AppendToStream(ctx, s.esdbName(stream), esdb.AppendToStreamOptions{ExpectedRevision: expected}, events...)
		return err
	})
	if err == nil {
		return nil
	}
	if !isWrongVersion(err) {
		return fmt.Errorf("write stream %q: %w", stream, err)
	}
	// EventStoreDB answers a re-append of the same ids at the same place with success; a different revision means
	// the stream holds events the log does not know.
	last, err := s.streamRevision(ctx, stream)
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: stream %q is at revision %d, the log puts version %d..%d after %d",
		ErrMirror, stream, last, run[0].Version, run[len(run)-1].Version, run[0].Version-1)
}

// streamRevision is a stream's last revision in EventStoreDB, -1 when it has none.
func (s *Store) streamRevision(ctx context.Context, stream string) (eventstore.Version, error) {
	recs, err := s.readMirror(ctx, stream, eventstore.EndOfStream, 1, true)
	if err != nil || len(recs) == 0 {
		return -1, err
	}
	return eventstore.Version(recs[0].EventNumber), nil
}

// repairMirrors completes what a writer that stopped between a commit and its mirror writes left undone. Mirrors
// are written in log order, so the complete ones are a prefix of the log: walk back from the end to the last
// complete entry, then write forward from there.
func (s *Store) repairMirrors(ctx context.Context) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.RLock()
	total := len(s.batches)
	s.mu.RUnlock()
	complete := 0
	for rev := total - 1; rev >= 0; rev-- {
		entries, err := s.readLog(ctx, rev, 1)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return fmt.Errorf("%w: log revision %d is gone", ErrLog, rev)
		}
		done, err := s.entryMirrored(ctx, entries[0].recs)
		if err != nil {
			return err
		}
		if done {
			complete = rev + 1
			break
		}
	}
	if complete < total {
		s.log.Warn("eventstoredb: completing 1:1 streams a previous writer left unfinished", "from revision", complete, "to revision", total-1)
	}
	s.mu.Lock()
	s.mirrored = complete
	s.mu.Unlock()
	return s.mirror(ctx)
}

// entryMirrored tells whether every stream of a log entry holds the entry's last event of that stream.
func (s *Store) entryMirrored(ctx context.Context, recs []eventstore.Recorded) (bool, error) {
	last := map[string]eventstore.Version{}
	for _, r := range recs {
		last[r.Stream] = r.Version
	}
	for stream, v := range last {
		have, err := s.streamRevision(ctx, stream)
		if err != nil {
			return false, err
		}
		if have < v {
			return false, nil
		}
	}
	return true, nil
}

// ensureMirrored completes the 1:1 streams of every entry the index holds, so that stream reads agree with ReadAll.
func (s *Store) ensureMirrored(ctx context.Context) error {
	s.mu.RLock()
	done := s.mirrored == len(s.batches)
	s.mu.RUnlock()
	if done {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.mirror(ctx)
}

// ReadStream reads up to max events of a stream from version from, from its 1:1 EventStoreDB stream.
func (s *Store) ReadStream(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error) {
	return s.readStream(ctx, stream, from, max, false)
}

// ReadStreamBackward reads up to max events of stream with version ≤ from, newest first.
func (s *Store) ReadStreamBackward(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error) {
	return s.readStream(ctx, stream, from, max, true)
}

func (s *Store) readStream(ctx context.Context, stream string, from eventstore.Version, max int, backward bool) ([]eventstore.Recorded, error) {
	if err := eventstore.ValidateReadStream(stream, from, max); err != nil {
		return nil, err
	}
	if err := s.checkStream(stream); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		return nil, eventstore.ErrClosed
	}
	if err := s.ensureMirrored(ctx); err != nil {
		return nil, fmt.Errorf("read %s: complete the 1:1 streams: %w", stream, err)
	}
	evs, err := s.readMirror(ctx, stream, from, max, backward)
	if err != nil {
		return nil, err
	}
	out := make([]eventstore.Recorded, len(evs))
	for i, e := range evs {
		if out[i], err = s.fromMirror(ctx, e); err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
	}
	return out, nil
}

// readMirror reads a 1:1 stream as EventStoreDB holds it.
func (s *Store) readMirror(ctx context.Context, stream string, from eventstore.Version, max int, backward bool) ([]*esdb.RecordedEvent, error) {
	opts := esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Revision(uint64(from))}
	if backward {
		opts.Direction = esdb.Backwards
		if from == eventstore.EndOfStream {
			opts.From = esdb.End{}
		}
	}
	var out []*esdb.RecordedEvent
	err := s.read(ctx, stream, opts, uint64(max), func(e *esdb.RecordedEvent) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read stream %q: %w", stream, err)
	}
	return out, nil
}

// fromMirror turns a 1:1 stream's event back into the record: the position and recording time come from the log.
func (s *Store) fromMirror(ctx context.Context, e *esdb.RecordedEvent) (eventstore.Recorded, error) {
	st, at, ok := s.lookup(e.EventID)
	if !ok {
		// Written by another process after this one loaded the log.
		if err := s.reload(ctx); err != nil {
			return eventstore.Recorded{}, err
		}
		if st, at, ok = s.lookup(e.EventID); !ok {
			return eventstore.Recorded{}, fmt.Errorf("%w: event %s of stream %q is in no log entry", ErrMirror, e.EventID, e.StreamID)
		}
	}
	if s.esdbName(st.stream) != e.StreamID || st.version != eventstore.Version(e.EventNumber) {
		return eventstore.Recorded{}, fmt.Errorf("%w: event %s is %q version %d, the log says %q version %d",
			ErrMirror, e.EventID, e.StreamID, e.EventNumber, st.stream, st.version)
	}
	var meta []byte
	if len(e.UserMetadata) > 0 {
		meta = e.UserMetadata
	}
	return eventstore.Recorded{ID: e.EventID.String(), Stream: st.stream, Version: st.version, Position: st.position,
		Type: e.EventType, Data: e.Data, Metadata: meta, RecordedAt: at}, nil
}
