package chain

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the ingestion metrics. A nil *Metrics records nothing, so tests and tools need not register any.
type Metrics struct {
	ledgers      prometheus.Counter
	events       *prometheus.CounterVec
	decodeErrors *prometheus.CounterVec
	reorgs       prometheus.Counter
	reverted     prometheus.Counter
	sourceErrors prometheus.Counter
	tip          prometheus.Gauge
	lastSafe     prometheus.Gauge
	halted       prometheus.Gauge
	target       prometheus.Gauge
	endpointTips *prometheus.GaugeVec
	asides       *prometheus.CounterVec
}

// NewMetrics creates the ingestion metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		ledgers: prometheus.NewCounter(prometheus.CounterOpts{Name: "streamledger_ingest_ledgers_total",
			Help: "Ledgers appended to the event store (new branches included)."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamledger_ingest_events_total",
			Help: "Contract events appended, by domain event type."}, []string{"type"}),
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamledger_ingest_decode_errors_total",
			Help: "Events of a known topic that did not decode and were kept as ContractEventObserved."}, []string{"topic"}),
		reorgs: prometheus.NewCounter(prometheus.CounterOpts{Name: "streamledger_ingest_reorgs_total",
			Help: "Chain reorganisations compensated."}),
		reverted: prometheus.NewCounter(prometheus.CounterOpts{Name: "streamledger_ingest_reverted_events_total",
			Help: "Events compensated by EventReverted."}),
		sourceErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "streamledger_ingest_source_errors_total",
			Help: "Failed attempts to read, verify or append a ledger (each is retried)."}),
		tip: prometheus.NewGauge(prometheus.GaugeOpts{Name: "streamledger_ingest_tip_ledger",
			Help: "Highest ingested ledger."}),
		lastSafe: prometheus.NewGauge(prometheus.GaugeOpts{Name: "streamledger_ingest_last_safe_ledger",
			Help: "Highest ledger whose events are final."}),
		halted: prometheus.NewGauge(prometheus.GaugeOpts{Name: "streamledger_ingest_halted",
			Help: "1 while ingestion is halted waiting for an operator."}),
		target: prometheus.NewGauge(prometheus.GaugeOpts{Name: "streamledger_ingest_backfill_target_ledger",
			Help: "The ledger a backfill from a data lake runs to (0: none); backfilling while the tip is below it."}),
		endpointTips: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "streamledger_rpc_endpoint_tip_ledger",
			Help: "Each RPC endpoint's tip, as last seen."}, []string{"endpoint"}),
		asides: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamledger_rpc_endpoint_set_aside_total",
			Help: "RPC endpoints set aside, by endpoint and cause (went_back, lags, disagrees, unreachable)."}, []string{"endpoint", "cause"}),
	}
	for _, c := range []prometheus.Collector{m.ledgers, m.events, m.decodeErrors, m.reorgs, m.reverted,
		m.sourceErrors, m.tip, m.lastSafe, m.halted, m.target, m.endpointTips, m.asides} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register ingestion metrics: %w", err)
		}
	}
	return m, nil
}

// DecodeError counts an event of a known topic that did not decode; it fits DecoderConfig.OnDecodeError.
func (m *Metrics) DecodeError(topic string) {
	if m != nil {
		m.decodeErrors.WithLabelValues(topic).Inc()
	}
}

func (m *Metrics) appended(ls []Ledger) {
	if m == nil {
		return
	}
	m.ledgers.Add(float64(len(ls)))
	for _, l := range ls {
		for _, ev := range l.Events {
			m.events.WithLabelValues(string(ev.Event.Type())).Inc()
		}
	}
}

func (m *Metrics) reorg(reverted int) {
	if m != nil {
		m.reorgs.Inc()
		m.reverted.Add(float64(reverted))
	}
}

func (m *Metrics) sourceError() {
	if m != nil {
		m.sourceErrors.Inc()
	}
}

func (m *Metrics) position(tip, lastSafe uint32) {
	if m != nil {
		m.tip.Set(float64(tip))
		m.lastSafe.Set(float64(lastSafe))
	}
}

func (m *Metrics) setHalted(h bool) {
	if m != nil {
		v := 0.0
		if h {
			v = 1
		}
		m.halted.Set(v)
	}
}

func (m *Metrics) setTarget(seq uint32) {
	if m != nil {
		m.target.Set(float64(seq))
	}
}

func (m *Metrics) endpointTip(endpoint string, tip uint32) {
	if m != nil {
		m.endpointTips.WithLabelValues(endpoint).Set(float64(tip))
	}
}

func (m *Metrics) endpointAside(endpoint, reason string) {
	if m == nil {
		return
	}
	cause := "unreachable"
	switch {
	case strings.HasPrefix(reason, "its tip went back"):
		cause = "went_back"
	case strings.HasPrefix(reason, "lags"):
		cause = "lags"
	case strings.HasPrefix(reason, "serves"):
		cause = "disagrees"
	}
	m.asides.WithLabelValues(endpoint, cause).Inc()
}
