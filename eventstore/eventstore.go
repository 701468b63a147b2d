// Package eventstore is the append-only event store contract (DESIGN §3) and what its backends share.
//
// Semantics every backend implements, and eventstore/storetest proves:
//   - Streams hold events with versions 0, 1, 2, … without gaps. Every event also has a global Position, 1, 2,
//     3, … without gaps in commit order (so head − checkpoint is a projection's lag in events); readers never
//     observe position N+1 while N can still commit.
//   - Append checks the expected version of each stream, then writes the whole batch or nothing. AppendMany writes
//     several streams in one batch (atomically, on every backend that can), which is how one ledger, or one reorg,
//     becomes visible at once.
//   - Appending an event whose id is already stored in that stream is a no-op that reports the stored version and
//     position; an id stored in another stream is ErrIDConflict. A batch whose events are all stored already
//     succeeds whatever the expected version, so a writer that crashed after committing can simply retry. In a
//     batch that mixes stored and new events, the expected version is checked against the stream as it is now.
//   - Positions are "after" cursors: ReadAll(after=0) starts at the first event and SubscribeAll(from=p) delivers
//     the events after p, which is exactly what a checkpoint stores.
//   - A call that fails because its context ended says so: its error wraps the context's error.
//   - Nothing is ever updated or deleted.
package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
)

// EndOfStream is the from of a backward read that starts at a stream's newest event.
const EndOfStream Version = math.MaxInt64

// Position is an event's place in the global order; 0 means "before the first event".
type Position uint64

// Version is an event's place in its stream, from 0.
type Version int64

// ExpectedVersion is the optimistic-concurrency condition of an append: Any, NoStream or Exact(n).
type ExpectedVersion int64

const (
	// Any appends whatever the stream holds.
	Any ExpectedVersion = -2
	// NoStream appends only to a stream that has no events yet.
	NoStream ExpectedVersion = -1
)

// Exact appends only when the stream's last event has version v.
func Exact(v Version) ExpectedVersion { return ExpectedVersion(v) }

func (e ExpectedVersion) String() string {
	switch {
	case e == Any:
		return "any"
	case e == NoStream:
		return "no stream"
	case e >= 0:
		return fmt.Sprintf("version %d", int64(e))
	default:
		return fmt.Sprintf("invalid(%d)", int64(e))
	}
}

// Limits.
const (
	// MaxEventSize bounds an event's data plus metadata: chain events are a few KiB, so anything near this is a bug.
	MaxEventSize = 1 << 20
	// MaxStreamNameLength bounds stream names; ours are about 80 bytes.
	MaxStreamNameLength = 512
)

// Errors.
var (
	ErrWrongVersion    = errors.New("wrong expected version")
	ErrIDConflict      = errors.New("event id already stored in another stream")
	ErrInvalidStream   = errors.New("invalid stream name")
	ErrEmptyBatch      = errors.New("empty append batch")
	ErrInvalidEvent    = errors.New("invalid event")
	ErrEventTooLarge   = errors.New("event too large")
	ErrInvalidArgument = errors.New("invalid argument")
	ErrClosed          = errors.New("event store closed")
)

// NewEvent is an event to append. ID is a UUID chosen by the writer (deterministic for chain events), which is
// what makes appends idempotent. Data and Metadata are JSON; Metadata may be empty.
type NewEvent struct {
	ID       string
	Type     string
	Data     []byte
	Metadata []byte
}

// Recorded is a stored event. Its Data and Metadata may be shared with the store and with other readers, and
// readers may keep references into them: nobody modifies them.
type Recorded struct {
	ID         string
	Stream     string
	Version    Version
	Position   Position
	Type       string
	Data       []byte
	Metadata   []byte
	RecordedAt time.Time
}

// StreamAppend is one stream's part of a batch.
type StreamAppend struct {
	Stream   string
	Expected ExpectedVersion
	Events   []NewEvent
}

// Appended says where one event of a batch is stored, and whether it was stored already.
type Appended struct {
	Version   Version
	Position  Position
	Duplicate bool
}

// AppendResult reports an append to one stream: one entry per event, in order, and the stream's last version.
type AppendResult struct {
	Events      []Appended
	LastVersion Version
}

