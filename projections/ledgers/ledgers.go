// Package ledgers is the ledger index: for every ledger of the current branch, its hash, close time and where its
// events lie in the log, from the LedgerClosed markers (a ChainReorganized marker drops the abandoned ledgers,
// whose replacements follow), and for final ledgers without events the verified range that holds them
// (LedgersVerified markers: one entry a range, keyed by its last ledger). It answers "what was ledger L" and "when did it close", which point-in-time reads
// need, without scanning the ledger stream.
package ledgers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/pgschema"
	"github.com/streamledger/streamledger/internal/spill"
	"github.com/streamledger/streamledger/projections"
)

// Name is the projection's name.
const Name = "ledgers"

// Ledger is one ingested ledger of the current branch, or a verified range of ledgers without events (First <
// Sequence): then Hash and ClosedAt are its last ledger's, PreviousHash its first ledger's parent.
type Ledger struct {
	First         uint32
	FirstClosedAt time.Time
	Sequence      uint32
	Hash          string
	PreviousHash  string
	ClosedAt      time.Time
	EventCount    int
	// Position is the position of the ledger's marker; its events lie after From and before Position.
	Position eventstore.Position
	From     eventstore.Position
}

// change is what a batch does to the index: ledgers set, and ledgers above Drop removed first.
type change struct {
	set  []Ledger
	drop *uint32
}

// changes reads a batch's markers; last is the position of the marker before the batch.
func changes(batch []projections.Event, last eventstore.Position) ([]change, eventstore.Position) {
	var out []change
	for _, ev := range batch {
		switch e := ev.Domain.(type) {
		case *domain.ChainReorganized:
			fork := e.Fork
			out = append(out, change{drop: &fork})
			last = ev.Position
		case *domain.LedgerClosed:
			out = append(out, change{set: []Ledger{{First: e.Ledger, FirstClosedAt: e.ClosedAt, Sequence: e.Ledger, Hash: e.Hash,
				PreviousHash: e.PreviousHash, ClosedAt: e.ClosedAt, EventCount: e.EventCount, Position: ev.Position, From: last}}})
			last = ev.Position
		case *domain.LedgersVerified:
			out = append(out, change{set: []Ledger{{First: e.First, FirstClosedAt: e.FirstClosedAt, Sequence: e.Last, Hash: e.Hash,
				PreviousHash: e.PreviousHash, ClosedAt: e.ClosedAt, Position: ev.Position, From: last}}})
			last = ev.Position
		}
	}
	return out, last
}

// Range reports whether l is a verified range rather than one ledger.
func (l Ledger) Range() bool { return l.First < l.Sequence }

// Memory is the index in this process, rebuilt from the log at every start (the embedded default): its ledgers,
// in sequence order, are fixed-size records in a scratch file (NewScratch), so that memory does not grow with the
// chain, or in memory (NewMemory).
type Memory struct {
	projections.MemoryCheckpoint
	mu         sync.RWMutex
	file       *spill.File
	n          int64  // records
	last       Ledger // record n-1: most ledgers are appended after it
	tip        uint32
	lastMarker eventstore.Position
}

// NewMemory returns an empty index in memory.
func NewMemory() *Memory {
	m, err := NewScratch("")
	if err != nil {
		panic(err) // creating a buffer in memory does not fail
	}
	return m
}

// NewScratch returns an empty index kept in a scratch file in dir (created, and truncated: the index is rebuilt
// from the log). Close removes it.
func NewScratch(dir string) (*Memory, error) {
	f, err := spill.Create(dir, "ledgers")
	if err != nil {
		return nil, fmt.Errorf("ledgers: %w", err)
	}
	return &Memory{file: f}, nil
}

// Close removes the scratch file.
func (m *Memory) Close() error { return m.file.Close() }

// Name is "ledgers".
func (m *Memory) Name() string { return Name }

// Apply indexes a batch's markers.
func (m *Memory) Apply(_ context.Context, batch []projections.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cs, last := changes(batch, m.lastMarker)
	for _, c := range cs {
		if c.drop != nil {
			keep, err := m.search(func(l Ledger) bool { return l.Sequence > *c.drop })
			if err != nil {
				return err
			}
			if err := m.truncate(keep); err != nil {
				return err
			}
			m.tip = min(m.tip, *c.drop)
		}
		for _, l := range c.set {
			if err := m.set(l); err != nil {
				return err
			}
			m.tip = max(m.tip, l.Sequence)
		}
	}
	m.lastMarker = last
	m.Advance(batch)
	return nil
}

