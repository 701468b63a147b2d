package webhooks

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/webhooks/signature"
)

// registry is an in-test endpoint registry.
type registry struct {
	mu        sync.Mutex
	endpoints map[string]Endpoint
	disabled  map[string]string
}

func (r *registry) Endpoint(_ context.Context, id string) (Endpoint, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.endpoints[id]
	return e, ok, nil
}

func (r *registry) Disable(_ context.Context, id, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.endpoints[id]
	e.Enabled = false
	r.endpoints[id] = e
	r.disabled[id] = reason
	return nil
}

// receiver verifies every delivery and answers per path; it counts attempts per delivery id.
type receiver struct {
	mu       sync.Mutex
	attempts map[string]int
	answer   map[string]int // path → status
}

func newReceiver(t *testing.T, secret string, clock func() time.Time) (*receiver, *httptest.Server) {
	rc := &receiver{attempts: map[string]int{}, answer: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := signature.Verify(r, signature.VerifyConfig{Secrets: []string{secret}, Now: clock})
		if err != nil {
			t.Errorf("receiver: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		rc.mu.Lock()
		rc.attempts[d.ID]++
		status := rc.answer[r.URL.Path]
		rc.mu.Unlock()
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "120")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return rc, srv
}

func (rc *receiver) count(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.attempts[id]
}

// queues runs a test on every store: in memory, in a file, in PostgreSQL.
func queues(t *testing.T, test func(t *testing.T, open func() Store)) {
	t.Run("memory", func(t *testing.T) { test(t, func() Store { return NewMemoryStore() }) })
	t.Run("file", func(t *testing.T) { test(t, func() Store { return openFileStore(t, t.TempDir()) }) })
	t.Run("postgres", func(t *testing.T) {
		test(t, func() Store { return openPGStore(t) })
	})
}

// openFileStore opens the store kept in dir, closed when the test ends.
func openFileStore(t *testing.T, dir string) *MemoryStore {
	t.Helper()
	s, err := OpenFileStore(filepath.Join(dir, "webhooks.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openPGStore opens a queue in a schema of its own.
func openPGStore(tb testing.TB) *PGStore {
	tb.Helper()
	url := pgtest.URL(tb)
	q, err := OpenPGStore(context.Background(), pgtest.Pool(tb, url), pgtest.Schema(tb, url))
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

// id is a test delivery's id: the queues key deliveries by uuid.
func id(name string) string { return domain.DerivedEventUUID("delivery", "test", name) }

func get(t *testing.T, q Store, name string) Job {
	t.Helper()
	j, ok, err := q.Get(context.Background(), id(name))
	if err != nil || !ok {
		t.Fatalf("delivery %s: %v %v", name, ok, err)
	}
	return j
}

func enqueue(t *testing.T, q Store, now time.Time, jobs ...Job) {
	t.Helper()
	for i := range jobs {
		jobs[i].ID = id(jobs[i].ID)
		if jobs[i].EventType == "" {
			jobs[i].EventType = "stream.created"
		}
		if jobs[i].Body == nil {
			jobs[i].Body = []byte(`{}`)
		}
	}
	if err := q.Enqueue(context.Background(), jobs, now); err != nil {
		t.Fatal(err)
	}
}

func setup(t *testing.T, open func() Store) (*Worker, Store, *registry, *receiver, *time.Time) {
	t.Helper()
	secret := signature.GenerateSecret()
	now := time.Unix(1_767_225_600, 0)
	var mu sync.Mutex // the clock is read by the receiver's goroutines and moved by the test
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	rc, srv := newReceiver(t, secret, clock)
	reg := &registry{endpoints: map[string]Endpoint{}, disabled: map[string]string{}}
	for _, p := range []string{"ok", "fail", "gone", "busy"} {
		reg.endpoints[p] = Endpoint{ID: p, URL: srv.URL + "/" + p, Secret: secret, Enabled: true}
	}
	rc.answer = map[string]int{"/ok": 200, "/fail": 500, "/gone": 410, "/busy": 429}
	q := open()
	metrics, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWorker(WorkerConfig{Queue: q, Endpoints: reg, Client: NewClient(true), Now: clock, Metrics: metrics,
		Jitter: func(d time.Duration) time.Duration { return d }})
	if err != nil {
		t.Fatal(err)
	}
	return w, q, reg, rc, &now
}

func TestRetriesUntilDeadLetterThenRedeliver(t *testing.T) {
	queues(t, func(t *testing.T, open func() Store) {
		w, q, _, rc, now := setup(t, open)
		ctx := context.Background()
		enqueue(t, q, *now, Job{ID: "d-fail", EndpointID: "fail"})
		for attempt := 1; attempt <= len(Schedule)+1; attempt++ {
			if n, err := w.RunOnce(ctx); n != 1 || err != nil {
				t.Fatalf("attempt %d: %d attempted, %v", attempt, n, err)
			}
			if n, _ := w.RunOnce(ctx); n != 0 {
				t.Fatalf("attempt %d: retried before its time", attempt)
			}
			j := get(t, q, "d-fail")
			if attempt <= len(Schedule) {
				if j.State != Pending || j.NextAt.Sub(*now) != Schedule[attempt-1] {
					t.Fatalf("after attempt %d: %s, next in %s", attempt, j.State, j.NextAt.Sub(*now))
				}
				*now = j.NextAt
			} else if j.State != Dead || len(j.Log) != len(Schedule)+1 {
				t.Fatalf("after the last attempt: %s with %d attempts logged", j.State, len(j.Log))
			}
		}
		if rc.count(id("d-fail")) != len(Schedule)+1 {
			t.Fatalf("the receiver saw %d attempts of one delivery id", rc.count(id("d-fail")))
		}
		// The metrics: one attempt per schedule step and the first, all retries; one dead letter.
		m := w.cfg.Metrics
		if got := testutil.ToFloat64(m.attempts.WithLabelValues(string(Retry))); got != float64(len(Schedule)+1) {
			t.Fatalf("%v retry attempts counted, want %d", got, len(Schedule)+1)
		}
		if got := testutil.ToFloat64(m.dead); got != 1 {
			t.Fatalf("%v dead letters counted, want 1", got)
		}
		// Redelivered after the receiver is fixed: same delivery id, delivered, and the log keeps every attempt.
		rc.mu.Lock()
		rc.answer["/fail"] = 200
		rc.mu.Unlock()
		if err := q.Redeliver(ctx, id("d-fail"), *now); err != nil {
			t.Fatal(err)
		}
		if n, err := w.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("redelivery: %d attempted, %v", n, err)
		}
		if j := get(t, q, "d-fail"); j.State != Succeeded || len(j.Log) != len(Schedule)+2 {
			t.Fatalf("redelivery: %s with %d attempts logged", j.State, len(j.Log))
		}
		if err := q.Redeliver(ctx, id("never-queued"), *now); err == nil {
			t.Fatal("redelivering an unknown delivery id succeeded")
		}
	})
}

func TestGoneAndRetryAfter(t *testing.T) {
	queues(t, func(t *testing.T, open func() Store) {
		w, q, reg, rc, now := setup(t, open)
		ctx := context.Background()
		enqueue(t, q, *now, Job{ID: "d-gone", EndpointID: "gone"}, Job{ID: "d-busy", EndpointID: "busy"}, Job{ID: "d-ok", EndpointID: "ok"})
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if j := get(t, q, "d-gone"); j.State != Disabled || reg.disabled["gone"] == "" {
			t.Fatalf("410: %s, registry %v", j.State, reg.disabled)
		}
		if j := get(t, q, "d-busy"); j.State != Pending || j.NextAt.Sub(*now) != 2*time.Minute {
			t.Fatalf("429 with Retry-After 120: next in %s", j.NextAt.Sub(*now))
		}
		if j := get(t, q, "d-ok"); j.State != Succeeded || j.Attempts != 1 || len(j.Log) != 1 || j.Log[0].Status != 200 {
			t.Fatalf("ok: %+v", j)
		}
		// Another delivery to the disabled endpoint is not attempted.
		enqueue(t, q, *now, Job{ID: "d-gone-2", EndpointID: "gone"})
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if j := get(t, q, "d-gone-2"); j.State != Disabled || rc.count(id("d-gone-2")) != 0 {
			t.Fatalf("to a disabled endpoint: %s, %d attempts", j.State, rc.count(id("d-gone-2")))
		}
		// Enqueueing a delivery id again leaves the first one as it is.
		enqueue(t, q, *now, Job{ID: "d-ok", EndpointID: "ok"})
		if j := get(t, q, "d-ok"); j.State != Succeeded {
			t.Fatalf("enqueued twice: %s", j.State)
		}
	})
}

func TestWorkersShareTheQueueAndSurviveACrash(t *testing.T) {
	queues(t, func(t *testing.T, open func() Store) {
		w, q, reg, rc, now := setup(t, open)
		ctx := context.Background()
		jobs := make([]Job, 200)
		for i := range jobs {
			jobs[i] = Job{ID: fmt.Sprintf("d-%d", i), EndpointID: "ok"}
		}
		enqueue(t, q, *now, jobs...)
		other, err := NewWorker(WorkerConfig{Queue: q, Endpoints: reg, Client: NewClient(true), Now: func() time.Time { return *now }})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, worker := range []*Worker{w, other} {
			wg.Go(func() {
				for {
					if n, err := worker.RunOnce(ctx); n == 0 || err != nil {
						if err != nil {
							t.Error(err)
						}
						return
					}
				}
			})
		}
		wg.Wait()
		for i, j := range jobs {
			if got := get(t, q, fmt.Sprintf("d-%d", i)); got.State != Succeeded || rc.count(j.ID) != 1 {
				t.Fatalf("%s: %s after %d attempts", j.ID, got.State, rc.count(j.ID))
			}
		}
		// A worker that claimed a job and died: the lease runs out and the job is delivered, with its delivery id.
		enqueue(t, q, *now, Job{ID: "d-crash", EndpointID: "ok"})
		if claimed, err := q.Claim(ctx, *now, 10, leaseFor); len(claimed) != 1 || err != nil {
			t.Fatalf("claimed %d: %v", len(claimed), err)
		}
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Fatal("a leased job was attempted by another worker")
		}
		*now = now.Add(leaseFor + time.Second)
		if n, err := w.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("after the lease: %d attempted, %v", n, err)
		}
		if j := get(t, q, "d-crash"); j.State != Succeeded || rc.count(id("d-crash")) != 1 {
			t.Fatalf("after the lease: %s, %d", j.State, rc.count(id("d-crash")))
		}
	})
}

// TestBacklogIsDrainedWithoutWaitingForThePoll: a backlog larger than one batch is delivered batch after batch,
// not one batch per poll (here an hour).
func TestBacklogIsDrainedWithoutWaitingForThePoll(t *testing.T) {
	_, q, reg, rc, now := setup(t, func() Store { return NewMemoryStore() })
	w, err := NewWorker(WorkerConfig{Queue: q, Endpoints: reg, Client: NewClient(true), Now: func() time.Time { return *now },
		Poll: time.Hour, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	var jobs []Job
	for i := range 50 {
		jobs = append(jobs, Job{ID: fmt.Sprint("backlog-", i), EndpointID: "ok"})
	}
	enqueue(t, q, *now, jobs...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for {
		delivered := 0
		for i := range 50 {
			delivered += rc.count(id(fmt.Sprint("backlog-", i)))
		}
		if delivered == 50 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d of 50 delivered: the backlog waits for the poll", delivered)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}
