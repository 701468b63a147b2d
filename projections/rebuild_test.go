package projections_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/postgres"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/audit"
	"github.com/streamledger/streamledger/projections/outbox"
	"github.com/streamledger/streamledger/projections/streams"
)

func TestRebuildSwitchesOnlyWhenEqual(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	ctx := context.Background()
	store, err := postgres.Open(ctx, url, postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	registerEndpoints(t, store)
	simtest.Ingest(t, sim.Config{Seed: 12, Streams: 6, TxPerLedger: 3, Ledgers: 60, Reorgs: true, ReorgEvery: 9, ReorgDepth: 2}, 2, store)
	pool := store.Pool()
	cps, err := projections.NewPGCheckpoints(ctx, pool, schema)
	if err != nil {
		t.Fatal(err)
	}
	opens := map[string]func(ctx context.Context, gen int) (projections.Hashed, error){
		streams.Name: func(ctx context.Context, gen int) (projections.Hashed, error) {
			return streams.OpenPostgres(ctx, pool, schema, gen, store)
		},
		audit.Name: func(ctx context.Context, gen int) (projections.Hashed, error) {
			return audit.OpenPostgres(ctx, pool, schema, gen, streams.AuditFoldsOn(store))
		},
		outbox.Name: func(ctx context.Context, gen int) (projections.Hashed, error) {
			return outbox.OpenPostgres(ctx, pool, schema, gen, 2)
		},
	}
	for name, open := range opens {
		t.Run(name, func(t *testing.T) {
			live, err := cps.Live(ctx, pool, name)
			if err != nil || live != 1 {
				t.Fatalf("live generation %d, %v", live, err)
			}
			p, err := open(ctx, live)
			if err != nil {
				t.Fatal(err)
			}
			// The live generation is only half way: the rebuild brings it along before comparing.
			r := runner(t, store, p, 50)
			if err := r.CatchUpTo(ctx, 100); err != nil {
				t.Fatal(err)
			}
			var progressed int
			res, err := projections.Rebuild{Codec: fluxora.NewCodec(), Name: name, Store: store, Pool: pool, Checkpoints: cps, Open: open, BatchSize: 64,
				Progress: func(projections.Progress) { progressed++ }}.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			head, _ := store.Head(ctx)
			if res.From != 1 || res.To != 2 || res.Position != head || res.Hash == "" || progressed == 0 {
				t.Fatalf("result %+v, progress calls %d", res, progressed)
			}
			if live, _ := cps.Live(ctx, pool, name); live != 2 {
				t.Fatalf("live generation %d after the rebuild", live)
			}
			// The retired generation refuses further batches: its runner stops instead of diverging.
			data, _ := domain.Marshal(&domain.WebhookEndpointRemoved{EndpointID: "nobody-" + name})
			if _, err := store.Append(ctx, domain.WebhookEndpointsStream, eventstore.Any, eventstore.NewEvent{
				ID: domain.DerivedEventUUID("test", name), Type: string(domain.TypeWebhookEndpointRemoved), Data: data}); err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := runner(t, store, p, 50).Run(rctx); !errors.Is(err, projections.ErrRetired) {
				t.Fatalf("runner on the retired generation: %v", err)
			}
		})
	}

	// A live projection that is wrong is caught: nothing is switched.
	table := pgx.Identifier{schema, "streams_g2"}.Sanitize()
	if _, err := pool.Exec(ctx, "UPDATE "+table+" SET state = (SELECT state FROM "+table+" ORDER BY contract_id DESC, stream_id DESC LIMIT 1)"+
		" WHERE (contract_id, stream_id) = (SELECT contract_id, stream_id FROM "+table+" ORDER BY contract_id, stream_id LIMIT 1)"); err != nil {
		t.Fatal(err)
	}
	_, err = projections.Rebuild{Codec: fluxora.NewCodec(), Name: streams.Name, Store: store, Pool: pool, Checkpoints: cps, Open: opens[streams.Name]}.Run(ctx)
	if !errors.Is(err, projections.ErrRebuildDiffers) {
		t.Fatalf("a corrupted live projection: %v", err)
	}
	if live, _ := cps.Live(ctx, pool, streams.Name); live != 2 {
		t.Fatalf("live generation %d after a failed rebuild", live)
	}
}
