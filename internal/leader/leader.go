// Package leader elects, among the processes that share a PostgreSQL database, the one that does what only one
// should do at a time (DESIGN §10: one ingester and one projector; the others serve reads and stand by).
//
// Leadership is a session-level advisory lock held on a connection taken from the pool for as long as it lasts.
// The server frees the lock when that session ends, so a leader that crashes or loses the database hands over to a
// standby, which asks again every Interval. A leader checks its connection as often and ends its term as soon as a
// check fails. The server can free the lock a moment before the old leader notices, so two terms may overlap
// briefly: the work done under leadership must tolerate a second writer (the ingester, the projection runners and
// webhook dispatch all do); leadership saves their duplicated work and contention, it does not make them correct.
//
// A session-level lock needs the session to be the client's: a direct connection or a pooler in session mode. Behind
// a transaction-mode pooler (PgBouncer's default) the lock would stay with a server session the pool hands to others.
package leader

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultInterval is how often a standby asks for leadership and a leader checks its connection.
const DefaultInterval = 2 * time.Second

// stopTimeout bounds how long a leader that is stopping waits for its work before giving leadership back.
const stopTimeout = 10 * time.Second

// Config configures an Elector.
type Config struct {
	Pool *pgxpool.Pool
	// Key is the advisory lock every contender takes (pgschema.LockKey(schema, "leader")).
	Key      int64
	Interval time.Duration
	Logger   *slog.Logger
}

// Elector campaigns for leadership (Run) and runs work in the periods it leads or stands by (Do).
type Elector struct {
	cfg Config

	mu      sync.Mutex
	leading bool
	period  context.Context // ends when leading changes
	end     context.CancelFunc
	working int           // lead functions of Do still running
	stopped chan struct{} // closed when working falls to 0
}

// New returns an Elector that stands by until Run wins it leadership.
func New(cfg Config) *Elector {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Elector{cfg: cfg}
	e.period, e.end = context.WithCancel(context.Background())
	return e
}

// Leading reports whether this process leads now.
func (e *Elector) Leading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// enter starts a period of Do, counting the lead functions that run.
func (e *Elector) enter() (bool, context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leading {
		if e.working == 0 {
			e.stopped = make(chan struct{})
		}
		e.working++
	}
	return e.leading, e.period
}

func (e *Elector) leave() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.working--; e.working == 0 {
		close(e.stopped)
	}
}

// awaitStopped waits, at most d, for the lead functions to return: a term ends with its work, so that the next
// leader does not start beside it.
func (e *Elector) awaitStopped(d time.Duration) {
	e.mu.Lock()
	working, stopped := e.working, e.stopped
	e.mu.Unlock()
	if working == 0 {
		return
	}
	select {
	case <-stopped:
	case <-time.After(d):
		e.cfg.Logger.Warn("giving leadership back before this process's work stopped", "waited", d)
	}
}

func (e *Elector) set(leading bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if leading == e.leading {
		return
	}
	e.end()
	e.leading = leading
	e.period, e.end = context.WithCancel(context.Background())
}

// Do calls lead at the start of each period this process leads and standby (when not nil) at the start of each
// period it stands by, each with a context that ends with the period or with ctx, and returns when ctx ends.
// A function that returns before its period ends is not called again until the next such period.
func (e *Elector) Do(ctx context.Context, lead, standby func(context.Context)) {
	for ctx.Err() == nil {
		leading, period := e.enter()
		pctx, cancel := context.WithCancel(period)
		stop := context.AfterFunc(ctx, cancel)
		switch {
		case leading:
			lead(pctx)
			e.leave()
		case standby != nil:
			standby(pctx)
		}
		<-pctx.Done()
		stop()
		cancel()
	}
}

// Run campaigns until ctx ends: it asks for the lock every Interval while standing by and, while leading, checks
// the connection that holds it as often. It gives the lock back when ctx ends.
func (e *Elector) Run(ctx context.Context) {
	defer e.set(false)
	failing := false
	for {
		conn, err := e.acquire(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			e.cfg.Logger.Warn("cannot ask for leadership; standing by", "err", err)
			failing = true
		case err == nil:
			failing = false
		}
		if conn != nil {
			e.lead(ctx, conn)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(e.cfg.Interval):
		}
	}
}

// acquire takes a connection and tries the lock on it; it returns the connection only when it holds the lock.
func (e *Elector) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	conn, err := e.cfg.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire a connection: %w", err)
	}
	var held bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", e.cfg.Key).Scan(&held); err != nil {
		conn.Release()
		return nil, fmt.Errorf("try the leader lock: %w", err)
	}
	if !held {
		conn.Release()
		return nil, nil
	}
	return conn, nil
}

// lead is one term: it ends when ctx does or when the connection holding the lock fails a check.
func (e *Elector) lead(ctx context.Context, conn *pgxpool.Conn) {
	e.cfg.Logger.Info("leading: this process ingests and projects")
	e.set(true)
	tick := time.NewTicker(e.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			e.set(false)
			e.awaitStopped(stopTimeout)
			e.giveBack(ctx, conn)
			return
		case <-tick.C:
			// A busy server may answer slowly: a few intervals before a leader gives up its term. The check does
			// not end with ctx: a query interrupted by a cancelled context can cost its connection, and with it the
			// lock, before this term's work has stopped.
			check, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*e.cfg.Interval)
			_, err := conn.Exec(check, "SELECT 1")
			cancel()
			if err != nil && ctx.Err() == nil {
				e.set(false)
				e.cfg.Logger.Warn("lost the connection that holds leadership; standing by", "err", err)
				// The work stops before the session ends: if the connection was only slow, its end is what frees
				// the lock, and the next leader must not start beside this one's work.
				e.awaitStopped(stopTimeout)
				conn.Conn().Close(context.WithoutCancel(ctx))
				conn.Release()
				return
			}
		}
	}
}

// giveBack unlocks and returns the connection to the pool.
func (e *Elector) giveBack(ctx context.Context, conn *pgxpool.Conn) {
	release, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.Interval)
	defer cancel()
	if _, err := conn.Exec(release, "SELECT pg_advisory_unlock($1)", e.cfg.Key); err != nil {
		conn.Conn().Close(release) // ending the session frees the lock as well
	}
	conn.Release()
}

// Hold takes leadership for a one-off job that must not run beside a leader (a rewind), without waiting: held is
// false when another process leads. release gives leadership back.
func Hold(ctx context.Context, pool *pgxpool.Pool, key int64) (release func(), held bool, err error) {
	e := New(Config{Pool: pool, Key: key})
	conn, err := e.acquire(ctx)
	if err != nil || conn == nil {
		return nil, false, err
	}
	return func() { e.giveBack(ctx, conn) }, true, nil
}