// Store is the event store.
type Store interface {
	Append(ctx context.Context, stream string, expected ExpectedVersion, events ...NewEvent) (AppendResult, error)
	AppendMany(ctx context.Context, batch []StreamAppend) ([]AppendResult, error)
	ReadStream(ctx context.Context, stream string, from Version, max int) ([]Recorded, error)
	// ReadStreamBackward reads up to max events of stream with version ≤ from, newest first; from may be
	// EndOfStream. Writers use it to find where they left off without reading a stream from its start.
	ReadStreamBackward(ctx context.Context, stream string, from Version, max int) ([]Recorded, error)
	ReadAll(ctx context.Context, after Position, max int) ([]Recorded, error)
	SubscribeAll(ctx context.Context, from Position) (<-chan Recorded, <-chan error)
	Head(ctx context.Context) (Position, error)
	Close() error
}

// AppendOne is Append written in terms of AppendMany, for backends whose single-stream append is the one-stream
// batch.
func AppendOne(ctx context.Context, appendMany func(context.Context, []StreamAppend) ([]AppendResult, error),
	stream string, expected ExpectedVersion, events []NewEvent) (AppendResult, error) {
	res, err := appendMany(ctx, []StreamAppend{{Stream: stream, Expected: expected, Events: events}})
	if err != nil {
		return AppendResult{}, err
	}
	return res[0], nil
}

// ContextErr is err, wrapping ctx's error too when ctx has ended: a driver may report a cancelled call only as
// what the cancellation did to it (a server's "statement cancelled", a stream's EOF), and the caller must still be
// able to tell that its own context ended the call.
func ContextErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

// ValidateBatch checks a batch before any backend touches storage, so that every backend refuses the same input
// with the same error.
func ValidateBatch(batch []StreamAppend) error { return validateBatch(batch, true) }

// ValidateBatchShape is ValidateBatch without the JSON syntax check, for backends whose storage parses the JSON
// anyway (PostgreSQL's json type); they must report its refusal as ErrInvalidEvent. Checking twice costs the
// database a fifth of its append throughput on a machine where client and server share the cores.
func ValidateBatchShape(batch []StreamAppend) error { return validateBatch(batch, false) }

func validateBatch(batch []StreamAppend, checkJSON bool) error {
	if len(batch) == 0 {
		return ErrEmptyBatch
	}
	seen := make(map[string]struct{})
	for _, sa := range batch {
		if err := ValidateStreamName(sa.Stream); err != nil {
			return err
		}
		if len(sa.Events) == 0 {
			return fmt.Errorf("%w: no events for stream %q", ErrEmptyBatch, sa.Stream)
		}
		if sa.Expected < Any {
			return fmt.Errorf("%w: expected version %d for stream %q", ErrInvalidArgument, int64(sa.Expected), sa.Stream)
		}
		for i, e := range sa.Events {
			if err := validateEvent(e, checkJSON); err != nil {
				return fmt.Errorf("stream %q event %d: %w", sa.Stream, i, err)
			}
			if _, dup := seen[e.ID]; dup {
				return fmt.Errorf("%w: id %s appears twice in the batch", ErrInvalidEvent, e.ID)
			}
			seen[e.ID] = struct{}{}
		}
	}
	return nil
}

// ValidateStreamName refuses empty, oversized and non-printable stream names.
func ValidateStreamName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidStream)
	}
	if len(name) > MaxStreamNameLength {
		return fmt.Errorf("%w: %d bytes (at most %d)", ErrInvalidStream, len(name), MaxStreamNameLength)
	}
	for _, r := range name {
		if r < 0x21 || r == 0x7f {
			return fmt.Errorf("%w: %q contains a space or control character", ErrInvalidStream, name)
		}
	}
	return nil
}

// ValidateReadStream checks ReadStream's arguments, the same way on every backend.
func ValidateReadStream(stream string, from Version, max int) error {
	if err := ValidateStreamName(stream); err != nil {
		return err
	}
	if from < 0 || max < 1 {
		return fmt.Errorf("%w: from %d, max %d (want from ≥ 0, max ≥ 1)", ErrInvalidArgument, from, max)
	}
	return nil
}

// ValidateReadAll checks ReadAll's arguments.
func ValidateReadAll(max int) error {
	if max < 1 {
		return fmt.Errorf("%w: max %d (want ≥ 1)", ErrInvalidArgument, max)
	}
	return nil
}

