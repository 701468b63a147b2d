package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	api "github.com/streamledger/streamledger/http"
	"github.com/streamledger/streamledger/http/escrowsapi"
	"github.com/streamledger/streamledger/http/streamsapi"
	"github.com/streamledger/streamledger/internal/config"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/audit"
	"github.com/streamledger/streamledger/projections/escrows"
	"github.com/streamledger/streamledger/projections/ledgers"
	"github.com/streamledger/streamledger/projections/outbox"
	"github.com/streamledger/streamledger/projections/streams"
	"github.com/streamledger/streamledger/webhooks"
)

// decodeCacheSize is how many decoded events the projections of serve share: a few batches, so that runners
// that are close behind one another decode each event once.
const decodeCacheSize = 20_000

// projectionNames are the read models, in the order they are built.
var projectionNames = []string{streams.Name, ledgers.Name, audit.Name, outbox.Name, escrows.Name}

// ledgerIndex is the ledger index as the API and webhook recovery read it.
type ledgerIndex interface {
	api.LedgerReader
	webhooks.LedgerIndex
}

// readModels are the running projections of serve, what the API reads from them, and the key the audit log's
// checkpoints are signed with.
type readModels struct {
	streams     streamsapi.StreamReader
	escrows     escrowsapi.Reader
	ledgers     ledgerIndex
	outbox      webhooks.Outbox
	audit       api.AuditLog
	rebuild     api.RebuildFunc // nil for the in-memory read models
	checks      []api.Check
	auditSigner note.Signer
	auditVerify string

	closers []func() error // once every runner has stopped: removes the scratch files of the embedded read models

	mu       sync.Mutex
	runners  map[string]*projections.Runner // the runner of each projection's live generation
	observed map[string]projections.Status  // a standby's view of the projections the leader runs
}

// dispatchCursor is how far the embedded webhooks store has turned the outbox into deliveries.
func dispatchCursor(ctx context.Context, cfg *config.Config) (outbox.Cursor, error) {
	s, err := webhooks.OpenFileStore(webhooksFile(cfg))
	if err != nil {
		return outbox.Cursor{}, err
	}
	defer s.Close()
	return s.DispatchCursor(ctx)
}

// webhooksFile is the embedded webhooks store: endpoints, deliveries, the dispatch cursor.
func webhooksFile(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "webhooks.db") }

// outboxBound is how many webhook messages the embedded outbox holds for the dispatcher before its projection waits
// (twenty dispatch batches).
const outboxBound = 10_000

// scratchDir holds the scratch files of the read models that the embedded store rebuilds at every start. Only the
// process holding the store's lock uses it, so a file left by a crash is simply truncated by the next start.
func scratchDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "scratch") }

// close removes the scratch files; the runners must have stopped.
func (rm *readModels) close() error {
	var errs []error
	for _, c := range rm.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// setRunner records the runner of a projection's live generation; nil when none runs here.
func (rm *readModels) setRunner(name string, r *projections.Runner) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if rm.runners == nil {
		rm.runners = map[string]*projections.Runner{}
	}
	if r == nil {
		delete(rm.runners, name)
		return
	}
	rm.runners[name] = r
}

// status reports every projection, in the order they are built.
func (rm *readModels) status() []projections.Status {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	var out []projections.Status
	for _, name := range projectionNames {
		if r, ok := rm.runners[name]; ok {
			out = append(out, r.Status())
		} else if st, ok := rm.observed[name]; ok {
			out = append(out, st)
		}
	}
	return out
}

// setObserved records a standby's view of a projection; nil drops it.
func (rm *readModels) setObserved(name string, st *projections.Status) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if rm.observed == nil {
		rm.observed = map[string]projections.Status{}
	}
	if st == nil {
		delete(rm.observed, name)
		return
	}
	rm.observed[name] = *st
}

// liveEscrows serves the live generation of the PostgreSQL escrow read model, following rebuilds.
type liveEscrows struct{ m *pgReadModels }

func (l liveEscrows) live(ctx context.Context) (*escrows.Postgres, error) {
	p, err := l.m.Live(ctx, escrows.Name)
	if err != nil {
		return nil, err
	}
	return p.(*escrows.Postgres), nil
}

