package esdb

// The commit log: batches encoded as log events, read back at Open and after another writer, and the index
// of what it holds.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/streamledger/streamledger/eventstore"
)

// reload reads the log entries after the ones the index holds.
func (s *Store) reload(ctx context.Context) error {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	for {
		s.mu.RLock()
		rev, head := len(s.batches), s.headLocked()
		s.mu.RUnlock()
		entries, err := s.readLog(ctx, rev, logPage)
		if err != nil {
			return err
		}
		s.mu.Lock()
		for i, e := range entries {
			if e.recs[0].Position != head+1 {
				s.mu.Unlock()
				return fmt.Errorf("%w: log revision %d starts at position %d, want %d", ErrLog, rev+i, e.recs[0].Position, head+1)
			}
			s.addLocked(e.recs, e.all)
			head = e.recs[len(e.recs)-1].Position
		}
		s.mu.Unlock()
		if len(entries) < logPage {
			return nil
		}
	}
}

type logEntry struct {
	recs []eventstore.Recorded
	all  esdb.Position
}

// readLog reads up to n log entries from revision rev.
func (s *Store) readLog(ctx context.Context, rev, n int) ([]logEntry, error) {
	var out []logEntry
	err := s.read(ctx, s.cfg.LogStream, esdb.ReadStreamOptions{From: esdb.Revision(uint64(rev))}, uint64(n), func(e *esdb.RecordedEvent) error {
		if e.EventNumber != uint64(rev+len(out)) {
			return fmt.Errorf("%w: revision %d where %d was expected (was the log truncated?)", ErrLog, e.EventNumber, rev+len(out))
		}
		recs, err := decodeBatch(e.Data)
		if err != nil {
			return fmt.Errorf("revision %d: %w", e.EventNumber, err)
		}
		out = append(out, logEntry{recs: recs, all: e.Position})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the commit log from revision %d: %w", rev, err)
	}
	return out, nil
}

// read reads up to n events of an EventStoreDB stream (none when it does not exist), handing each to each.
func (s *Store) read(ctx context.Context, stream string, opts esdb.ReadStreamOptions, n uint64, each func(*esdb.RecordedEvent) error) error {
	return s.use(ctx, func(c *esdb.Client) error {
		rs, err := c.ReadStream(ctx, s.esdbName(stream), opts, n)
		if err != nil {
			return err
		}
		defer rs.Close()
		for {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) || isNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := each(ev.Event); err != nil {
				return err
			}
		}
	})
}

// encodeBatch is the log entry's payload: format byte, first position, record count, then each record with its
// length.
func encodeBatch(recs []eventstore.Recorded) []byte {
	size := 1 + 2*binary.MaxVarintLen64
	for _, r := range recs {
		size += binary.MaxVarintLen64 + eventstore.RecordSize(r)
	}
	b := make([]byte, 0, size)
	b = append(b, batchFormat)
	b = binary.AppendUvarint(b, uint64(recs[0].Position))
	b = binary.AppendUvarint(b, uint64(len(recs)))
	var rec []byte
	for _, r := range recs {
		rec = eventstore.AppendRecord(rec[:0], r)
		b = binary.AppendUvarint(b, uint64(len(rec)))
		b = append(b, rec...)
	}
	return b
}

// decodeBatch reads a log entry's payload. It comes from the server, so every length is checked.
func decodeBatch(b []byte) ([]eventstore.Recorded, error) {
	if len(b) == 0 || b[0] != batchFormat {
		return nil, fmt.Errorf("%w: unknown format", ErrLog)
	}
	d := eventstore.NewRecordDecoder(b[1:])
	first, err := d.Uvarint()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLog, err)
	}
	n, err := d.Uvarint()
	if err != nil || n == 0 || n > uint64(d.Remaining()) || first == 0 || first+n < first {
		return nil, fmt.Errorf("%w: bad header", ErrLog)
	}
	recs := make([]eventstore.Recorded, n)
	for i := range recs {
		size, err := d.Uvarint()
		if err != nil || size > uint64(d.Remaining()) {
			return nil, fmt.Errorf("%w: record %d: bad length", ErrLog, i)
		}
		before := d.Remaining()
		if recs[i], err = d.Next(eventstore.Position(first + uint64(i))); err != nil {
			return nil, fmt.Errorf("%w: record %d: %w", ErrLog, i, err)
		}
		if uint64(before-d.Remaining()) != size {
			return nil, fmt.Errorf("%w: record %d: length %d, read %d", ErrLog, i, size, before-d.Remaining())
		}
	}
	if d.Remaining() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrLog, d.Remaining())
	}
	return recs, nil
}

func (s *Store) lookup(id uuid.UUID) (stored, time.Time, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.ids[id]
	if !ok {
		return stored{}, time.Time{}, false
	}
	return st, s.batches[s.batchOfLocked(st.position)].recordedAt, true
}

// batchOfLocked is the log revision that holds position p (len(batches) when none does).
func (s *Store) batchOfLocked(p eventstore.Position) int {
	return sort.Search(len(s.batches), func(i int) bool { return s.batches[i].last() >= p })
}

// record adds a log entry to the index, unless a reload got there first.
func (s *Store) record(rev int, recs []eventstore.Recorded, all esdb.Position) {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev != len(s.batches) {
		return
	}
	s.addLocked(recs, all)
}

func (s *Store) addLocked(recs []eventstore.Recorded, all esdb.Position) {
	s.batches = append(s.batches, batch{first: recs[0].Position, count: uint32(len(recs)), recordedAt: recs[0].RecordedAt, all: all})
	for _, r := range recs {
		name, ok := s.names[r.Stream]
		if !ok {
			name = r.Stream
			s.names[name] = name
		}
		s.ids[uuid.MustParse(r.ID)] = stored{stream: name, version: r.Version, position: r.Position}
		s.heads[name] = r.Version
	}
}
