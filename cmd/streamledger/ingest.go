package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/lake"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/liquifact/liquifactsim"
	"github.com/streamledger/streamledger/domain"
	api "github.com/streamledger/streamledger/http"
	"github.com/streamledger/streamledger/internal/config"
	"github.com/streamledger/streamledger/internal/pgschema"
	"github.com/streamledger/streamledger/projections/reconcile"
)

// simTxPerLedger is the simulator's mean number of contract calls per ledger in serve: a lively demo that a
// laptop follows without effort.
const simTxPerLedger = 3

// newIngester builds the configured ledger source and the ingester over store. With --source push there is no
// source to pull from: the ingester only takes pushed batches.
// source is the ingestion side of serve: the ingester, the contracts it follows and a readiness check of its source.
type source struct {
	ingester  *chain.Ingester
	contracts []domain.Address // the stream contracts (fluxora)
	followed  []domain.Address // every followed contract
	// bound are the contracts with their modules: the decoder's, and the interpreter of what is stored.
	bound *chain.Contracts
	check api.Check
	// entries reads the contracts' storage for reconciliation (the simulator's escrows, or RPC_URL's first
	// endpoint); nil when neither is there.
	entries reconcile.Source
	// close releases the source (a data lake's datastore); never nil.
	close func()
}

func newIngester(ctx context.Context, cfg *config.Config, store chain.Store, reg prometheus.Registerer, log *slog.Logger) (*source, error) {
	metrics, err := chain.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	src := &source{check: api.Check{Name: "source", Check: func(context.Context) error { return nil }}, close: func() {}}
	contracts, streamContracts := cfg.Contracts, cfg.ContractIDs
	ic := chain.Config{Store: store, StartLedger: cfg.StartLedger, SafetyMargin: cfg.SafetyMargin, Metrics: metrics,
		Logger: log.With("component", "ingest")}
	switch cfg.Source {
	case config.SourceSim:
		simCfg, err := simConfig(cfg)
		if err != nil {
			return nil, err
		}
		if cfg.SimLedgerInterval >= time.Second {
			// Paced by the wall clock: close times follow it from an epoch kept with the data, so that the API's
			// "now" means something and a restart finds the network where it would have been.
			epoch, err := simEpoch(ctx, cfg, store)
			if err != nil {
				return nil, err
			}
			simCfg.Epoch, simCfg.Genesis, simCfg.ChainSpacing = epoch, epoch, cfg.SimLedgerInterval
		}
		var escrowSim *liquifactsim.Scenario
		if cfg.SimEscrows > 0 {
			if escrowSim, err = liquifactsim.New(cfg.SimSeed, cfg.SimEscrows); err != nil {
				return nil, fmt.Errorf("%w: %v", errUsage, err)
			}
			simCfg.Scenarios = []sim.Scenario{escrowSim}
		}
		network, err := sim.New(simCfg)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		// The simulator brings its own stream contract, and its escrows; it serves their storage for reconciliation.
		src.entries = network
		contracts = []config.Contract{{Module: config.ModuleFluxora, ID: network.ContractID()}}
		if escrowSim != nil {
			// The escrows are followed as a deployment would: every instance of the escrow executable, discovered.
			wasm := escrowSim.WasmHash()
			contracts = append(contracts, config.Contract{Module: config.ModuleLiquiFact, WasmHash: hex.EncodeToString(wasm[:])})
		}
		streamContracts = []domain.Address{network.ContractID()}
		if ic.StartLedger == 0 {
			ic.StartLedger = network.StartLedger()
		}
		ic.Open = func() (ledgerbackend.LedgerBackend, error) { return network.Backend(), nil }
		log.Info("simulated network", "contract", network.ContractID(), "seed", cfg.SimSeed, "streams", cfg.SimStreams, "escrows", cfg.SimEscrows,
			"reorgs", cfg.SimReorgs, "flips", cfg.SimFlips, "lastLedger", network.LastLedger())
	case config.SourceRPC:
		if err := openEndpoints(ctx, cfg, &ic, src, metrics); err != nil {
			return nil, err
		}
	case config.SourceLake:
		if err := openLake(ctx, cfg, &ic, src, log); err != nil {
			return nil, err
		}
	}
	if len(cfg.RPCURLs) > 0 && cfg.Source != config.SourceSim {
		rpc, err := chain.NewRPCSource(cfg.RPCURLs[0], nil)
		if err != nil {
			return nil, fmt.Errorf("%w: --rpc-url / RPC_URL: %v", errUsage, err)
		}
		src.entries = rpc
	}
	if src.bound, err = bindContracts(contracts); err != nil {
		return nil, err
	}
	ic.Decoder, err = chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: cfg.NetworkPassphrase, Contracts: src.bound,
		OnDecodeError: metrics.DecodeError})
	if err != nil {
		return nil, err
	}
	if src.ingester, err = chain.NewIngester(ic); err != nil {
		return nil, err
	}
	src.contracts = streamContracts
	for _, c := range contracts {
		src.followed = append(src.followed, c.ID)
	}
	return src, nil
}