func (l liveEscrows) Get(ctx context.Context, c domain.Address) (liquifact.Escrow, bool, error) {
	p, err := l.live(ctx)
	if err != nil {
		return liquifact.Escrow{}, false, err
	}
	return p.Get(ctx, c)
}

func (l liveEscrows) ByInvoice(ctx context.Context, id string) (liquifact.Escrow, bool, error) {
	p, err := l.live(ctx)
	if err != nil {
		return liquifact.Escrow{}, false, err
	}
	return p.ByInvoice(ctx, id)
}

func (l liveEscrows) List(ctx context.Context, f escrows.Filter, pg escrows.Page) ([]liquifact.Escrow, bool, error) {
	p, err := l.live(ctx)
	if err != nil {
		return nil, false, err
	}
	return p.List(ctx, f, pg)
}

func (l liveEscrows) Positions(ctx context.Context, investor domain.Address) ([]escrows.Holding, error) {
	p, err := l.live(ctx)
	if err != nil {
		return nil, err
	}
	return p.Positions(ctx, investor)
}

// liveStreams serves the live generation of the PostgreSQL streams projection, following rebuilds.
type liveStreams struct{ m *pgReadModels }

func (s liveStreams) Get(ctx context.Context, ref fluxora.StreamRef) (fluxora.Stream, bool, error) {
	p, err := s.m.Live(ctx, streams.Name)
	if err != nil {
		return fluxora.Stream{}, false, err
	}
	return p.(*streams.Postgres).Get(ctx, ref)
}

func (s liveStreams) List(ctx context.Context, f streams.Filter, pg streams.Page) ([]fluxora.Stream, bool, error) {
	p, err := s.m.Live(ctx, streams.Name)
	if err != nil {
		return nil, false, err
	}
	return p.(*streams.Postgres).List(ctx, f, pg)
}

// liveLedgers serves the live generation of the PostgreSQL ledger index.
type liveLedgers struct{ m *pgReadModels }

func (l liveLedgers) Get(ctx context.Context, seq uint32) (ledgers.Ledger, uint32, bool, error) {
	p, err := l.m.Live(ctx, ledgers.Name)
	if err != nil {
		return ledgers.Ledger{}, 0, false, err
	}
	return p.(*ledgers.Postgres).Get(ctx, seq)
}

func (l liveLedgers) Start(ctx context.Context, seq uint32, since time.Time) (eventstore.Position, error) {
	p, err := l.m.Live(ctx, ledgers.Name)
	if err != nil {
		return 0, err
	}
	return p.(*ledgers.Postgres).Start(ctx, seq, since)
}

// liveOutbox reads the live generation of the PostgreSQL outbox (its cursors hold across generations).
type liveOutbox struct{ m *pgReadModels }

func (o liveOutbox) MessagesAfter(ctx context.Context, after outbox.Cursor, limit int) ([]outbox.Message, error) {
	p, err := o.m.Live(ctx, outbox.Name)
	if err != nil {
		return nil, err
	}
	return p.(*outbox.Postgres).MessagesAfter(ctx, after, limit)
}

// liveAudit reads the live generation of the PostgreSQL audit log.
type liveAudit struct{ m *pgReadModels }

// Close is nothing to do: the generations stay in PostgreSQL.
func (liveAudit) Close() error { return nil }

func (a liveAudit) log(ctx context.Context) (*audit.Postgres, error) {
	p, err := a.m.Live(ctx, audit.Name)
	if err != nil {
		return nil, err
	}
	return p.(*audit.Postgres), nil
}

func (a liveAudit) Snapshot(ctx context.Context, treeSize int64, fn func(audit.View) error) error {
	p, err := a.log(ctx)
	if err != nil {
		return err
	}
	return p.Snapshot(ctx, treeSize, fn)
}

func (a liveAudit) InclusionProof(ctx context.Context, seq, treeSize int64) (tlog.RecordProof, error) {
	p, err := a.log(ctx)
	if err != nil {
		return nil, err
	}
	return p.InclusionProof(ctx, seq, treeSize)
}

