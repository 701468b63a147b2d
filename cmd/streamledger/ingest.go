package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/domain"
	api "github.com/streamledger/streamledger/http"
	"github.com/streamledger/streamledger/internal/config"
	"github.com/streamledger/streamledger/internal/pgschema"
)

// simTxPerLedger is the simulator's mean number of contract calls per ledger in serve: a lively demo that a
// laptop follows without effort.
const simTxPerLedger = 3

// newIngester builds the configured ledger source and the ingester over store. With --source push there is no
// source to pull from: the ingester only takes pushed batches.
// source is the ingestion side of serve: the ingester, the contracts it follows and a readiness check of its source.
type source struct {
	ingester  *chain.Ingester
	contracts []domain.Address
	check     api.Check
}

func newIngester(ctx context.Context, cfg *config.Config, store chain.Store, reg prometheus.Registerer, log *slog.Logger) (*source, error) {
	metrics, err := chain.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	src := &source{check: api.Check{Name: "source", Check: func(context.Context) error { return nil }}}
	contracts := cfg.ContractIDs
	ic := chain.Config{Store: store, StartLedger: cfg.StartLedger, SafetyMargin: cfg.SafetyMargin, Metrics: metrics,
		Logger: log.With("component", "ingest")}
	switch cfg.Source {
	case config.SourceSim:
		simCfg := sim.Config{Seed: cfg.SimSeed, NetworkPassphrase: cfg.NetworkPassphrase, Streams: cfg.SimStreams,
			TxPerLedger: simTxPerLedger, LedgerInterval: cfg.SimLedgerInterval, Reorgs: cfg.SimReorgs,
			ReorgEvery: cfg.SimReorgEvery, ReorgDepth: cfg.SimReorgDepth, DeepReorgAt: cfg.SimDeepReorgAt,
			DeepReorgDepth: cfg.SafetyMargin + 2}
		if cfg.SimLedgerInterval >= time.Second {
			// Paced by the wall clock: close times follow it from an epoch kept with the data, so that the API's
			// "now" means something and a restart finds the network where it would have been.
			epoch, err := simEpoch(ctx, cfg, store)
			if err != nil {
				return nil, err
			}
			simCfg.Epoch, simCfg.Genesis, simCfg.ChainSpacing = epoch, epoch, cfg.SimLedgerInterval
		}
		if cfg.SimLedgers > 0 {
			// SIM_LEDGERS=N stops after ledger N; the chain starts at ledger 2.
			if cfg.SimLedgers < 2 {
				return nil, fmt.Errorf("%w: --sim-ledgers / SIM_LEDGERS = %d: the simulated chain starts at ledger 2", errUsage, cfg.SimLedgers)
			}
			simCfg.Ledgers = cfg.SimLedgers - 1
		}
		network, err := sim.New(simCfg)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		contracts = []domain.Address{network.ContractID()}
		if ic.StartLedger == 0 {
			ic.StartLedger = network.StartLedger()
		}
		ic.Open = func() (ledgerbackend.LedgerBackend, error) { return network.Backend(), nil }
		log.Info("simulated network", "contract", network.ContractID(), "seed", cfg.SimSeed, "streams", cfg.SimStreams,
			"reorgs", cfg.SimReorgs, "lastLedger", network.LastLedger())
	case config.SourceRPC:
		rpc, err := chain.NewRPCSource(cfg.RPCURL, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: --rpc-url / RPC_URL: %v", errUsage, err)
		}
		ic.Open = rpc.Open
		src.check.Check = func(ctx context.Context) error { _, err := rpc.Latest(ctx); return err }
	}
	ic.Decoder, err = chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: cfg.NetworkPassphrase, Contracts: contracts,
		OnDecodeError: metrics.DecodeError})
	if err != nil {
		return nil, err
	}
	if src.ingester, err = chain.NewIngester(ic); err != nil {
		return nil, err
	}
	src.contracts = contracts
	return src, nil
}

// runIngestion pulls ledgers until ctx ends. A halt is logged and kept in the ingester's status; serve keeps
// running (reads stay available) until an operator acts.
func runIngestion(ctx context.Context, in *chain.Ingester, source string, log *slog.Logger) {
	if source == config.SourcePush {
		log.Info("ingestion waits for pushed ledgers (POST /internal/ingest/ledgers)")
		return
	}
	err := in.Run(ctx)
	switch {
	case errors.Is(err, chain.ErrHalted):
		log.Error("ingestion halted; serving reads until an operator acts", "err", err)
	case err != nil:
		log.Error("ingestion stopped", "err", err)
	}
}

// simEpoch is the simulated network's epoch, chosen at the first start and kept with the data: in the data
// directory (embedded store) or in the database.
func simEpoch(ctx context.Context, cfg *config.Config, store chain.Store) (time.Time, error) {
	now := time.Now().UTC().Truncate(time.Second)
	if pg, ok := store.(pgBacked); ok {
		table := pgx.Identifier{readModelSchema, "sim_epoch"}.Sanitize()
		if err := pgschema.Create(ctx, pg.Pool(), readModelSchema, `CREATE TABLE IF NOT EXISTS `+table+` (one bool PRIMARY KEY DEFAULT true CHECK (one), epoch timestamptz NOT NULL);
INSERT INTO `+table+` (epoch) VALUES ('`+now.Format(time.RFC3339)+`') ON CONFLICT DO NOTHING`); err != nil {
			return time.Time{}, fmt.Errorf("simulator epoch: %w", err)
		}
		var epoch time.Time
		if err := pg.Pool().QueryRow(ctx, `SELECT epoch FROM `+table).Scan(&epoch); err != nil {
			return time.Time{}, fmt.Errorf("simulator epoch: %w", err)
		}
		return epoch.UTC(), nil
	}
	path := filepath.Join(cfg.DataDir, "sim-epoch")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(path, []byte(now.Format(time.RFC3339)+"\n"), 0o644); err != nil {
			return time.Time{}, fmt.Errorf("simulator epoch: %w", err)
		}
		return now, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("simulator epoch: %w", err)
	}
	epoch, err := time.Parse(time.RFC3339, strings.TrimSpace(string(raw)))
	if err != nil {
		return time.Time{}, fmt.Errorf("simulator epoch in %s: %w", path, err)
	}
	return epoch, nil
}
