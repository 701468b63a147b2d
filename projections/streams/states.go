package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/projections"
)

// CommittedStates caches the stream states a PostgreSQL projection committed. The checkpoint lock makes the
// projection its tables' only writer, so what it committed is what the table holds, and loading it back (and
// decoding its JSON) on every batch is waste. Take empties the cache until Keep refills it after a commit: a batch
// that fails leaves it empty, since whether its commit landed is then unknown.
type CommittedStates struct {
	cached Loaded
}

// Loaded is the states a batch starts from.
type Loaded struct {
	States map[fluxora.StreamRef]fluxora.Stream
	// complete: States holds every row of the table, so a stream that is not in it has none. A table found empty
	// (a new generation, a rebuild) stays complete for as long as the cache keeps everything, and its batches then
	// read nothing back.
	complete bool
}

// committedLimit bounds the cache (states are about a kilobyte each).
const committedLimit = 200_000

// Keeps reports whether Keep will cache the states a batch leaves (before, changed); when it will not, the next
// batch reads every state it needs back from the table. It may say no when Keep would still keep them, never the
// other way round.
func Keeps(before Loaded, changes map[fluxora.StreamRef]*Change) bool {
	return len(before.States)+len(changes) <= committedLimit
}

// Take hands the cache to a batch and empties it.
func (c *CommittedStates) Take() Loaded {
	l := c.cached
	c.cached = Loaded{}
	return l
}

// Keep caches the states a committed batch left: those it started from, changed.
func (c *CommittedStates) Keep(before Loaded, changes map[fluxora.StreamRef]*Change) {
	for ref, ch := range changes {
		if ch.Gone {
			delete(before.States, ref)
		} else {
			before.States[ref] = ch.State
		}
	}
	if len(before.States) <= committedLimit {
		c.cached = before
	}
}

// LoadStates returns the states of the streams a batch touches, with every cached one, reading from table (column
// state, and ref when byRef, else contract_id and stream_id) only the ones not cached.
func LoadStates(ctx context.Context, tx pgx.Tx, table string, byRef bool, batch []projections.Event, cached Loaded) (Loaded, error) {
	out := cached
	if out.States == nil {
		out.States = map[fluxora.StreamRef]fluxora.Stream{}
	}
	if !out.complete && len(out.States) == 0 {
		var rows bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM `+table+`)`).Scan(&rows); err != nil {
			return Loaded{}, fmt.Errorf("read %s: %w", table, err)
		}
		out.complete = !rows
	}
	if out.complete {
		return out, nil
	}
	var refs, contracts, ids []string
	seen := map[fluxora.StreamRef]bool{}
	for _, ev := range batch {
		if ref, ok := fluxora.StreamOf(ev.Domain); ok && !seen[ref] {
			seen[ref] = true
			if _, hit := out.States[ref]; hit {
				continue
			}
			if byRef {
				refs = append(refs, ref.String())
			} else {
				contracts, ids = append(contracts, string(ref.ContractID)), append(ids, strconv.FormatUint(ref.StreamID, 10))
			}
		}
	}
	if len(refs)+len(contracts) == 0 {
		return out, nil
	}
	var rows pgx.Rows
	if byRef {
		rows, _ = tx.Query(ctx, `SELECT state FROM `+table+` WHERE ref = ANY($1)`, refs)
	} else {
		rows, _ = tx.Query(ctx, `SELECT state FROM `+table+` WHERE (contract_id, stream_id) IN
    (SELECT * FROM unnest($1::text[], $2::numeric[]))`, contracts, ids)
	}
	var raw []byte
	_, err := pgx.ForEachRow(rows, []any{&raw}, func() error {
		var s fluxora.Stream
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("stored stream state: %w", err)
		}
		out.States[s.Ref()] = s
		return nil
	})
	if err != nil {
		return Loaded{}, fmt.Errorf("load streams from %s: %w", table, err)
	}
	return out, nil
}