func validateEvent(e NewEvent, checkJSON bool) error {
	if _, err := uuid.Parse(e.ID); err != nil || len(e.ID) != 36 {
		return fmt.Errorf("%w: id %q is not a UUID", ErrInvalidEvent, e.ID)
	}
	if e.Type == "" || len(e.Type) > 128 {
		return fmt.Errorf("%w: type must be 1 to 128 bytes", ErrInvalidEvent)
	}
	if size := len(e.Data) + len(e.Metadata); size > MaxEventSize {
		return fmt.Errorf("%w: %d bytes of data and metadata (at most %d)", ErrEventTooLarge, size, MaxEventSize)
	}
	if !checkJSON {
		return nil
	}
	if !json.Valid(e.Data) {
		return fmt.Errorf("%w: data is not valid JSON", ErrInvalidEvent)
	}
	if len(e.Metadata) > 0 && !json.Valid(e.Metadata) {
		return fmt.Errorf("%w: metadata is not valid JSON", ErrInvalidEvent)
	}
	return nil
}

// CanonicalID is the lower-case form of an event id, the one every backend stores and returns.
func CanonicalID(id string) string {
	u, err := uuid.Parse(id)
	if err != nil {
		return id
	}
	return u.String()
}

// CheckExpected applies an expected-version condition to a stream whose last version is last (-1: no events).
func CheckExpected(stream string, expected ExpectedVersion, last Version) error {
	switch {
	case expected == Any:
		return nil
	case expected == NoStream && last == -1:
		return nil
	case expected >= 0 && Version(expected) == last:
		return nil
	}
	return fmt.Errorf("%w: stream %q is at %s, expected %s", ErrWrongVersion, stream, describeVersion(last), expected)
}

func describeVersion(v Version) string {
	if v < 0 {
		return "no stream"
	}
	return fmt.Sprintf("version %d", v)
}

// Stored is what a backend knows of an already stored event id.
type Stored struct {
	Stream   string
	Version  Version
	Position Position
}

// Plan is what a backend must write for a batch, decided by PlanAppend from what it already holds.
type Plan struct {
	Results []AppendResult
	// Writes lists the new events in global order, with their stream, version and position assigned.
	Writes []Recorded
}

// PlanAppend decides a batch: which events are already stored (reported, not written), whether the expected
// versions hold, and the versions and positions of the new events. Backends call it while they hold their write
// lock, with lookups of stored ids and stream heads, so all of them share one implementation of the rules.
func PlanAppend(batch []StreamAppend, head Position, stored map[string]Stored, lastVersion func(stream string) Version, now time.Time) (Plan, error) {
	plan := Plan{Results: make([]AppendResult, len(batch))}
	next := head
	last := make(map[string]Version)
	for i, sa := range batch {
		cur, ok := last[sa.Stream]
		if !ok {
			cur = lastVersion(sa.Stream)
		}
		res := AppendResult{Events: make([]Appended, len(sa.Events))}
		fresh := 0
		for j, e := range sa.Events {
			if s, ok := stored[CanonicalID(e.ID)]; ok {
				if s.Stream != sa.Stream {
					return Plan{}, fmt.Errorf("%w: %s is in stream %q, not %q", ErrIDConflict, e.ID, s.Stream, sa.Stream)
				}
				res.Events[j] = Appended{Version: s.Version, Position: s.Position, Duplicate: true}
				continue
			}
			fresh++
		}
		if fresh > 0 {
			if err := CheckExpected(sa.Stream, sa.Expected, cur); err != nil {
				return Plan{}, err
			}
		}
		for j, e := range sa.Events {
			if res.Events[j].Duplicate {
				continue
			}
			cur++
			next++
			res.Events[j] = Appended{Version: cur, Position: next}
			plan.Writes = append(plan.Writes, Recorded{
				ID: CanonicalID(e.ID), Stream: sa.Stream, Version: cur, Position: next, Type: e.Type,
				Data: e.Data, Metadata: emptyToNil(e.Metadata), RecordedAt: now,
			})
		}
		res.LastVersion = cur
		last[sa.Stream] = cur
		plan.Results[i] = res
	}
	return plan, nil
}

func emptyToNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// BatchIDs lists the canonical ids of a batch, for the stored-id lookup.
func BatchIDs(batch []StreamAppend) []string {
	var ids []string
	for _, sa := range batch {
		for _, e := range sa.Events {
			ids = append(ids, CanonicalID(e.ID))
		}
	}
	return ids
}

// Now is the recording time backends stamp: UTC, at the microsecond precision PostgreSQL keeps, so that every
// backend returns the same value it stored.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
