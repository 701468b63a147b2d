package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	api "github.com/streamledger/streamledger/http"
	"github.com/streamledger/streamledger/http/escrowsapi"
	"github.com/streamledger/streamledger/http/streamsapi"
	"github.com/streamledger/streamledger/internal/config"
	"github.com/streamledger/streamledger/internal/leader"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/audit"
	"github.com/streamledger/streamledger/projections/escrows"
	"github.com/streamledger/streamledger/projections/reconcile"
	"github.com/streamledger/streamledger/projections/streams"
	"github.com/streamledger/streamledger/webhooks"
)

// runServe opens the configured event store (migrating PostgreSQL at start), ingests from the configured source
// and runs until SIGINT or SIGTERM. Projections and the API attach here as they are built.
func runServe(ctx context.Context, env *runEnv, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: serve takes no arguments, got %q", errUsage, args)
	}
	env.log.LogAttrs(ctx, slog.LevelInfo, "starting", append([]slog.Attr{slog.String("version", version)}, env.summ...)...)
	store, err := openStore(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer store.Close()
	head, err := store.Head(ctx)
	if err != nil {
		return fmt.Errorf("read the event store head: %w", err)
	}
	env.log.Info("event store ready", "store", env.cfg.Store, "head", uint64(head))
	reg := prometheus.NewRegistry()
	stoppedWhileStarting := func(err error) error {
		if ctx.Err() != nil { // a signal during start is a stop, not a failure
			env.log.Info("stopping", "reason", context.Cause(ctx).Error())
			return nil
		}
		return err
	}
	src, err := newIngester(ctx, env.cfg, store, reg, env.log)
	if err != nil {
		return stoppedWhileStarting(err)
	}
	defer src.close()
	in := src.ingester
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, stop := context.WithCancel(ctx) // a failure after this point stops what started before it
	defer stop()
	lead, role, err := elect(ctx, &wg, store, reg, env.log.With("component", "leader"))
	if err != nil {
		return stoppedWhileStarting(err)
	}
	rm, err := startReadModels(ctx, &wg, env.cfg, store, src.bound, reg, lead, env.log)
	if err != nil {
		return stoppedWhileStarting(err)
	}
	defer func() { // whichever way serve ends: stop what runs, then remove the read models' scratch files
		stop()
		wg.Wait()
		if err := rm.close(); err != nil {
			env.log.Warn("remove the read models' scratch files", "err", err)
		}
	}()
	hooks, err := startWebhooks(ctx, &wg, env.cfg, store, rm, src.bound, lead, reg, env.log.With("component", "webhooks"))
	if err != nil {
		return stoppedWhileStarting(err)
	}
	wg.Go(func() {
		lead.Do(ctx, func(ctx context.Context) { runIngestion(ctx, in, env.cfg.Source, terminal(env.stderr), env.log) },
			func(ctx context.Context) { in.Observe(ctx, leader.DefaultInterval) })
	})
	witnessed, err := startWitnessing(ctx, &wg, env.cfg, store, rm, lead, env.log.With("component", "witness"))
	if err != nil {
		return stoppedWhileStarting(err)
	}
	if err := startReconciling(ctx, &wg, env.cfg, store, src, rm, lead, reg, env.log.With("component", "reconcile")); err != nil {
		return stoppedWhileStarting(err)
	}

	escrowRoutes := escrowsapi.New(escrowsapi.Config{Escrows: rm.escrows, Events: store, Decimals: env.cfg.TokenDecimals})
	streamRoutes := streamsapi.New(streamsapi.Config{Contracts: src.contracts, Followed: src.followed, Streams: rm.streams,
		Events: store, Ledgers: rm.ledgers, Codec: src.bound})
	apiCfg := api.Config{Version: version, NetworkPassphrase: env.cfg.NetworkPassphrase, Contracts: src.contracts,
		Modules: []api.Module{streamRoutes, escrowRoutes}, Feeds: []api.Feed{streamRoutes.Feed(time.Now), escrowRoutes.Feed()},
		PublicReads: env.cfg.PublicReads, MetricsToken: env.cfg.MetricsToken, Logger: env.log.With("component", "http"),
		Gatherer: reg, Ledgers: rm.ledgers, SafetyMargin: env.cfg.SafetyMargin, Events: store, CursorSecret: []byte(env.cfg.CursorSecret), Ingestion: in.Status,
		Role: role, Projections: rm.status, ProjectionNames: projectionNames, Rebuild: rm.rebuild, Live: store, Codec: src.bound,
		WSAuthRequired: env.cfg.WSAuthRequired, WSOrigins: env.cfg.WSOrigins, Webhooks: hooks,
		ReconciliationRuns: func(ctx context.Context, limit int) ([]domain.ReconciliationRan, error) {
			return reconcile.Runs(ctx, store, limit)
		},
		Audit: api.AuditConfig{Log: rm.audit, Signer: rm.auditSigner, VerifierKey: rm.auditVerify, Witnessed: witnessed},
		Checks: append([]api.Check{{Name: "eventStore", Check: func(ctx context.Context) error { _, err := store.Head(ctx); return err }},
			src.check}, rm.checks...)}
	apiCfg.RateLimit, apiCfg.TrustedProxies = env.cfg.RateLimit, env.cfg.TrustedProxies
	if env.cfg.RateLimit == 0 {
		apiCfg.RateLimit = -1 // RATE_LIMIT=0 turns the limit off; the API's zero is its default
	}
	for _, k := range env.cfg.APIKeys {
		apiCfg.APIKeys = append(apiCfg.APIKeys, api.APIKey{Key: k.Key, ClientID: k.ClientID, Scopes: k.Scopes})
	}
	if env.cfg.Source == config.SourcePush {
		apiCfg.Push, apiCfg.PushBatch = in.Push, in.PushBatch
	}
	server := api.New(apiCfg)
	ln, err := net.Listen("tcp", env.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on --listen-addr / LISTEN_ADDR %s: %w", env.cfg.ListenAddr, err)
	}
	env.log.Info("serving HTTP", "addr", ln.Addr().String())
	served := make(chan error, 1)
	go func() { served <- server.App().Listener(ln) }()
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("HTTP server: %w", err)
	}
	env.log.Info("stopping", "reason", context.Cause(ctx).Error())
	if err := server.Shutdown(10 * time.Second); err != nil {
		env.log.Warn("HTTP shutdown", "err", err)
	}
	ln.Close() // a shutdown that came before the server started serving would not stop it: closing its listener does
	<-served
	wg.Wait()
	st := in.Status()
	env.log.Info("ingestion stopped", "status", st.Health, "tip", st.Tip, "lastSafeLedger", st.LastSafeLedger, "reorgs", st.Reorgs)
	return nil
}

