package escrows

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/pgschema"
	"github.com/streamledger/streamledger/projections"
)

// Postgres keeps the escrows in PostgreSQL, one set of tables per generation (escrows_gN with each escrow's state,
// escrow_positions_gN with each investor's position for investor queries). A batch's writes and the checkpoint
// commit together.
type Postgres struct {
	projections.PGGeneration
	pool      *pgxpool.Pool
	reader    StreamReader
	table     string
	positions string
}

// OpenPostgres opens (creating when missing) generation gen of the projection in schema.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, schema string, gen int, reader StreamReader) (*Postgres, error) {
	generation, err := projections.OpenPGGeneration(ctx, pool, schema, Name, gen)
	if err != nil {
		return nil, err
	}
	name, positions := fmt.Sprintf("escrows_g%d", gen), fmt.Sprintf("escrow_positions_g%d", gen)
	p := &Postgres{PGGeneration: generation, pool: pool, reader: reader, table: pgx.Identifier{schema, name}.Sanitize(),
		positions: pgx.Identifier{schema, positions}.Sanitize()}
	err = pgschema.Create(ctx, pool, schema, `CREATE TABLE IF NOT EXISTS `+p.table+` (
    contract_id   text COLLATE "C" PRIMARY KEY,
    invoice_id    text NOT NULL,
    status        text NOT NULL,
    sme           text COLLATE "C" NOT NULL,
    funding_token text COLLATE "C" NOT NULL,
    state         json NOT NULL
);
CREATE INDEX IF NOT EXISTS `+name+`_invoice ON `+p.table+` (invoice_id, contract_id);
CREATE TABLE IF NOT EXISTS `+p.positions+` (
    investor    text COLLATE "C" NOT NULL,
    contract_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (investor, contract_id)
)`)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", p.table, err)
	}
	return p, nil
}

// Wants is Folded: the runner decodes no other event for this projection.
func (p *Postgres) Wants(rec *eventstore.Recorded) bool { return Folded(rec) }

// Apply folds a batch onto the escrows it touches, read in its transaction, and writes them with the checkpoint.
func (p *Postgres) Apply(ctx context.Context, batch []projections.Event) error {
	return p.ApplyBatch(ctx, batch, func(tx pgx.Tx) error {
		changed := map[domain.Address]liquifact.Escrow{}
		for _, ev := range batch {
			if ev.Domain == nil || !Folded(&ev.Recorded) {
				continue
			}
			contract, ok := contractOf(ev.Domain)
			if !ok {
				continue
			}
			if domain.IsCompensation(ev.Domain) {
				e, err := Replay(ctx, p.reader, contract, ev.Position)
				if err != nil {
					return err
				}
				changed[contract] = e
				continue
			}
			current, ok := changed[contract]
			if !ok {
				var err error
				if current, _, err = p.get(ctx, tx, contract); err != nil {
					return err
				}
			}
			changed[contract] = liquifact.Apply(current, ev.ID, ev.Domain)
		}
		return p.write(ctx, tx, changed)
	})
}

