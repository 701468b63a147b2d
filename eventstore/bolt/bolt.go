// Package bolt is the embedded event store: one bbolt file, durable (fsync on every commit), no server.
//
// Layout (all keys big-endian so that bbolt's byte order is numeric order):
//
//	log     position(8)                      → record
//	streams stream name 0x00 version(8)      → position(8)
//	ids     uuid(16)                         → position(8)
//
// Stream names never contain 0x00 (eventstore.ValidateStreamName refuses control characters), so the stream index
// keys of one stream are contiguous and ordered by version. bbolt allows one writer at a time, which gives the
// global order its no-skip guarantee for free: positions are assigned inside the single write transaction.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	bbolt "go.etcd.io/bbolt"
	bbolterrors "go.etcd.io/bbolt/errors"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/boltpages"
)

var (
	bucketLog     = []byte("log")
	bucketStreams = []byte("streams")
	bucketIDs     = []byte("ids")
)

// Store is the bbolt-backed event store.
type Store struct {
	db      *bbolt.DB
	notify  *eventstore.Notifier
	release *boltpages.Releaser
}

// releaseEvery is how many bytes of records are appended or read by stream between two releases of the file's
// resident pages: appends touch pages all over the id index (its keys are random), a stream's events lie all over
// the log, and the kernel maps each page's neighbours too.
const releaseEvery = 1 << 20

// Open opens (creating if needed) the store file at path. It fails fast when another process holds the file.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open embedded store %s: %w", path, err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bbolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open embedded store %s: another process has it open", path)
		}
		return nil, fmt.Errorf("open embedded store %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketLog, bucketStreams, bucketIDs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise embedded store %s: %w", path, err)
	}
	return &Store{db: db, notify: eventstore.NewNotifier(), release: boltpages.NewReleaser(db, releaseEvery)}, nil
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func streamKey(stream string, v eventstore.Version) []byte {
	k := make([]byte, 0, len(stream)+9)
	k = append(k, stream...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(v))
}

func mapErr(err error) error {
	if errors.Is(err, bbolterrors.ErrDatabaseNotOpen) {
		return eventstore.ErrClosed
	}
	return err
}

// Append appends events to one stream.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.NewEvent) (eventstore.AppendResult, error) {
	return eventstore.AppendOne(ctx, s.AppendMany, stream, expected, events)
}

// AppendMany appends a multi-stream batch in one durable transaction.
func (s *Store) AppendMany(ctx context.Context, batch []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if err := eventstore.ValidateBatch(batch); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var plan eventstore.Plan
	written := 0
	err := s.db.Update(func(tx *bbolt.Tx) error {
		logB, streams, ids := tx.Bucket(bucketLog), tx.Bucket(bucketStreams), tx.Bucket(bucketIDs)
		// Positions only grow: pages split full (bbolt's default of half suits random keys) and the log takes half
		// the pages.
		logB.FillPercent = 1
		stored := make(map[string]eventstore.Stored)
		for _, id := range eventstore.BatchIDs(batch) {
			p := ids.Get(uuidKey(id))
			if p == nil {
				continue
			}
			rec, err := eventstore.DecodeRecord(eventstore.Position(binary.BigEndian.Uint64(p)), logB.Get(p))
			if err != nil {
				return err
			}
			stored[id] = eventstore.Stored{Stream: rec.Stream, Version: rec.Version, Position: rec.Position}
		}
		var head eventstore.Position
		if k, _ := logB.Cursor().Last(); k != nil {
			head = eventstore.Position(binary.BigEndian.Uint64(k))
		}
		var err error
		plan, err = eventstore.PlanAppend(batch, head, stored, func(stream string) eventstore.Version {
			return lastVersion(streams, stream)
		}, eventstore.Now())
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err // rolls back
		}
		for _, w := range plan.Writes {
			pos := u64(uint64(w.Position))
			rec := eventstore.AppendRecord(make([]byte, 0, eventstore.RecordSize(w)), w)
			if err := logB.Put(pos, rec); err != nil {
				return err
			}
			written += len(rec)
			if err := streams.Put(streamKey(w.Stream, w.Version), pos); err != nil {
				return err
			}
			if err := ids.Put(uuidKey(w.ID), pos); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, mapErr(err)
	}
	if len(plan.Writes) > 0 {
		s.notify.Signal()
		_ = s.release.Touched(written) // a failure leaves pages resident, nothing else
	}
	return plan.Results, nil
}

func uuidKey(id string) []byte {
	u := uuid.MustParse(id) // ids are validated before any transaction starts
	return u[:]
}

func lastVersion(streams *bbolt.Bucket, stream string) eventstore.Version {
	c := streams.Cursor()
	k, _ := c.Seek(streamKey(stream, eventstore.Version(1<<63-1)))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	prefix := append([]byte(stream), 0)
	if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
		return -1
	}
	return eventstore.Version(binary.BigEndian.Uint64(k[len(prefix):]))
}