func (a liveAudit) ConsistencyProof(ctx context.Context, older, newer int64) (tlog.TreeProof, error) {
	p, err := a.log(ctx)
	if err != nil {
		return nil, err
	}
	return p.ConsistencyProof(ctx, older, newer)
}

// pgReadModels are the PostgreSQL projections: their registry (open) wired into the generations that
// projections manages.
type pgReadModels struct {
	*projections.Generations
	pool   *pgxpool.Pool
	schema string
	store  eventstore.Store
	margin uint32
}

func newPGReadModels(ctx context.Context, pool *pgxpool.Pool, store eventstore.Store, margin uint32, in projections.Codec) (*pgReadModels, error) {
	const schema = readModelSchema
	cps, err := projections.NewPGCheckpoints(ctx, pool, schema)
	if err != nil {
		return nil, err
	}
	m := &pgReadModels{pool: pool, schema: schema, store: store, margin: margin}
	m.Generations = &projections.Generations{Pool: pool, Store: store, Checkpoints: cps, Codec: in, Open: m.open}
	return m, nil
}

// readModels is the registry of the PostgreSQL read models: the core's (ledgers, audit, outbox) and the stream
// contract's, which also detects the audit log's anomalies.
func (m *pgReadModels) readModels() projections.ReadModels {
	return projections.ReadModels{
		{Name: streams.Name, Open: func(ctx context.Context, gen int) (projections.Hashed, error) {
			return streams.OpenPostgres(ctx, m.pool, m.schema, gen, m.store)
		}},
		{Name: ledgers.Name, Open: func(ctx context.Context, gen int) (projections.Hashed, error) {
			return ledgers.OpenPostgres(ctx, m.pool, m.schema, gen)
		}},
		{Name: audit.Name, Open: func(ctx context.Context, gen int) (projections.Hashed, error) {
			return audit.OpenPostgres(ctx, m.pool, m.schema, gen, streams.AuditFoldsOn(m.store))
		}},
		{Name: outbox.Name, Open: func(ctx context.Context, gen int) (projections.Hashed, error) {
			return outbox.OpenPostgres(ctx, m.pool, m.schema, gen, m.margin)
		}},
		{Name: escrows.Name, Open: func(ctx context.Context, gen int) (projections.Hashed, error) {
			return escrows.OpenPostgres(ctx, m.pool, m.schema, gen, m.store)
		}},
	}
}

