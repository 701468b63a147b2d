package webhooks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
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
		d, err := Verify(r, VerifyConfig{Secrets: []string{secret}, Now: clock})
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

func setup(t *testing.T) (*Worker, *MemoryQueue, *registry, *receiver, *time.Time) {
	t.Helper()
	secret := GenerateSecret()
	now := time.Unix(1_767_225_600, 0)
	var mu sync.Mutex // the clock is read by the receiver's goroutines and moved by the test
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	rc, srv := newReceiver(t, secret, clock)
	reg := &registry{endpoints: map[string]Endpoint{}, disabled: map[string]string{}}
	for _, p := range []string{"ok", "fail", "gone", "busy"} {
		reg.endpoints[p] = Endpoint{ID: p, URL: srv.URL + "/" + p, Secrets: []string{secret}, Enabled: true}
	}
	rc.answer = map[string]int{"/ok": 200, "/fail": 500, "/gone": 410, "/busy": 429}
	q := NewMemoryQueue()
	w, err := NewWorker(WorkerConfig{Queue: q, Endpoints: reg, Client: NewClient(true), Now: clock,
		Jitter: func(d time.Duration) time.Duration { return d }})
	if err != nil {
		t.Fatal(err)
	}
	return w, q, reg, rc, &now
}

func TestRetriesUntilDeadLetterThenRedeliver(t *testing.T) {
	w, q, _, rc, now := setup(t)
	ctx := context.Background()
	q.Enqueue(ctx, []Job{{ID: "d-fail", EndpointID: "fail", EventType: "stream.created", Body: []byte(`{}`)}}, *now)
	for attempt := 1; attempt <= len(Schedule)+1; attempt++ {
		if n, err := w.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("attempt %d: %d attempted, %v", attempt, n, err)
		}
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Fatalf("attempt %d: retried before its time", attempt)
		}
		j, _ := q.Get("d-fail")
		if attempt <= len(Schedule) {
			if j.State != Pending || j.NextAt.Sub(*now) != Schedule[attempt-1] {
				t.Fatalf("after attempt %d: %s, next in %s", attempt, j.State, j.NextAt.Sub(*now))
			}
			*now = j.NextAt
		} else if j.State != Dead || len(j.Log) != len(Schedule)+1 {
			t.Fatalf("after the last attempt: %s with %d attempts logged", j.State, len(j.Log))
		}
	}
	if rc.count("d-fail") != len(Schedule)+1 {
		t.Fatalf("the receiver saw %d attempts of one delivery id", rc.count("d-fail"))
	}
	// Redelivered after the receiver is fixed: same delivery id, delivered.
	rc.answer["/fail"] = 200
	if err := q.Redeliver(ctx, "d-fail", *now); err != nil {
		t.Fatal(err)
	}
	w.RunOnce(ctx)
	if j, _ := q.Get("d-fail"); j.State != Succeeded {
		t.Fatalf("redelivery: %s", j.State)
	}
}

func TestGoneAndRetryAfter(t *testing.T) {
	w, q, reg, rc, now := setup(t)
	ctx := context.Background()
	q.Enqueue(ctx, []Job{{ID: "d-gone", EndpointID: "gone"}, {ID: "d-busy", EndpointID: "busy"}, {ID: "d-ok", EndpointID: "ok"}}, *now)
	w.RunOnce(ctx)
	if j, _ := q.Get("d-gone"); j.State != Disabled || reg.disabled["gone"] == "" {
		t.Fatalf("410: %s, registry %v", j.State, reg.disabled)
	}
	if j, _ := q.Get("d-busy"); j.State != Pending || j.NextAt.Sub(*now) != 2*time.Minute {
		t.Fatalf("429 with Retry-After 120: next in %s", j.NextAt.Sub(*now))
	}
	if j, _ := q.Get("d-ok"); j.State != Succeeded || j.Attempts != 1 {
		t.Fatalf("ok: %+v", j)
	}
	// Another delivery to the disabled endpoint is not attempted.
	q.Enqueue(ctx, []Job{{ID: "d-gone-2", EndpointID: "gone"}}, *now)
	w.RunOnce(ctx)
	if j, _ := q.Get("d-gone-2"); j.State != Disabled || rc.count("d-gone-2") != 0 {
		t.Fatalf("to a disabled endpoint: %s, %d attempts", j.State, rc.count("d-gone-2"))
	}
}

func TestWorkersShareTheQueueAndSurviveACrash(t *testing.T) {
	w, q, reg, rc, now := setup(t)
	ctx := context.Background()
	var jobs []Job
	for i := range 200 {
		jobs = append(jobs, Job{ID: "d-" + string(rune('a'+i%26)) + string(rune('a'+i/26)), EndpointID: "ok"})
	}
	q.Enqueue(ctx, jobs, *now)
	other, _ := NewWorker(WorkerConfig{Queue: q, Endpoints: reg, Client: NewClient(true), Now: func() time.Time { return *now }})
	var wg sync.WaitGroup
	for _, worker := range []*Worker{w, other} {
		wg.Go(func() {
			for {
				if n, _ := worker.RunOnce(ctx); n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, j := range jobs {
		if got, _ := q.Get(j.ID); got.State != Succeeded || rc.count(j.ID) != 1 {
			t.Fatalf("%s: %s after %d attempts", j.ID, got.State, rc.count(j.ID))
		}
	}
	// A worker that claimed a job and died: the lease runs out and the job is delivered, with its delivery id.
	q.Enqueue(ctx, []Job{{ID: "d-crash", EndpointID: "ok"}}, *now)
	if claimed, _ := q.Claim(ctx, *now, 10, leaseFor); len(claimed) != 1 {
		t.Fatalf("claimed %d", len(claimed))
	}
	if n, _ := w.RunOnce(ctx); n != 0 {
		t.Fatal("a leased job was attempted by another worker")
	}
	*now = now.Add(leaseFor + time.Second)
	w.RunOnce(ctx)
	if j, _ := q.Get("d-crash"); j.State != Succeeded || rc.count("d-crash") != 1 {
		t.Fatalf("after the lease: %s, %d", j.State, rc.count("d-crash"))
	}
}
