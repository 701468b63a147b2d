package leader

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamledger/streamledger/internal/pgschema"
	"github.com/streamledger/streamledger/internal/pgtest"
)

// contender is one process: an Elector whose leading work counts how many contenders work at once.
type contender struct {
	e        *Elector
	cancel   context.CancelFunc
	done     sync.WaitGroup
	terms    atomic.Int32
	stands   atomic.Int32
	slowStop time.Duration
}

func start(t *testing.T, url string, key int64, working *atomic.Int32, most *atomic.Int32) *contender {
	t.Helper()
	c := &contender{e: New(Config{Pool: pgtest.Pool(t, url), Key: key, Interval: 50 * time.Millisecond}), slowStop: 100 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.done.Go(func() { c.e.Run(ctx) })
	c.done.Go(func() {
		c.e.Do(ctx, func(ctx context.Context) {
			c.terms.Add(1)
			n := working.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			<-ctx.Done()
			time.Sleep(c.slowStop) // work that takes a moment to wind down
			working.Add(-1)
		}, func(ctx context.Context) { c.stands.Add(1); <-ctx.Done() })
	})
	t.Cleanup(c.stop)
	return c
}

func (c *contender) stop() { c.cancel(); c.done.Wait() }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}

// TestOneLeaderAtATime: of three contenders one leads and the others stand by; when the leader stops, another
// takes over; when the leader's connection is killed, it stands down and leadership moves on. Work never runs in
// two contenders at once when leaders stop cleanly, even work that takes a moment to wind down.
func TestOneLeaderAtATime(t *testing.T) {
	url := pgtest.URL(t)
	key := pgschema.LockKey(pgtest.Schema(t, url), "leader")
	var working, most atomic.Int32
	cs := []*contender{start(t, url, key, &working, &most), start(t, url, key, &working, &most), start(t, url, key, &working, &most)}
	leaders := func() []*contender {
		var out []*contender
		for _, c := range cs {
			if c.e.Leading() {
				out = append(out, c)
			}
		}
		return out
	}
	waitFor(t, "one contender leads", func() bool { return len(leaders()) == 1 && working.Load() == 1 })
	time.Sleep(200 * time.Millisecond) // several campaign rounds: still one
	if l := leaders(); len(l) != 1 {
		t.Fatalf("%d leaders", len(l))
	}
	for _, c := range cs {
		if !c.e.Leading() && c.stands.Load() != 1 {
			t.Fatalf("a standby stood by %d times", c.stands.Load())
		}
	}

	first := leaders()[0]
	first.stop()
	waitFor(t, "another contender leads after the leader stopped", func() bool {
		l := leaders()
		return len(l) == 1 && l[0] != first && working.Load() == 1
	})
	if most.Load() != 1 {
		t.Fatalf("%d contenders worked at once", most.Load())
	}

	// Kill the session that holds the lock, as a lost network would: the leader stands down.
	second := leaders()[0]
	admin := pgtest.Pool(t, url)
	tag, err := admin.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_locks
WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = $1`, key)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("terminate the leader's session: %v (%d)", err, tag.RowsAffected())
	}
	waitFor(t, "the leader whose session died stands down", func() bool { return second.terms.Load() == 1 && !second.e.Leading() || second.terms.Load() > 1 })
	waitFor(t, "one contender leads again", func() bool { return len(leaders()) == 1 && working.Load() == 1 })
}