// open opens a read model of the registry, refusing an unknown name as a usage error.
func (m *pgReadModels) open(ctx context.Context, name string, gen int) (projections.Hashed, error) {
	p, err := m.readModels().Open(ctx, name, gen)
	if errors.Is(err, projections.ErrUnknownReadModel) {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return p, err
}

// startMemoryReadModels rebuilds the in-memory projections from the log (the embedded mode keeps no read model on
// disk), logs the rate, and starts their live runners.
func startMemoryReadModels(ctx context.Context, wg *sync.WaitGroup, cfg *config.Config, store eventstore.Store, in projections.Codec,
	reg prometheus.Registerer, log *slog.Logger) (*readModels, error) {
	metrics, err := projections.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	signer, vkey, err := loadAuditKey(cfg, func() (note.Signer, string, error) {
		return audit.LoadOrCreateKey(filepath.Join(cfg.DataDir, audit.KeyFile), "streamledger")
	})
	if err != nil {
		return nil, err
	}
	// In-memory read models are there as long as the process is.
	rm := &readModels{auditSigner: signer, auditVerify: vkey,
		checks: []api.Check{{Name: "readStore", Check: func(context.Context) error { return nil }}}}
	decoded := projections.NewDecodeCache(decodeCacheSize)
	// The audit log and the ledger index grow with the history: they are kept in scratch files, the rest in memory.
	auditLog, err := audit.NewScratch(streams.NewAnomalies(store), scratchDir(cfg))
	if err != nil {
		return nil, err
	}
	index, err := ledgers.NewScratch(scratchDir(cfg))
	if err != nil {
		auditLog.Close()
		return nil, err
	}
	rm.closers = append(rm.closers, auditLog.Close, index.Close)
	streamsMem, escrowsMem, messages := streams.NewMemory(store), escrows.NewMemory(store), outbox.NewMemory(cfg.SafetyMargin)
	messages.Bound(outboxBound)
	// The outbox is rebuilt from the whole log: what the dispatcher took before this start is not held again.
	dispatched, err := dispatchCursor(ctx, cfg)
	if err != nil {
		auditLog.Close()
		index.Close()
		return nil, err
	}
	messages.SkipThrough(dispatched)
	rm.streams, rm.ledgers, rm.outbox, rm.audit, rm.escrows = streamsMem.Reader(), index, messages, auditLog, escrowsMem.Reader()
	for _, p := range []projections.Projection{streamsMem, index, auditLog, messages, escrowsMem} {
		r, err := projections.NewRunner(projections.RunnerConfig{Store: store, Projection: p, BatchSize: 5000, Metrics: metrics, Codec: in,
			Decoded: decoded, Logger: log.With("projection", p.Name())})
		if err != nil {
			return nil, err
		}
		start := time.Now()
		if err := r.CatchUp(ctx); err != nil {
			return nil, fmt.Errorf("rebuild %s: %w", p.Name(), err)
		}
		st := r.Status()
		took := time.Since(start)
		log.Info("projection rebuilt from the event log", "projection", p.Name(), "events", uint64(st.Position),
			"seconds", took.Seconds(), "eventsPerSecond", int64(float64(st.Position)/max(took.Seconds(), 1e-9)))
		rm.setRunner(p.Name(), r)
		wg.Go(func() { r.Run(ctx) })
	}
	log.Info("audit checkpoints are signed", "verifierKey", vkey)
	return rm, nil
}

// startPGReadModels runs the live generation of every PostgreSQL projection while this serve leads; when a
// rebuild switches a projection to a new generation, its runner moves over.
func startPGReadModels(ctx context.Context, wg *sync.WaitGroup, cfg *config.Config, m *pgReadModels,
	reg prometheus.Registerer, lead leadership, log *slog.Logger) (*readModels, error) {
	metrics, err := projections.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	signer, vkey, err := loadAuditKey(cfg, func() (note.Signer, string, error) {
		return audit.LoadOrCreateKeyPG(ctx, m.pool, m.schema, "streamledger")
	})
	if err != nil {
		return nil, err
	}
	rm := &readModels{auditSigner: signer, auditVerify: vkey, streams: liveStreams{m}, ledgers: liveLedgers{m}, outbox: liveOutbox{m},
		escrows: liveEscrows{m},
		audit:   liveAudit{m},
		rebuild: m.Rebuild,
		checks:  []api.Check{{Name: "readStore", Check: func(ctx context.Context) error { return m.pool.Ping(ctx) }}}}
	decoded := projections.NewDecodeCache(decodeCacheSize)
	for _, name := range projectionNames {
		wg.Go(func() {
			lead.Do(ctx, func(ctx context.Context) {
				m.Follow(ctx, name, metrics, decoded, func(r *projections.Runner) { rm.setRunner(name, r) }, log.With("projection", name))
				rm.setRunner(name, nil) // a standby runs none
			}, func(ctx context.Context) {
				m.Observe(ctx, name, func(st *projections.Status) { rm.setObserved(name, st) })
				rm.setObserved(name, nil)
			})
		})
	}
	log.Info("audit checkpoints are signed", "verifierKey", vkey)
	return rm, nil
}

// loadAuditKey uses AUDIT_SIGNING_KEY when set, or the key keep generates once and keeps.
func loadAuditKey(cfg *config.Config, keep func() (note.Signer, string, error)) (note.Signer, string, error) {
	if cfg.AuditSigningKey == "" {
		return keep()
	}
	signer, vkey, err := audit.ParseKey(cfg.AuditSigningKey)
	if err != nil {
		return nil, "", fmt.Errorf("%w: --audit-signing-key / AUDIT_SIGNING_KEY: %v", errUsage, err)
	}
	return signer, vkey, nil
}