// ReadStream reads up to max events of a stream from version from.
func (s *Store) ReadStream(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error) {
	return s.readStream(ctx, stream, from, max, false)
}

// ReadStreamBackward reads up to max events of stream with version ≤ from, newest first.
func (s *Store) ReadStreamBackward(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error) {
	return s.readStream(ctx, stream, from, max, true)
}

// readStream walks the per-stream index from version from, forward or backward.
func (s *Store) readStream(ctx context.Context, stream string, from eventstore.Version, max int, backward bool) ([]eventstore.Recorded, error) {
	if err := eventstore.ValidateReadStream(stream, from, max); err != nil {
		return nil, err
	}
	var out []eventstore.Recorded
	read := 0
	err := s.db.View(func(tx *bbolt.Tx) error {
		logB := tx.Bucket(bucketLog)
		prefix := append([]byte(stream), 0)
		start := streamKey(stream, from)
		c := tx.Bucket(bucketStreams).Cursor()
		k, p := c.Seek(start)
		step := c.Next
		if backward {
			step = c.Prev
			switch {
			case k == nil:
				k, p = c.Last()
			case !bytes.Equal(k, start):
				k, p = c.Prev()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8 && len(out) < max; k, p = step() {
			rec, err := eventstore.DecodeRecord(eventstore.Position(binary.BigEndian.Uint64(p)), logB.Get(p))
			if err != nil {
				return err
			}
			out = append(out, rec)
			read += os.Getpagesize() // a stream's records lie apart: each read brings in a page of its own
		}
		return ctx.Err()
	})
	_ = s.release.Touched(read) // a failure leaves pages resident, nothing else
	return out, mapErr(err)
}

// ReadAll reads up to max events after position after, in global order.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error) {
	if err := eventstore.ValidateReadAll(max); err != nil {
		return nil, err
	}
	var out []eventstore.Recorded
	err := s.db.View(func(tx *bbolt.Tx) error {
		pages := boltpages.NewReads(tx)
		defer pages.Drop()
		c := tx.Bucket(bucketLog).Cursor()
		for k, v := c.Seek(u64(uint64(after) + 1)); k != nil && len(out) < max; k, v = c.Next() {
			rec, err := eventstore.DecodeRecord(eventstore.Position(binary.BigEndian.Uint64(k)), v) // copies v
			if err != nil {
				return err
			}
			pages.Add(v)
			out = append(out, rec)
		}
		return ctx.Err()
	})
	return out, mapErr(err)
}

// SubscribeAll delivers every event after from, then live ones, until ctx ends.
func (s *Store) SubscribeAll(ctx context.Context, from eventstore.Position) (<-chan eventstore.Recorded, <-chan error) {
	return eventstore.Subscribe(ctx, s.ReadAll, s.notify, from, eventstore.DefaultSubscription)
}

// Head is the position of the last event (0: none).
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	var head eventstore.Position
	err := s.db.View(func(tx *bbolt.Tx) error {
		if k, _ := tx.Bucket(bucketLog).Cursor().Last(); k != nil {
			head = eventstore.Position(binary.BigEndian.Uint64(k))
		}
		return nil
	})
	return head, mapErr(err)
}

// Close closes the file; subscriptions end with ErrClosed.
func (s *Store) Close() error {
	err := s.db.Close()
	s.notify.Signal()
	return err
}
