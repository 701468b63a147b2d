package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// JobState is where a delivery stands.
type JobState string

const (
	Pending   JobState = "pending"
	Succeeded JobState = "delivered"
	Dead      JobState = "dead"     // the schedule ran out: kept, visible, redeliverable
	Disabled  JobState = "disabled" // its endpoint answered 410 or was disabled
)

// Job is one delivery: an event's body for one endpoint, with its attempts. Its ID, the delivery id, is stable
// across retries and redeliveries.
type Job struct {
	ID         string
	Seq        uint64 // enqueue order, for listings
	EndpointID string
	EventID    string
	EventType  string
	Body       []byte
	State      JobState
	Attempts   int
	CreatedAt  time.Time
	NextAt     time.Time
	LeaseUntil time.Time
	Log        []Attempt
}

// Endpoints is the registry the worker reads and disables endpoints in.
type Endpoints interface {
	Endpoint(ctx context.Context, id string) (Endpoint, bool, error)
	Disable(ctx context.Context, id, reason string) error
}

// Queue holds the deliveries. Claim hands out due jobs under a lease, so that two workers never attempt the same
// delivery at once, and a worker that dies mid-attempt lets the lease expire and the job be attempted again (with
// the same delivery id: at least once).
type Queue interface {
	Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Job, error)
	Finish(ctx context.Context, id string, a Attempt, state JobState, next time.Time) error
}

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	Queue       Queue
	Endpoints   Endpoints
	Client      *http.Client
	Concurrency int           // attempts in flight (default 16)
	Poll        time.Duration // how often to look for due jobs (default 250 ms)
	Now         func() time.Time
	Jitter      func(time.Duration) time.Duration // nil: ±10%
	Metrics     *Metrics                          // nil counts nothing
	Logger      *slog.Logger
}

// Worker delivers due jobs until its context ends.
type Worker struct {
	cfg WorkerConfig
}

// NewWorker checks the configuration.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	if cfg.Queue == nil || cfg.Endpoints == nil || cfg.Client == nil {
		return nil, errors.New("webhooks: a queue, an endpoint registry and a client are required")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{cfg: cfg}, nil
}

// leaseFor covers one attempt with room to record it.
const leaseFor = 2 * DeliveryTimeout

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	tick := time.NewTicker(w.cfg.Poll)
	defer tick.Stop()
	for {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("webhook worker", "err", err)
		}
		if err == nil && n == w.cfg.Concurrency && ctx.Err() == nil {
			continue // a full batch: more may be due, and a backlog is drained at once, not a batch per poll
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Result is what an attempt did to its delivery: the attempt, the delivery's new state and its next due time.
type Result struct {
	ID      string
	Attempt Attempt
	State   JobState
	Next    time.Time
}

// batchFinisher is a queue that records the results of a batch of attempts at once (the file store: one
// transaction, one sync, for the batch instead of one each).
type batchFinisher interface {
	FinishMany(ctx context.Context, results []Result) error
}

// RunOnce claims the due jobs, attempts each (concurrently), records what they did, and returns how many it
// attempted.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	jobs, err := w.cfg.Queue.Claim(ctx, w.cfg.Now(), w.cfg.Concurrency, leaseFor)
	if err != nil {
		return 0, fmt.Errorf("claim deliveries: %w", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	results := make([]*Result, len(jobs))
	for i, j := range jobs {
		wg.Go(func() { results[i], errs[i] = w.attempt(ctx, j) })
	}
	wg.Wait()
	// An attempt that was made is recorded even when the worker is stopping: otherwise its lease would run out and
	// the receiver get it again sooner than the schedule says.
	record, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var done []Result
	for _, r := range results {
		if r != nil {
			done = append(done, *r)
		}
	}
	w.cfg.Metrics.recorded(done)
	if bf, ok := w.cfg.Queue.(batchFinisher); ok && len(done) > 0 {
		errs = append(errs, bf.FinishMany(record, done))
	} else {
		for _, r := range done {
			errs = append(errs, w.cfg.Queue.Finish(record, r.ID, r.Attempt, r.State, r.Next))
		}
	}
	return len(jobs), errors.Join(errs...)
}

// attempt makes one attempt of j and says what it did (nil with an error when it could not be made).
func (w *Worker) attempt(ctx context.Context, j Job) (*Result, error) {
	ep, ok, err := w.cfg.Endpoints.Endpoint(ctx, j.EndpointID)
	if err != nil {
		return nil, fmt.Errorf("endpoint %s: %w", j.EndpointID, err)
	}
	now := w.cfg.Now()
	if !ok || !ep.Enabled {
		a := Attempt{DeliveryID: j.ID, Number: j.Attempts, At: now, Error: "endpoint removed or disabled", Outcome: Gone}
		return &Result{ID: j.ID, Attempt: a, State: Disabled}, nil
	}
	a := Send(ctx, w.cfg.Client, ep.URL, ep.SigningSecrets(now), ep.ExtraSignatures, j.ID, j.EventType, j.Body, j.Attempts+1, w.cfg.Now)
	w.cfg.Logger.Info("webhook attempt", "deliveryId", j.ID, "endpoint", ep.ID, "attempt", a.Number, "status", a.Status,
		"latencyMs", a.Latency.Milliseconds(), "outcome", a.Outcome, "err", a.Error)
	switch a.Outcome {
	case Delivered:
		return &Result{ID: j.ID, Attempt: a, State: Succeeded}, nil
	case Gone:
		record, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := w.cfg.Endpoints.Disable(record, ep.ID, "the receiver answered 410 Gone"); err != nil {
			return nil, err // not recorded: the lease runs out and the attempt is made again
		}
		return &Result{ID: j.ID, Attempt: a, State: Disabled}, nil
	}
	next, more := NextAttempt(a.Number, a.At, a.RetryAfter, w.cfg.Jitter)
	if !more {
		return &Result{ID: j.ID, Attempt: a, State: Dead}, nil
	}
	return &Result{ID: j.ID, Attempt: a, State: Pending, Next: next}, nil
}