// set writes l in its place: after the last record (the usual case), over the record of the same ledger, or
// between two records (the ones after it move up).
func (m *Memory) set(l Ledger) error {
	rec, err := encode(l)
	if err != nil {
		return err
	}
	if m.n == 0 || m.last.Sequence < l.Sequence {
		if err := m.file.WriteAt(rec, m.n*recordSize); err != nil {
			return fmt.Errorf("ledgers: %w", err)
		}
		m.n++
		m.last = l
		return nil
	}
	i, err := m.search(func(r Ledger) bool { return r.Sequence >= l.Sequence })
	if err != nil {
		return err
	}
	at, err := m.record(i)
	if err != nil {
		return err
	}
	if at.Sequence != l.Sequence {
		moved := make([]byte, (m.n-i)*recordSize)
		if err := m.file.ReadAt(moved, i*recordSize); err != nil {
			return fmt.Errorf("ledgers: %w", err)
		}
		rec = append(rec, moved...)
		m.n++
	}
	if err := m.file.WriteAt(rec, i*recordSize); err != nil {
		return fmt.Errorf("ledgers: %w", err)
	}
	m.last, err = m.record(m.n - 1)
	return err
}

// truncate keeps the first n records.
func (m *Memory) truncate(n int64) error {
	if n == m.n {
		return nil
	}
	if err := m.file.Truncate(n * recordSize); err != nil {
		return fmt.Errorf("ledgers: %w", err)
	}
	m.n, m.last = n, Ledger{}
	if n == 0 {
		return nil
	}
	var err error
	m.last, err = m.record(n - 1)
	return err
}