// startReadModels starts the projections: in memory, rebuilt from the log, with the embedded store; in
// PostgreSQL otherwise.
func startReadModels(ctx context.Context, wg *sync.WaitGroup, cfg *config.Config, store eventstore.Store,
	in projections.Codec, reg prometheus.Registerer, lead leadership, log *slog.Logger) (*readModels, error) {
	pg, ok := store.(pgBacked)
	if !ok {
		return startMemoryReadModels(ctx, wg, cfg, store, in, reg, log)
	}
	m, err := newPGReadModels(ctx, pg.Pool(), store, cfg.SafetyMargin, in)
	if err != nil {
		return nil, err
	}
	return startPGReadModels(ctx, wg, cfg, m, reg, lead, log)
}

// startWebhooks opens the webhooks store (a file beside the embedded store, or tables beside the events in
// PostgreSQL) and runs the dispatch of the outbox into deliveries (while leading) and the delivery worker (its
// queue is leased: every serve may deliver) until ctx ends. The file store is closed once they have stopped.
func startWebhooks(ctx context.Context, wg *sync.WaitGroup, cfg *config.Config, store eventstore.Store, rm *readModels,
	in projections.Codec, lead leadership, reg prometheus.Registerer, log *slog.Logger) (*webhooks.Service, error) {
	var whStore webhooks.Store
	closeStore := func() {}
	if pg, ok := store.(pgBacked); ok {
		s, err := webhooks.OpenPGStore(ctx, pg.Pool(), readModelSchema)
		if err != nil {
			return nil, err
		}
		whStore = s
	} else {
		s, err := webhooks.OpenFileStore(webhooksFile(cfg))
		if err != nil {
			return nil, err
		}
		whStore, closeStore = s, func() { s.Close() }
	}
	svc, err := webhooks.NewService(webhooks.ServiceConfig{Store: whStore, Log: store, Outbox: rm.outbox, Margin: cfg.SafetyMargin, EventTypes: append(fluxora.StreamWebhookTypes(), liquifact.WebhookTypes()...),
		Ledgers: rm.ledgers, Codec: in, Subjects: []webhooks.Subjects{streams.Subjects{Log: store}, escrows.Subjects{Log: store, Decimals: cfg.TokenDecimals}}, Logger: log})
	if err != nil {
		closeStore()
		return nil, err
	}
	metrics, err := webhooks.NewMetrics(reg)
	if err != nil {
		closeStore()
		return nil, err
	}
	worker, err := webhooks.NewWorker(webhooks.WorkerConfig{Queue: whStore, Endpoints: whStore,
		Client: webhooks.NewClient(cfg.WebhookAllowPrivate), Metrics: metrics, Logger: log})
	if err != nil {
		closeStore()
		return nil, err
	}
	wg.Go(func() {
		var running sync.WaitGroup
		running.Go(func() {
			lead.Do(ctx, func(ctx context.Context) { svc.RunDispatch(ctx, 250*time.Millisecond) }, nil)
		})
		running.Go(func() { worker.Run(ctx) })
		running.Wait()
		closeStore()
	})
	if cfg.WebhookAllowPrivate {
		log.Warn("webhooks may be delivered to private and loopback addresses (WEBHOOK_ALLOW_PRIVATE=true)")
	}
	return svc, nil
}

// startWitnessing sends the audit checkpoints to WITNESS_URLS while this serve leads (DESIGN §15), keeping what
// they cosign beside the events (a file in DATA_DIR, or a table with the read models), and returns how the API
// reads it; nil without witnesses.
func startWitnessing(ctx context.Context, wg *sync.WaitGroup, cfg *config.Config, store eventstore.Store, rm *readModels,
	lead leadership, log *slog.Logger) (func(context.Context) ([]byte, error), error) {
	if len(cfg.WitnessURLs) == 0 {
		return nil, nil
	}
	var ws audit.WitnessStore = audit.FileWitnessStore{Path: filepath.Join(cfg.DataDir, audit.WitnessedFile)}
	if pg, ok := store.(pgBacked); ok {
		s, err := audit.OpenPGWitnessStore(ctx, pg.Pool(), readModelSchema)
		if err != nil {
			return nil, err
		}
		ws = s
	}
	w := &audit.Witnesser{URLs: cfg.WitnessURLs, Log: rm.audit, Signer: rm.auditSigner, Store: ws,
		Client: &http.Client{Timeout: 30 * time.Second}, Logger: log}
	wg.Go(func() { lead.Do(ctx, func(ctx context.Context) { w.Run(ctx, cfg.WitnessEvery) }, nil) })
	log.Info("audit checkpoints go to witnesses", "witnesses", len(cfg.WitnessURLs), "every", cfg.WitnessEvery)
	return ws.Load, nil
}
