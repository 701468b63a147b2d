package projections

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the projection metrics; a nil *Metrics records nothing.
type Metrics struct {
	events    *prometheus.CounterVec
	failures  *prometheus.CounterVec
	batchTime *prometheus.HistogramVec
	lagEvents *prometheus.GaugeVec
	lagSecs   *prometheus.GaugeVec
	position  *prometheus.GaugeVec
}

// NewMetrics creates the projection metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	label := []string{"projection"}
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamledger_projection_events_total",
			Help: "Events applied by each projection."}, label),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamledger_projection_failures_total",
			Help: "Failed batches (each retried from the checkpoint)."}, label),
		batchTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "streamledger_projection_batch_seconds",
			Help: "Time to apply and commit one batch.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, label),
		lagEvents: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "streamledger_projection_lag_events",
			Help: "Events in the store the projection has not applied."}, label),
		lagSecs: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "streamledger_projection_lag_seconds",
			Help: "Age of the oldest event the projection has not applied (0 when caught up)."}, label),
		position: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "streamledger_projection_position",
			Help: "Global position of the last applied event."}, label),
	}
	for _, c := range []prometheus.Collector{m.events, m.failures, m.batchTime, m.lagEvents, m.lagSecs, m.position} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register projection metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) applied(name string, n int, took time.Duration, s Status) {
	if m == nil {
		return
	}
	m.events.WithLabelValues(name).Add(float64(n))
	m.batchTime.WithLabelValues(name).Observe(took.Seconds())
	m.lagEvents.WithLabelValues(name).Set(float64(s.LagEvents))
	m.lagSecs.WithLabelValues(name).Set(float64(s.LagMs) / 1000)
	m.position.WithLabelValues(name).Set(float64(s.Position))
}

func (m *Metrics) failure(name string) {
	if m != nil {
		m.failures.WithLabelValues(name).Inc()
	}
}