// search is the index of the first record for which pred, false up to some record and true from it on, holds
// (m.n: none).
func (m *Memory) search(pred func(Ledger) bool) (int64, error) {
	lo, hi := int64(0), m.n
	for lo < hi {
		mid := lo + (hi-lo)/2
		l, err := m.record(mid)
		if err != nil {
			return 0, err
		}
		if pred(l) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

func (m *Memory) record(i int64) (Ledger, error) {
	var b [recordSize]byte
	if err := m.file.ReadAt(b[:], i*recordSize); err != nil {
		return Ledger{}, fmt.Errorf("ledgers: record %d: %w", i, err)
	}
	return decode(b[:]), nil
}

// Get returns ledger seq (or the verified range that holds it), and the highest ledger seen (for finality).
func (m *Memory) Get(_ context.Context, seq uint32) (Ledger, uint32, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	i, err := m.search(func(l Ledger) bool { return l.Sequence >= seq })
	if err != nil || i == m.n {
		return Ledger{}, m.tip, false, err
	}
	l, err := m.record(i)
	if err != nil || l.First > seq {
		return Ledger{}, m.tip, false, err
	}
	return l, m.tip, true, nil
}

// Start returns a position after which a reader finds every event of the current branch's ledgers from seq on
// and, when since is not zero, closed at or after since: the place where the first such indexed ledger's events
// begin. When the index holds no such ledger (it is behind the log, or the range is beyond the tip) it is the
// last indexed marker, and 0 for an empty index. Close times never decrease along a chain (the protocol requires
// it), so both conditions are binary searches.
func (m *Memory) Start(_ context.Context, seq uint32, since time.Time) (eventstore.Position, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	i, err := m.search(func(l Ledger) bool { return l.Sequence >= seq && !l.ClosedAt.Before(since) })
	if err != nil {
		return 0, err
	}
	if i == m.n {
		return m.lastMarker, nil
	}
	l, err := m.record(i)
	return l.From, err
}

// Postgres is the index in PostgreSQL, one table per generation.
type Postgres struct {
	projections.PGGeneration
	pool  *pgxpool.Pool
	table string
}

// OpenPostgres opens (creating when missing) generation gen of the index in schema.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, schema string, gen int) (*Postgres, error) {
	generation, err := projections.OpenPGGeneration(ctx, pool, schema, Name, gen)
	if err != nil {
		return nil, err
	}
	p := &Postgres{pool: pool, PGGeneration: generation, table: pgx.Identifier{schema, fmt.Sprintf("ledgers_g%d", gen)}.Sanitize()}
	// first_seq and first_closed_at came with verified ranges; indexes made before hold single ledgers (NULL).
	if err := pgschema.Create(ctx, pool, schema, `CREATE TABLE IF NOT EXISTS `+p.table+` (
    seq bigint PRIMARY KEY, hash text NOT NULL, previous_hash text NOT NULL, closed_at timestamptz NOT NULL,
    event_count int NOT NULL, position bigint NOT NULL, from_position bigint NOT NULL);
ALTER TABLE `+p.table+` ADD COLUMN IF NOT EXISTS first_seq bigint, ADD COLUMN IF NOT EXISTS first_closed_at timestamptz`); err != nil {
		return nil, fmt.Errorf("create %s: %w", p.table, err)
	}
	return p, nil
}

// Apply indexes a batch's markers with the checkpoint, in one transaction.
func (p *Postgres) Apply(ctx context.Context, batch []projections.Event) error {
	return p.ApplyBatch(ctx, batch, func(tx pgx.Tx) error { return p.apply(ctx, tx, batch) })
}

func (p *Postgres) apply(ctx context.Context, tx pgx.Tx, batch []projections.Event) error {
	var last int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM `+p.table).Scan(&last); err != nil {
		return fmt.Errorf("last marker: %w", err)
	}
	cs, _ := changes(batch, eventstore.Position(last))
	for _, c := range cs {
		if c.drop != nil {
			if _, err := tx.Exec(ctx, `DELETE FROM `+p.table+` WHERE seq > $1`, int64(*c.drop)); err != nil {
				return fmt.Errorf("drop abandoned ledgers: %w", err)
			}
		}
		for _, l := range c.set {
			if _, err := tx.Exec(ctx, `INSERT INTO `+p.table+` (seq, hash, previous_hash, closed_at, event_count, position, from_position, first_seq, first_closed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (seq) DO UPDATE SET hash = excluded.hash, previous_hash = excluded.previous_hash,
    closed_at = excluded.closed_at, event_count = excluded.event_count, position = excluded.position, from_position = excluded.from_position,
    first_seq = excluded.first_seq, first_closed_at = excluded.first_closed_at`,
				int64(l.Sequence), l.Hash, l.PreviousHash, l.ClosedAt, l.EventCount, int64(l.Position), int64(l.From),
				int64(l.First), l.FirstClosedAt); err != nil {
				return fmt.Errorf("index ledger %d: %w", l.Sequence, err)
			}
		}
	}
	return nil
}

// Get returns ledger seq (or the verified range that holds it), and the highest ledger indexed (for finality).
func (p *Postgres) Get(ctx context.Context, seq uint32) (Ledger, uint32, bool, error) {
	var l Ledger
	var s, first, pos, from, tip int64
	err := p.pool.QueryRow(ctx, `SELECT seq, coalesce(first_seq, seq), hash, previous_hash, closed_at, coalesce(first_closed_at, closed_at),
    event_count, position, from_position, (SELECT max(seq) FROM `+p.table+`)
FROM `+p.table+` WHERE seq >= $1 ORDER BY seq LIMIT 1`, int64(seq)).Scan(&s, &first, &l.Hash, &l.PreviousHash,
		&l.ClosedAt, &l.FirstClosedAt, &l.EventCount, &pos, &from, &tip)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && first > int64(seq)) {
		return Ledger{}, 0, false, nil
	}
	if err != nil {
		return Ledger{}, 0, false, fmt.Errorf("read ledger %d: %w", seq, err)
	}
	l.First, l.Sequence, l.Position, l.From = uint32(first), uint32(s), eventstore.Position(pos), eventstore.Position(from)
	l.ClosedAt, l.FirstClosedAt = l.ClosedAt.UTC(), l.FirstClosedAt.UTC()
	return l, uint32(tip), true, nil
}

// Start is Memory.Start: where a reader of the current branch's events from ledger seq (closed at or after since)
// starts.
func (p *Postgres) Start(ctx context.Context, seq uint32, since time.Time) (eventstore.Position, error) {
	var pos int64
	err := p.pool.QueryRow(ctx, `SELECT coalesce(
    (SELECT from_position FROM `+p.table+` WHERE seq >= $1 AND closed_at >= $2 ORDER BY seq LIMIT 1),
    (SELECT max(position) FROM `+p.table+`), 0)`, int64(seq), since).Scan(&pos)
	if err != nil {
		return 0, fmt.Errorf("start of ledger %d: %w", seq, err)
	}
	return eventstore.Position(pos), nil
}

// StateHash identifies the index's content.
func (p *Postgres) StateHash(ctx context.Context) (string, error) {
	var h string
	err := p.pool.QueryRow(ctx, `SELECT coalesce(md5(string_agg(coalesce(first_seq, seq) || '/' || seq || '/' || hash || '/' || position, ',' ORDER BY seq)), '') FROM `+p.table).Scan(&h)
	if err != nil {
		return "", fmt.Errorf("hash ledgers: %w", err)
	}
	return h, nil
}
