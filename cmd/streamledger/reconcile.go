package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/http/streamsapi"
	"github.com/streamledger/streamledger/internal/config"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/escrows"
	"github.com/streamledger/streamledger/projections/reconcile"
	"github.com/streamledger/streamledger/projections/streams"
)

// reconcileTargets are the bound contracts whose module has a reconciliation hook: the stream contracts (their
// streams listed by ids) and the LiquiFact escrows, configured or discovered.
func reconcileTargets(bound *chain.Contracts, store eventstore.Store, ids func(context.Context, domain.Address) ([]uint64, error)) []reconcile.Target {
	var out []reconcile.Target
	for _, b := range append(bound.Bindings(), bound.Discovered()...) {
		switch b.Module.Name() {
		case config.ModuleLiquiFact:
			out = append(out, reconcile.Target{Contract: b.Contract, Module: b.Module.Name(), Hook: escrows.Reconcile{Log: store}})
		case config.ModuleFluxora:
			out = append(out, reconcile.Target{Contract: b.Contract, Module: b.Module.Name(), Hook: streams.Reconcile{Log: store, IDs: ids}})
		}
	}
	return out
}

// streamIDs lists a contract's streams from a stream read model, page by page.
func streamIDs(r streamsapi.StreamReader) func(context.Context, domain.Address) ([]uint64, error) {
	return func(ctx context.Context, c domain.Address) ([]uint64, error) {
		var out []uint64
		page := streams.Page{Limit: 1000}
		for {
			list, more, err := r.List(ctx, streams.Filter{ContractID: c}, page)
			if err != nil {
				return nil, err
			}
			for _, s := range list {
				out = append(out, s.StreamID)
			}
			if !more || len(list) == 0 {
				return out, nil
			}
			page.After = list[len(list)-1].Ref()
		}
	}
}

// startReconciling runs reconciliation every RECONCILE_EVERY while this serve leads (DESIGN §15). Without contracts
// to reconcile it does nothing; with some but no storage to read (no RPC_URL, no simulator) it refuses to start.
func startReconciling(ctx context.Context, wg *sync.WaitGroup, cfg *config.Config, store eventstore.Store, src *source,
	rm *readModels, lead leadership, reg prometheus.Registerer, log *slog.Logger) error {
	if cfg.ReconcileEvery == 0 {
		return nil
	}
	targets := func() []reconcile.Target { return reconcileTargets(src.bound, store, streamIDs(rm.streams)) }
	if len(targets()) == 0 && !src.bound.HasWasm() {
		return nil
	}
	if src.entries == nil {
		if !cfg.ReconcileEveryGiven {
			log.Warn("reconciliation is off: it reads the contracts' storage through RPC, and RPC_URL is not set")
			return nil
		}
		return fmt.Errorf("%w: --reconcile-every / RECONCILE_EVERY: reconciliation reads the contracts' storage through RPC: set RPC_URL, or RECONCILE_EVERY=0", errUsage)
	}
	metrics, err := reconcile.NewMetrics(reg)
	if err != nil {
		return err
	}
	r := &reconcile.Runner{Source: src.entries, Found: targets, Log: store, Metrics: metrics, Logger: log,
		Tip: func() uint32 { return src.ingester.Status().Tip }}
	wg.Go(func() {
		lead.Do(ctx, func(ctx context.Context) {
			tick := time.NewTicker(cfg.ReconcileEvery)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					if _, _, err := r.Run(ctx); err != nil && ctx.Err() == nil {
						log.Warn("reconciliation run failed", "err", err)
					}
				}
			}
		}, nil)
	})
	return nil
}

// runReconcile reconciles once: the contracts of CONTRACTS whose module reconciles, their storage read through
// RPC_URL, against the projections folded from the store; it prints the run and its drifts as JSON.
func runReconcile(ctx context.Context, env *runEnv, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: reconcile takes no arguments, got %q", errUsage, args)
	}
	if len(env.cfg.RPCURLs) == 0 {
		return fmt.Errorf("%w: reconcile reads the contracts' storage through RPC: set --rpc-url / RPC_URL (with the simulator, serve reconciles every RECONCILE_EVERY)", errUsage)
	}
	if len(env.cfg.Contracts) == 0 {
		return fmt.Errorf("%w: reconcile needs --contracts / CONTRACTS (e.g. liquifact:C…)", errUsage)
	}
	bound, err := bindContracts(env.cfg.Contracts)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer store.Close()
	// The streams of the stream contracts are listed from a stream read model folded here from the log.
	folded := streams.NewMemory(store)
	codec, err := codecOf(env.cfg)
	if err != nil {
		return err
	}
	runner, err := projections.NewRunner(projections.RunnerConfig{Store: store, Projection: folded, BatchSize: 5000, Codec: codec})
	if err != nil {
		return err
	}
	if err := runner.CatchUp(ctx); err != nil {
		return fmt.Errorf("fold the streams: %w", err)
	}
	targets := reconcileTargets(bound, store, streamIDs(folded.Reader()))
	if len(targets) == 0 {
		return fmt.Errorf("%w: --contracts / CONTRACTS: no contract there has a reconciliation hook (fluxora:C…, liquifact:C…)", errUsage)
	}
	rpc, err := chain.NewRPCSource(env.cfg.RPCURLs[0], nil)
	if err != nil {
		return fmt.Errorf("%w: --rpc-url / RPC_URL: %v", errUsage, err)
	}
	r := &reconcile.Runner{Source: rpc, Targets: targets, Log: store, Logger: env.log}
	run, drifts, runErr := r.Run(ctx)
	out, err := json.MarshalIndent(map[string]any{"run": run, "drifts": drifts}, "", "  ")
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(env.stdout, string(out)); err != nil {
		return err
	}
	return runErr
}