func (p *Postgres) write(ctx context.Context, tx pgx.Tx, changed map[domain.Address]liquifact.Escrow) error {
	for c, e := range changed {
		if _, err := tx.Exec(ctx, `DELETE FROM `+p.positions+` WHERE contract_id = $1`, string(c)); err != nil {
			return fmt.Errorf("write escrow %s: %w", c, err)
		}
		if e.Version == 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM `+p.table+` WHERE contract_id = $1`, string(c)); err != nil {
				return fmt.Errorf("write escrow %s: %w", c, err)
			}
			continue
		}
		state, err := json.Marshal(&e)
		if err != nil {
			return fmt.Errorf("encode escrow %s: %w", c, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+p.table+` (contract_id, invoice_id, status, sme, funding_token, state)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (contract_id) DO UPDATE SET invoice_id = excluded.invoice_id,
    status = excluded.status, sme = excluded.sme, funding_token = excluded.funding_token, state = excluded.state`,
			string(c), e.InvoiceID, e.Status.String(), string(e.Sme), string(e.FundingToken), string(state)); err != nil {
			return fmt.Errorf("write escrow %s: %w", c, err)
		}
		investors := make([]string, len(e.Positions))
		for i, pos := range e.Positions {
			investors[i] = string(pos.Investor)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+p.positions+` (investor, contract_id) SELECT unnest($1::text[]), $2`,
			investors, string(c)); err != nil {
			return fmt.Errorf("write escrow %s positions: %w", c, err)
		}
	}
	return nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (p *Postgres) get(ctx context.Context, q querier, c domain.Address) (liquifact.Escrow, bool, error) {
	list, err := p.query(ctx, q, `SELECT state FROM `+p.table+` WHERE contract_id = $1`, string(c))
	if err != nil || len(list) == 0 {
		return liquifact.Escrow{}, false, err
	}
	return list[0], true, nil
}

func (p *Postgres) query(ctx context.Context, q querier, sql string, args ...any) ([]liquifact.Escrow, error) {
	rows, _ := q.Query(ctx, sql, args...)
	var out []liquifact.Escrow
	var raw []byte
	_, err := pgx.ForEachRow(rows, []any{&raw}, func() error {
		var e liquifact.Escrow
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("stored escrow: %w", err)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p.table, err)
	}
	return out, nil
}

// Get is one escrow by contract.
func (p *Postgres) Get(ctx context.Context, c domain.Address) (liquifact.Escrow, bool, error) {
	return p.get(ctx, p.pool, c)
}

// ByInvoice is the escrow of an invoice id (the first by contract if two share one).
func (p *Postgres) ByInvoice(ctx context.Context, id string) (liquifact.Escrow, bool, error) {
	list, err := p.query(ctx, p.pool, `SELECT state FROM `+p.table+` WHERE invoice_id = $1 ORDER BY contract_id LIMIT 1`, id)
	if err != nil || len(list) == 0 {
		return liquifact.Escrow{}, false, err
	}
	return list[0], true, nil
}

// List is a page of the escrows f selects, in contract order.
func (p *Postgres) List(ctx context.Context, f Filter, pg Page) ([]liquifact.Escrow, bool, error) {
	status := ""
	if f.Status != nil {
		status = f.Status.String()
	}
	list, err := p.query(ctx, p.pool, `SELECT e.state FROM `+p.table+` e
WHERE e.contract_id > $1 AND ($2 = '' OR e.status = $2) AND ($3 = '' OR e.sme = $3) AND ($4 = '' OR e.funding_token = $4)
  AND ($5 = '' OR EXISTS (SELECT FROM `+p.positions+` x WHERE x.investor = $5 AND x.contract_id = e.contract_id))
ORDER BY e.contract_id LIMIT $6`, string(pg.After), status, string(f.Sme), string(f.FundingToken), string(f.Investor), pg.Limit+1)
	if err != nil {
		return nil, false, err
	}
	if len(list) > pg.Limit {
		return list[:pg.Limit], true, nil
	}
	return list, false, nil
}

// Positions are an investor's positions, by escrow contract.
func (p *Postgres) Positions(ctx context.Context, investor domain.Address) ([]Holding, error) {
	list, err := p.query(ctx, p.pool, `SELECT e.state FROM `+p.positions+` x JOIN `+p.table+` e USING (contract_id)
WHERE x.investor = $1 ORDER BY e.contract_id`, string(investor))
	if err != nil {
		return nil, err
	}
	out := make([]Holding, 0, len(list))
	for _, e := range list {
		if pos, ok := e.Position(investor); ok {
			out = append(out, Holding{Escrow: e, Position: pos})
		}
	}
	return out, nil
}

// StateHash digests every escrow in contract order, as the memory read model does.
func (p *Postgres) StateHash(ctx context.Context) (string, error) {
	list, err := p.query(ctx, p.pool, `SELECT state FROM `+p.table+` ORDER BY contract_id`)
	if err != nil {
		return "", err
	}
	return hashOf(list), nil
}
