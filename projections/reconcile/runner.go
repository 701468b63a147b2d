package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
)

// Source reads contract storage entries as of its latest ledger (RPC getLedgerEntries; the simulator's entries in
// tests and with SOURCE=sim). A key without an entry is left out.
type Source interface {
	LedgerEntries(ctx context.Context, keys []xdr.LedgerKey) (entries []xdr.LedgerEntry, ledger uint32, err error)
}

// Target is one contract to reconcile, with its module's hook.
type Target struct {
	Contract domain.Address
	Module   string
	Hook     Hook
}

// Appender appends events (the event store).
type Appender interface {
	Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.NewEvent) (eventstore.AppendResult, error)
}

// Metrics are reconciliation's Prometheus metrics.
type Metrics struct {
	runs      *prometheus.CounterVec
	drifts    *prometheus.CounterVec
	lastRun   prometheus.Gauge
	magnitude *prometheus.GaugeVec
}

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamledger_reconcile_runs_total",
			Help: "Reconciliation runs, by result (ok, drift, error)."}, []string{"result"}),
		drifts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamledger_reconcile_mismatches_total",
			Help: "Fields on which a projection and the contract's storage disagreed, by module."}, []string{"module"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{Name: "streamledger_reconcile_last_run_timestamp_seconds",
			Help: "When the last reconciliation run finished (unix seconds)."}),
		magnitude: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "streamledger_reconcile_drift_magnitude",
			Help: "The largest amount drift of the last run, in base units, by module."}, []string{"module"}),
	}
	for _, c := range []prometheus.Collector{m.runs, m.drifts, m.lastRun, m.magnitude} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("reconcile metrics: %w", err)
		}
	}
	return m, nil
}

// Runner compares the targets' projections with their storage and records what differs (DESIGN §15).
type Runner struct {
	Source  Source
	Targets []Target
	// Found, when set, adds the targets known at each run (contracts discovered since the start).
	Found   func() []Target
	Log     Appender
	Metrics *Metrics // nil: none
	Now     func() time.Time
	Logger  *slog.Logger
	// Tip is the last ledger the log holds (nil: the source is never ahead of it). Storage read at a later ledger
	// is compared only once the log has it (waiting up to WaitTip, 30 s by default): the log's state before that
	// ledger would differ from the storage without anything being wrong.
	Tip     func() uint32
	WaitTip time.Duration
}

