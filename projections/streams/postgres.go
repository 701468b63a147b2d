package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/pgschema"
	"github.com/streamledger/streamledger/projections"
)

// Postgres keeps the stream states in PostgreSQL, one table per generation (streams_g1, streams_g2, …: a rebuild
// fills a new generation while the live one keeps serving). A batch's upserts and the checkpoint commit together.
type Postgres struct {
	projections.PGGeneration
	pool   *pgxpool.Pool
	reader StreamReader
	table  string
	// legacyRef: the table was made with a ref column as its primary key (before the key was contract and stream
	// id, one index fewer for every write); such a generation keeps filling it until a replay replaces it.
	legacyRef bool
	// beforeCommit lets tests fail a batch after its writes, before its commit.
	beforeCommit func() error

	states CommittedStates
}

// OpenPostgres opens (creating when missing) generation gen of the projection in schema.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, schema string, gen int, reader StreamReader) (*Postgres, error) {
	generation, err := projections.OpenPGGeneration(ctx, pool, schema, Name, gen)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("streams_g%d", gen)
	p := &Postgres{pool: pool, reader: reader, PGGeneration: generation, table: pgx.Identifier{schema, name}.Sanitize()}
	// Keyed and ordered by (contract, stream id) for keyset pagination, with an index per filter of the API.
	err = pgschema.Create(ctx, pool, schema, `CREATE TABLE IF NOT EXISTS `+p.table+` (
    contract_id      text COLLATE "C" NOT NULL,
    stream_id        numeric(20,0) NOT NULL,
    status           text          NOT NULL,
    sender           text COLLATE "C" NOT NULL,
    recipient        text COLLATE "C" NOT NULL,
    updated_position bigint        NOT NULL,
    state            json          NOT NULL,
    PRIMARY KEY (contract_id, stream_id)
);
CREATE INDEX IF NOT EXISTS `+name+`_status ON `+p.table+` (status, contract_id, stream_id);
CREATE INDEX IF NOT EXISTS `+name+`_sender ON `+p.table+` (sender, contract_id, stream_id);
CREATE INDEX IF NOT EXISTS `+name+`_recipient ON `+p.table+` (recipient, contract_id, stream_id)`)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", p.table, err)
	}
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM information_schema.columns
WHERE table_schema = $1 AND table_name = $2 AND column_name = 'ref')`, schema, name).Scan(&p.legacyRef); err != nil {
		return nil, fmt.Errorf("inspect %s: %w", p.table, err)
	}
	return p, nil
}

// Wants is Folded: the runner decodes no other event for this projection.
func (p *Postgres) Wants(rec *eventstore.Recorded) bool { return Folded(rec) }

// Apply folds a batch and writes the changed streams and the checkpoint in one transaction, set-based: one query
// reads the touched streams, one upserts, one deletes.
func (p *Postgres) Apply(ctx context.Context, batch []projections.Event) error {
	cached := p.states.Take()
	var current Loaded
	var changes map[fluxora.StreamRef]*Change
	err := p.ApplyBatch(ctx, batch, func(tx pgx.Tx) error {
		var err error
		if current, err = LoadStates(ctx, tx, p.table, false, batch, cached); err != nil {
			return err
		}
		changes, err = Fold(ctx, p.reader, batch, func(ref fluxora.StreamRef) (fluxora.Stream, error) { return current.States[ref], nil }, nil)
		if err != nil {
			return err
		}
		if err := p.write(ctx, tx, changes, batch[len(batch)-1].Position); err != nil {
			return err
		}
		if p.beforeCommit != nil {
			return p.beforeCommit()
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.states.Keep(current, changes)
	return nil
}

func (p *Postgres) write(ctx context.Context, tx pgx.Tx, changes map[fluxora.StreamRef]*Change, position eventstore.Position) error {
	var refs, contracts, ids, statuses, senders, recipients, states, goneContracts, goneIDs []string
	var positions []int64
	for ref, c := range changes {
		if c.Gone {
			goneContracts, goneIDs = append(goneContracts, string(ref.ContractID)), append(goneIDs, strconv.FormatUint(ref.StreamID, 10))
			continue
		}
		state, err := domain.AppendJSON(make([]byte, 0, 1024), &c.State) // encoding/json's bytes, faster
		if err != nil {
			return fmt.Errorf("encode stream %s: %w", ref, err)
		}
		if p.legacyRef {
			refs = append(refs, ref.String())
		}
		contracts = append(contracts, string(ref.ContractID))
		ids = append(ids, strconv.FormatUint(ref.StreamID, 10))
		statuses = append(statuses, string(c.State.Status))
		senders = append(senders, string(c.State.Sender))
		recipients = append(recipients, string(c.State.Recipient))
		positions = append(positions, int64(position))
		states = append(states, string(state))
	}
	if len(contracts) > 0 {
		columns, values := "", ""
		args := []any{contracts, ids, statuses, senders, recipients, positions, states}
		if p.legacyRef {
			columns, values, args = "ref, ", "$8::text[], ", append(args, refs)
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+p.table+` (`+columns+`contract_id, stream_id, status, sender, recipient, updated_position, state)
SELECT * FROM unnest(`+values+`$1::text[], $2::numeric[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::json[])
ON CONFLICT (contract_id, stream_id) DO UPDATE SET status = excluded.status, sender = excluded.sender, recipient = excluded.recipient,
    updated_position = excluded.updated_position, state = excluded.state`, args...)
		if err != nil {
			return fmt.Errorf("upsert %d streams: %w", len(contracts), err)
		}
	}
	if len(goneContracts) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM `+p.table+` WHERE (contract_id, stream_id) IN
    (SELECT * FROM unnest($1::text[], $2::numeric[]))`, goneContracts, goneIDs); err != nil {
			return fmt.Errorf("delete %d streams: %w", len(goneContracts), err)
		}
	}
	return nil
}

