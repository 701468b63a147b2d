package webhooks

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count the delivery worker's attempts and dead letters (DESIGN §8), for the dashboards and alerts in
// deploy/. A nil *Metrics counts nothing.
type Metrics struct {
	attempts *prometheus.CounterVec
	dead     prometheus.Counter
}

// NewMetrics registers the webhook metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamledger_webhook_attempts_total",
			Help: "Webhook delivery attempts, by outcome."}, []string{"outcome"}),
		dead: prometheus.NewCounter(prometheus.CounterOpts{Name: "streamledger_webhook_dead_letters_total",
			Help: "Webhook deliveries whose retry schedule ran out (dead letters, redeliverable)."}),
	}
	for _, c := range []prometheus.Collector{m.attempts, m.dead} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every outcome is exported from the start, so that rates and alerts see zero rather than nothing.
	for _, o := range []Outcome{Delivered, Retry, Gone} {
		m.attempts.WithLabelValues(string(o))
	}
	return m, nil
}

func (m *Metrics) recorded(results []Result) {
	if m == nil {
		return
	}
	for _, r := range results {
		m.attempts.WithLabelValues(string(r.Attempt.Outcome)).Inc()
		if r.State == Dead {
			m.dead.Inc()
		}
	}
}
