package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/leader"
	"github.com/streamledger/streamledger/internal/pgschema"
)

// leadership decides whether this serve does the work only one process should do at a time: ingesting,
// projecting and dispatching webhooks (DESIGN §10). Serves whose read models are in PostgreSQL elect one of
// themselves (internal/leader); the others serve reads, deliver webhooks and stand by. The embedded store is one
// process's (its file lock sees to that), which always leads.
type leadership interface {
	// Do runs lead in each period this process leads and standby (when not nil) in each it stands by, until ctx
	// ends; each gets a context that ends with its period.
	Do(ctx context.Context, lead, standby func(context.Context))
}

// leaderKey is the advisory lock the serves of one database elect their leader with.
func leaderKey() int64 { return pgschema.LockKey(readModelSchema, "leader") }

// sole is the leadership of a process that is alone.
type sole struct{}

func (sole) Do(ctx context.Context, lead, _ func(context.Context)) {
	lead(ctx)
	<-ctx.Done()
}

// elect starts the election among the serves sharing store's database, when there is one, and returns the
// leadership and the role to report (nil when alone), also exported as the streamledger_leader gauge. The
// election stops when ctx ends (wg waits for it).
func elect(ctx context.Context, wg *sync.WaitGroup, store eventstore.Store, reg prometheus.Registerer,
	log *slog.Logger) (leadership, func() string, error) {
	pg, ok := store.(pgBacked)
	if !ok {
		return sole{}, nil, nil
	}
	e := leader.New(leader.Config{Pool: pg.Pool(), Key: leaderKey(), Logger: log})
	role := func() string {
		if e.Leading() {
			return "leader"
		}
		return "standby"
	}
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "streamledger_leader",
		Help: "1 while this serve leads (ingests, projects, dispatches webhooks), 0 while it stands by."},
		func() float64 {
			if role() == "leader" {
				return 1
			}
			return 0
		})
	if err := reg.Register(gauge); err != nil {
		return nil, nil, err
	}
	wg.Go(func() { e.Run(ctx) })
	return e, role, nil
}
