package streams

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/projections"
)

// CommittedStates caches the stream states a PostgreSQL projection committed. The checkpoint lock makes the
// projection its tables' only writer, so what it committed is what the table holds, and loading it back (and
// decoding its JSON) on every batch is waste. Take empties the cache until Keep refills it after a commit: a batch
// that fails leaves it empty, since whether its commit landed is then unknown.
type CommittedStates struct {
	m map[domain.StreamRef]domain.Stream
}

// committedLimit bounds the cache (states are about a kilobyte each).
const committedLimit = 200_000

// Take hands the cache to a batch and empties it.
func (c *CommittedStates) Take() map[domain.StreamRef]domain.Stream {
	m := c.m
	c.m = nil
	return m
}

// Keep caches the states a committed batch left: those it started from, changed.
func (c *CommittedStates) Keep(before map[domain.StreamRef]domain.Stream, changes map[domain.StreamRef]*Change) {
	for ref, ch := range changes {
		if ch.Gone {
			delete(before, ref)
		} else {
			before[ref] = ch.State
		}
	}
	if len(before) <= committedLimit {
		c.m = before
	}
}

// LoadStates returns the states of the streams a batch touches, with every cached one, reading from table (columns
// ref and state) only the ones not cached.
func LoadStates(ctx context.Context, tx pgx.Tx, table string, batch []projections.Event,
	cached map[domain.StreamRef]domain.Stream) (map[domain.StreamRef]domain.Stream, error) {
	out := cached
	if out == nil {
		out = map[domain.StreamRef]domain.Stream{}
	}
	var refs []string
	seen := map[domain.StreamRef]bool{}
	for _, ev := range batch {
		if ref, ok := domain.StreamOf(ev.Domain); ok && !seen[ref] {
			seen[ref] = true
			if _, hit := out[ref]; !hit {
				refs = append(refs, ref.String())
			}
		}
	}
	if len(refs) == 0 {
		return out, nil
	}
	rows, _ := tx.Query(ctx, `SELECT state FROM `+table+` WHERE ref = ANY($1)`, refs)
	var raw []byte
	_, err := pgx.ForEachRow(rows, []any{&raw}, func() error {
		var s domain.Stream
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("stored stream state: %w", err)
		}
		out[s.Ref()] = s
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load streams from %s: %w", table, err)
	}
	return out, nil
}