// Get returns one stream's state.
func (p *Postgres) Get(ctx context.Context, ref fluxora.StreamRef) (fluxora.Stream, bool, error) {
	var raw []byte
	err := p.pool.QueryRow(ctx, `SELECT state FROM `+p.table+` WHERE contract_id = $1 AND stream_id = $2::numeric`,
		string(ref.ContractID), strconv.FormatUint(ref.StreamID, 10)).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return fluxora.Stream{}, false, nil
	}
	if err != nil {
		return fluxora.Stream{}, false, fmt.Errorf("read stream %s: %w", ref, err)
	}
	var s fluxora.Stream
	if err := json.Unmarshal(raw, &s); err != nil {
		return fluxora.Stream{}, false, fmt.Errorf("stored stream %s: %w", ref, err)
	}
	return s, true, nil
}

// List returns the streams that match f, one page of them, and whether more follow: a keyset query on the
// (contract, stream id) order, using the filter's index.
func (p *Postgres) List(ctx context.Context, f Filter, pg Page) ([]fluxora.Stream, bool, error) {
	afterID := "-1"
	if pg.After != (fluxora.StreamRef{}) {
		afterID = strconv.FormatUint(pg.After.StreamID, 10)
	}
	// Only the filters given go into the query, so that the planner can use their index (a catch-all
	// "$n = '' OR col = $n" would keep a cached generic plan off them).
	where := []string{"(contract_id, stream_id) > ($1, $2::numeric)"}
	args := []any{string(pg.After.ContractID), afterID}
	for _, cond := range []struct{ column, value string }{{"status", string(f.Status)}, {"sender", string(f.Sender)},
		{"recipient", string(f.Recipient)}, {"contract_id", string(f.ContractID)}} {
		if cond.value != "" {
			args = append(args, cond.value)
			where = append(where, fmt.Sprintf("%s = $%d", cond.column, len(args)))
		}
	}
	args = append(args, pg.Limit+1)
	rows, _ := p.pool.Query(ctx, `SELECT state FROM `+p.table+` WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY contract_id, stream_id LIMIT $%d`, len(args)), args...)
	var out []fluxora.Stream
	var raw []byte
	_, err := pgx.ForEachRow(rows, []any{&raw}, func() error {
		var s fluxora.Stream
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("list streams: %w", err)
	}
	if len(out) > pg.Limit {
		return out[:pg.Limit], true, nil
	}
	return out, false, nil
}

// StateHash is the deterministic hash of every stream's state, as Memory.StateHash computes it.
func (p *Postgres) StateHash(ctx context.Context) (string, error) {
	rows, _ := p.pool.Query(ctx, `SELECT state FROM `+p.table+` ORDER BY contract_id, stream_id`)
	var all []fluxora.Stream
	var raw []byte
	_, err := pgx.ForEachRow(rows, []any{&raw}, func() error {
		var s fluxora.Stream
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		all = append(all, s)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read streams: %w", err)
	}
	return StateHash(all)
}