// openEndpoints makes RPC_URL's endpoints the ingester's RPC source, after checking that each serves the network of
// NETWORK_PASSPHRASE: one of another network refuses the start, naming both.
func openEndpoints(ctx context.Context, cfg *config.Config, ic *chain.Config, src *source, metrics *chain.Metrics) error {
	eps, err := chain.NewEndpoints(cfg.RPCURLs, chain.EndpointsConfig{MaxLag: cfg.RPCMaxLag, Metrics: metrics})
	if err != nil {
		return fmt.Errorf("%w: --rpc-url / RPC_URL: %v", errUsage, err)
	}
	if err := eps.CheckNetwork(ctx, cfg.NetworkPassphrase); err != nil {
		eps.Close()
		if errors.Is(err, chain.ErrNetworkMismatch) {
			return fmt.Errorf("%w: --rpc-url / RPC_URL and --network-passphrase / NETWORK_PASSPHRASE disagree: %v", errUsage, err)
		}
		return fmt.Errorf("--rpc-url / RPC_URL: %w", err)
	}
	ic.Endpoints = eps
	src.check.Check = func(ctx context.Context) error { _, err := eps.Latest(ctx); return err }
	closeBefore := src.close
	src.close = func() { closeBefore(); eps.Close() }
	return nil
}

// simConfig is the simulated network of the SIM_* settings (the clock-paced epoch aside).
func simConfig(cfg *config.Config) (sim.Config, error) {
	simCfg := sim.Config{Seed: cfg.SimSeed, NetworkPassphrase: cfg.NetworkPassphrase, Streams: cfg.SimStreams,
		TxPerLedger: simTxPerLedger, LedgerInterval: cfg.SimLedgerInterval, Reorgs: cfg.SimReorgs, Flips: cfg.SimFlips,
		ReorgEvery: cfg.SimReorgEvery, ReorgDepth: cfg.SimReorgDepth, DeepReorgAt: cfg.SimDeepReorgAt,
		DeepReorgDepth: cfg.SafetyMargin + 2}
	if cfg.SimLedgers > 0 {
		// SIM_LEDGERS=N stops after ledger N; the chain starts at ledger 2.
		if cfg.SimLedgers < 2 {
			return sim.Config{}, fmt.Errorf("%w: --sim-ledgers / SIM_LEDGERS = %d: the simulated chain starts at ledger 2", errUsage, cfg.SimLedgers)
		}
		simCfg.Ledgers = cfg.SimLedgers - 1
	}
	return simCfg, nil
}

// openLake opens the data lake of LAKE_URL and makes it the ingester's source from START_LEDGER (default: the lake's
// first) to END_LEDGER (default: its last), handing over to RPC_URL after it when that is set (DESIGN §13).
func openLake(ctx context.Context, cfg *config.Config, ic *chain.Config, src *source, log *slog.Logger) error {
	l, err := lake.Open(ctx, cfg.LakeURL, cfg.NetworkPassphrase)
	if errors.Is(err, lake.ErrNetwork) {
		return fmt.Errorf("%w: --lake-url / LAKE_URL and --network-passphrase / NETWORK_PASSPHRASE disagree: %v", errUsage, err)
	}
	if err != nil {
		return fmt.Errorf("--lake-url / LAKE_URL: %w", err)
	}
	start, end := cfg.StartLedger, cfg.EndLedger
	if start == 0 {
		start = l.First()
	}
	if end == 0 {
		end = l.Last()
	}
	switch {
	case start < l.First() || start > l.Last():
		l.Close()
		return fmt.Errorf("%w: --start-ledger / START_LEDGER = %d: the lake holds ledgers %d..%d", errUsage, start, l.First(), l.Last())
	case end < start || end > l.Last():
		l.Close()
		return fmt.Errorf("%w: --end-ledger / END_LEDGER = %d: the lake holds ledgers %d..%d (from ledger %d)", errUsage, end, l.First(), l.Last(), start)
	}
	ic.StartLedger, ic.Target, ic.ReaderEnd = start, end, end
	ic.OpenReader = func(_ context.Context, from uint32) (chain.LedgerReader, error) {
		return l.Reader(ic.Decoder, from, end, runtime.GOMAXPROCS(0))
	}
	src.close = func() { l.Close() }
	if len(cfg.RPCURLs) > 0 {
		if err := openEndpoints(ctx, cfg, ic, src, ic.Metrics); err != nil {
			l.Close()
			return err
		}
	}
	log.Info("data lake", "lake", cfg.LakeURL, "holds", fmt.Sprintf("%d..%d", l.First(), l.Last()), "from", start, "to", end,
		"then", map[bool]string{true: "rpc", false: "serve reads"}[cfg.RPCURL != ""])
	return nil
}

// runIngestion pulls ledgers until ctx ends. A halt is logged and kept in the ingester's status; serve keeps
// running (reads stay available) until an operator acts. A backfill reports its progress meanwhile.
func runIngestion(ctx context.Context, in *chain.Ingester, source string, term io.Writer, log *slog.Logger) {
	if source == config.SourcePush {
		log.Info("ingestion waits for pushed ledgers (POST /internal/ingest/ledgers)")
		return
	}
	reportCtx, stopReporting := context.WithCancel(ctx)
	var reporter sync.WaitGroup
	if st := in.Status(); st.TargetLedger > 0 {
		reporter.Go(func() { reportBackfill(reportCtx, in.Status, term, log, time.Now, 200*time.Millisecond) })
	}
	defer reporter.Wait()
	defer stopReporting()
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