// caughtUp waits until the log holds ledger, at most WaitTip.
func (r *Runner) caughtUp(ctx context.Context, ledger uint32) bool {
	if r.Tip == nil {
		return true
	}
	wait := r.WaitTip
	if wait == 0 {
		wait = 30 * time.Second
	}
	deadline := time.Now().Add(wait)
	for r.Tip() < ledger {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return true
}

// Run reconciles every target at the source's latest ledger, appends the run (and each drift) to the log, where the
// audit log records them, and returns the run.
func (r *Runner) Run(ctx context.Context) (domain.ReconciliationRan, []domain.ReconciliationDrift, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	targets := r.Targets
	if r.Found != nil {
		targets = append(append([]Target(nil), targets...), r.Found()...)
	}
	run := domain.ReconciliationRan{RunID: uuid.NewString(), StartedAt: now().UTC().Format(time.RFC3339), Contracts: len(targets)}
	var drifts []domain.ReconciliationDrift
	largest := map[string]*big.Int{}
	for _, t := range targets {
		keys, err := t.Hook.Keys(ctx, t.Contract)
		if err != nil {
			run.Errors = append(run.Errors, fmt.Sprintf("%s: keys: %v", t.Contract, err))
			continue
		}
		entries, ledger, err := r.Source.LedgerEntries(ctx, keys)
		if err != nil {
			run.Errors = append(run.Errors, fmt.Sprintf("%s: read storage: %v", t.Contract, err))
			continue
		}
		run.Ledger = max(run.Ledger, ledger)
		if !r.caughtUp(ctx, ledger) {
			run.Errors = append(run.Errors, fmt.Sprintf("%s: the log has not reached ledger %d, where the storage was read", t.Contract, ledger))
			continue
		}
		found, err := t.Hook.Compare(ctx, t.Contract, ledger, keys, entries)
		if err != nil {
			run.Errors = append(run.Errors, fmt.Sprintf("%s: compare at ledger %d: %v", t.Contract, ledger, err))
			continue
		}
		for _, d := range found {
			drifts = append(drifts, domain.ReconciliationDrift{RunID: run.RunID, Ledger: ledger, Contract: t.Contract,
				Module: t.Module, Subject: d.Subject, Field: d.Field, OnChain: d.OnChain, Projected: d.Projected,
				Magnitude: d.Magnitude})
			if m := d.Magnitude.Big(); largest[t.Module] == nil || m.Cmp(largest[t.Module]) > 0 {
				largest[t.Module] = m
			}
		}
	}
	run.Drifts = len(drifts)
	events := make([]eventstore.NewEvent, 0, len(drifts)+1)
	for i := range drifts {
		ev, err := newEvent(domain.DerivedEventUUID("reconcile-drift", run.RunID, fmt.Sprint(i)), &drifts[i])
		if err != nil {
			return run, drifts, err
		}
		events = append(events, ev)
	}
	ev, err := newEvent(domain.DerivedEventUUID("reconcile-run", run.RunID), &run)
	if err != nil {
		return run, drifts, err
	}
	if _, err := r.Log.Append(ctx, domain.ReconciliationStream, eventstore.Any, append(events, ev)...); err != nil {
		return run, drifts, fmt.Errorf("record reconciliation run %s: %w", run.RunID, err)
	}
	if r.Metrics != nil {
		result := "ok"
		switch {
		case len(run.Errors) > 0:
			result = "error"
		case len(drifts) > 0:
			result = "drift"
		}
		r.Metrics.runs.WithLabelValues(result).Inc()
		for _, d := range drifts {
			r.Metrics.drifts.WithLabelValues(d.Module).Inc()
		}
		for _, t := range targets {
			v := 0.0
			if m := largest[t.Module]; m != nil {
				v, _ = new(big.Float).SetInt(m).Float64()
			}
			r.Metrics.magnitude.WithLabelValues(t.Module).Set(v)
		}
		r.Metrics.lastRun.Set(float64(now().Unix()))
	}
	if r.Logger != nil {
		r.Logger.Info("reconciliation run", "runId", run.RunID, "ledger", run.Ledger, "contracts", run.Contracts,
			"drifts", run.Drifts, "errors", len(run.Errors))
	}
	if len(run.Errors) > 0 {
		return run, drifts, errors.New("reconciliation: " + run.Errors[0])
	}
	return run, drifts, nil
}

func newEvent(id string, e domain.Event) (eventstore.NewEvent, error) {
	data, err := domain.Marshal(e)
	if err != nil {
		return eventstore.NewEvent{}, err
	}
	return eventstore.NewEvent{ID: id, Type: string(e.Type()), Data: data}, nil
}

// Reader reads the reconciliation stream.
type Reader interface {
	ReadStreamBackward(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error)
}

// Runs are the last runs, newest first, at most limit.
func Runs(ctx context.Context, r Reader, limit int) ([]domain.ReconciliationRan, error) {
	events := domain.MustRegistry()
	var out []domain.ReconciliationRan
	from := eventstore.EndOfStream
	for len(out) < limit {
		page, err := r.ReadStreamBackward(ctx, domain.ReconciliationStream, from, 256)
		if err != nil {
			return nil, fmt.Errorf("read reconciliation runs: %w", err)
		}
		for _, rec := range page {
			if rec.Type != string(domain.TypeReconciliationRan) {
				continue
			}
			e, err := events.Unmarshal(rec.Data)
			if err != nil {
				return nil, fmt.Errorf("reconciliation run %s: %w", rec.ID, err)
			}
			out = append(out, *e.(*domain.ReconciliationRan))
			if len(out) == limit {
				break
			}
		}
		if len(page) < 256 {
			break
		}
		from = page[len(page)-1].Version - 1
	}
	return out, nil
}

// Mismatches is the mismatch counter of a module, for tests and dashboards' checks.
func (m *Metrics) Mismatches(module string) prometheus.Counter {
	return m.drifts.WithLabelValues(module)
}

// Magnitude is the drift magnitude gauge of a module.
func (m *Metrics) Magnitude(module string) prometheus.Gauge {
	return m.magnitude.WithLabelValues(module)
}
