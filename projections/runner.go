package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/retry"
)

// Event is a stored event with its decoded domain event.
type Event struct {
	eventstore.Recorded
	Domain domain.Event
}

// Codec is how the log's readers decode stored events (DESIGN §12): the registry of the core's and the bound
// modules' event types, and today's decoders, by which a contract event an older decoder kept as observed becomes
// the typed event its module makes of it now (decoder evolution). chain.Contracts is one; Registry is one without
// decoders.
type Codec interface {
	Events() *domain.Registry
	Interpret(domain.Event) domain.Event
}

// ErrNoCodec is returned by what reads the log when it was given no Codec.
var ErrNoCodec = errors.New("no event codec configured")

// Registry is a Codec that reads events as they were stored (no decoder evolution): for tools and tests that
// know their event types.
func Registry(r *domain.Registry) Codec { return plain{r} }

type plain struct{ r *domain.Registry }

func (p plain) Events() *domain.Registry            { return p.r }
func (plain) Interpret(e domain.Event) domain.Event { return e }

// Decode decodes a stored event with c. Events c does not know (a newer writer's, an unbound module's) are an
// error: a projection that skipped them would silently diverge. The event shares rec.Data's memory, which is
// read-only.
func Decode(rec eventstore.Recorded, c Codec) (Event, error) {
	if c == nil {
		return Event{}, ErrNoCodec
	}
	e, err := c.Events().UnmarshalShared(rec.Data)
	if err != nil {
		return Event{}, fmt.Errorf("decode event %s at position %d: %w", rec.ID, rec.Position, err)
	}
	return Event{Recorded: rec, Domain: c.Interpret(e)}, nil
}

// Projection is a read model built from the event log. Apply must make the batch's changes and the new
// checkpoint (the last event's position) visible atomically: all of them or none.
type Projection interface {
	Name() string
	Checkpoint(ctx context.Context) (eventstore.Position, error)
	Apply(ctx context.Context, batch []Event) error
}

// Selective is implemented by a projection that folds only part of the log. The runner decodes only the events
// it Wants; the others still reach Apply, in order and with a nil Domain, so that its checkpoint moves past them.
// Decoding is most of a rebuild's time, and most events concern one projection or another, not all of them.
type Selective interface {
	Wants(rec *eventstore.Recorded) bool
}

// Reader is what the runner needs from the event store.
type Reader interface {
	ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error)
	SubscribeAll(ctx context.Context, from eventstore.Position) (<-chan eventstore.Recorded, <-chan error)
	Head(ctx context.Context) (eventstore.Position, error)
}

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	Store      Reader
	Projection Projection
	// BatchSize bounds the events of one Apply (default 2000).
	BatchSize int
	// PageBytes bounds the data and metadata of a catch-up page (default DefaultPageBytes): once the runner has
	// seen how large events are, pages of larger events hold fewer of them.
	PageBytes int
	// Decoded, when set, is shared by the runners of one process so that each event is decoded once.
	Decoded *DecodeCache
	// Codec decodes the stored events (see Decode); required.
	Codec Codec
	// RetryInitial and RetryMax bound the backoff after a failed batch (defaults 200 ms and 30 s).
	RetryInitial, RetryMax time.Duration
	Logger                 *slog.Logger
	Metrics                *Metrics
	Now                    func() time.Time
	Sleep                  func(ctx context.Context, d time.Duration) error
}

// DefaultPageBytes is the default bound of a catch-up page's data. A rebuild holds the page it applies and up to
// three more read ahead: with 20,000-event pages, events of a few KiB fit, and a log of larger ones is read in
// proportionally fewer events per page instead of in gigabytes.
const DefaultPageBytes = 64 << 20

// Status is where a projection stands.
type Status struct {
	Name      string              `json:"name"`
	Position  eventstore.Position `json:"position"`
	LagEvents uint64              `json:"lagEvents"`
	LagMs     int64               `json:"lagMs"`
	// Starting: the runner has not read the store's head yet, so its lag is not known (not zero).
	Starting  bool   `json:"starting,omitempty"`
	LastError string `json:"lastError,omitempty"`
}

// Runner feeds a projection: catch-up from its checkpoint, then live, in batches. After a failure it starts
// again from the checkpoint the projection stored, so a batch that did not commit is applied again and one that
// did is not: the effect is exactly once as long as Apply is atomic.
type Runner struct {
	cfg   RunnerConfig
	retry retry.Policy
	wants func(*eventstore.Recorded) bool // nil: every event

	// eventBytes is the mean data and metadata of an event of the last page read: it sizes the next page.
	eventBytes atomic.Int64

	mu       sync.Mutex
	position eventstore.Position
	head     eventstore.Position
	headRead bool      // head has been read once
	behind   time.Time // recording time of the oldest event not yet applied; zero when caught up
	lastErr  string
}

// NewRunner checks the configuration.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Store == nil || cfg.Projection == nil {
		return nil, errors.New("runner: a store and a projection are required")
	}
	if cfg.Codec == nil {
		return nil, fmt.Errorf("runner %s: %w", cfg.Projection.Name(), ErrNoCodec)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 2000
	}
	if cfg.PageBytes <= 0 {
		cfg.PageBytes = DefaultPageBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Runner{cfg: cfg, retry: retry.Policy{Initial: cfg.RetryInitial, Max: cfg.RetryMax, Sleep: cfg.Sleep}.WithDefaults(200 * time.Millisecond)}
	if s, ok := cfg.Projection.(Selective); ok {
		r.wants = s.Wants
	}
	return r, nil
}

// Status reports the projection's position and lag.
func (r *Runner) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Status{Name: r.cfg.Projection.Name(), Position: r.position, LastError: r.lastErr, Starting: !r.headRead}
	if r.head > r.position {
		s.LagEvents = uint64(r.head - r.position)
	}
	if !r.behind.IsZero() {
		s.LagMs = r.cfg.Now().Sub(r.behind).Milliseconds()
	}
	return s
}

// Run applies events until ctx ends; failures are retried from the stored checkpoint with backoff.
func (r *Runner) Run(ctx context.Context) error {
	failures := 0
	for ctx.Err() == nil {
		err := r.session(ctx, 0, func() { failures = 0 })
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, ErrRetired) {
			return err
		}
		failures++
		r.mu.Lock()
		r.lastErr = err.Error()
		r.mu.Unlock()
		r.cfg.Metrics.failure(r.cfg.Projection.Name())
		r.cfg.Logger.Warn("projection failed; resuming from its checkpoint", "projection", r.cfg.Projection.Name(),
			"err", err, "attempt", failures)
		if err := r.retry.Wait(ctx, failures); err != nil {
			break
		}
	}
	return nil
}

// CatchUp applies every event up to the store's head at the time of the call and returns: for rebuilds and tests.
func (r *Runner) CatchUp(ctx context.Context) error {
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return fmt.Errorf("read head: %w", err)
	}
	return r.CatchUpTo(ctx, head)
}

// CatchUpTo applies the events up to position target exactly (not one further) and returns. A checkpoint found
// ahead of the runner (a commit whose acknowledgement was lost) is not a failure: the runner resumes from it.
func (r *Runner) CatchUpTo(ctx context.Context, target eventstore.Position) error {
	for {
		from, err := r.cfg.Projection.Checkpoint(ctx)
		if err != nil || from >= target {
			return err
		}
		sctx, cancel := context.WithCancel(ctx)
		err = r.session(sctx, target, func() {
			if r.positionNow() >= target {
				cancel()
			}
		})
		cancel()
		if r.positionNow() >= target {
			return nil
		}
		if !errors.Is(err, ErrCheckpointMoved) {
			return err
		}
	}
}

func (r *Runner) positionNow() eventstore.Position {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.position
}

// session reads from the stored checkpoint and applies batches until ctx ends or something fails; with until > 0
// no batch goes past that position.
func (r *Runner) session(ctx context.Context, until eventstore.Position, applied func()) error {
	name := r.cfg.Projection.Name()
	after, err := r.cfg.Projection.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("%s: read checkpoint: %w", name, err)
	}
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return fmt.Errorf("%s: read head: %w", name, err)
	}
	r.mu.Lock()
	r.position = after
	r.head, r.headRead = max(r.head, head), true
	r.mu.Unlock()
	for {
		// Catch up with whole pages first (large batches are what make set-based writes pay), read and decoded
		// ahead on another goroutine while this one applies. Then follow the subscription, until the projection
		// falls a whole batch behind: a subscription's batches are what its buffer held, and a projection that
		// lags (a burst of appends, a slow write) catches up faster in whole pages again.
		after, err = r.catchUpPages(ctx, after, until, applied)
		if err != nil || (until > 0 && after >= until) || ctx.Err() != nil {
			if err == nil {
				err = ctx.Err()
			}
			return err
		}
		var behind bool
		if after, behind, err = r.follow(ctx, after, until, applied); !behind {
			return err
		}
	}
}

// follow applies what the subscription after position after delivers, until ctx ends, something fails, until is
// reached, or the store's head is a whole batch ahead of the projection (behind): it returns the last applied
// position.
func (r *Runner) follow(ctx context.Context, after, until eventstore.Position, applied func()) (eventstore.Position, bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errs := r.cfg.Store.SubscribeAll(ctx, after)
	recs := make([]eventstore.Recorded, 0, r.cfg.BatchSize)
	for {
		recs = recs[:0]
		rec, ok := <-events
		if !ok {
			if err := <-errs; err != nil {
				return after, false, fmt.Errorf("%s: read events: %w", r.cfg.Projection.Name(), err)
			}
			return after, false, ctx.Err()
		}
		if until > 0 && rec.Position > until {
			return after, false, nil
		}
		recs = append(recs, rec)
	drain:
		for len(recs) < cap(recs) && (until == 0 || recs[len(recs)-1].Position < until) {
			select {
			case rec, ok := <-events:
				if !ok || (until > 0 && rec.Position > until) {
					break drain
				}
				recs = append(recs, rec)
			default:
				break drain
			}
		}
		if err := r.applyBatch(ctx, recs, applied); err != nil {
			return after, false, err
		}
		after = recs[len(recs)-1].Position
		r.mu.Lock()
		behind := r.head >= after+eventstore.Position(r.cfg.BatchSize)
		r.mu.Unlock()
		if behind {
			return after, true, nil
		}
	}
}

// page is a batch read and decoded ahead.
type page struct {
	events []Event
	full   bool
	err    error
}

// catchUpPages applies whole pages from after from until a short page (the head) or until; it returns the last
// applied position.
func (r *Runner) catchUpPages(ctx context.Context, from, until eventstore.Position, applied func()) (eventstore.Position, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan page, 2)
	go func() {
		defer close(pages)
		after := from
		for {
			size := r.pageSize()
			recs, err := r.cfg.Store.ReadAll(ctx, after, size)
			r.measure(recs)
			p := page{full: len(recs) == size, err: err}
			for until > 0 && len(recs) > 0 && recs[len(recs)-1].Position > until {
				recs, p.full = recs[:len(recs)-1], false
			}
			if err == nil && len(recs) > 0 {
				p.events, p.err = r.cfg.Decoded.decode(recs, r.wants, r.cfg.Codec)
			}
			select {
			case pages <- p:
			case <-ctx.Done():
				return
			}
			if p.err != nil || !p.full || len(recs) == 0 {
				return
			}
			after = recs[len(recs)-1].Position
		}
	}()
	after := from
	for p := range pages {
		if p.err != nil {
			return after, fmt.Errorf("%s: read events: %w", r.cfg.Projection.Name(), p.err)
		}
		if len(p.events) == 0 {
			break
		}
		if err := r.applyDecoded(ctx, p.events, applied); err != nil {
			return after, err
		}
		after = p.events[len(p.events)-1].Position
		if until > 0 && after >= until {
			break
		}
	}
	return after, nil
}

// pageSize is how many events the next catch-up page asks for: a whole batch, unless events of the size seen
// last would take more than PageBytes.
func (r *Runner) pageSize() int {
	mean := r.eventBytes.Load()
	if mean <= 0 {
		return r.cfg.BatchSize
	}
	return int(max(1, min(int64(r.cfg.BatchSize), int64(r.cfg.PageBytes)/mean)))
}

func (r *Runner) measure(recs []eventstore.Recorded) {
	if len(recs) == 0 {
		return
	}
	total := 0
	for i := range recs {
		total += len(recs[i].Data) + len(recs[i].Metadata)
	}
	r.eventBytes.Store(int64(max(1, total/len(recs))))
}

// applyBatch decodes and applies one batch, and records where the projection stands.
func (r *Runner) applyBatch(ctx context.Context, recs []eventstore.Recorded, applied func()) error {
	batch, err := r.cfg.Decoded.decode(recs, r.wants, r.cfg.Codec)
	if err != nil {
		return fmt.Errorf("%s: %w", r.cfg.Projection.Name(), err)
	}
	return r.applyDecoded(ctx, batch, applied)
}

// applyDecoded applies one decoded batch and records where the projection stands.
func (r *Runner) applyDecoded(ctx context.Context, batch []Event, applied func()) error {
	name := r.cfg.Projection.Name()
	if head, err := r.cfg.Store.Head(ctx); err == nil {
		r.mu.Lock()
		r.head, r.headRead = head, true
		r.behind = batch[0].RecordedAt
		r.mu.Unlock()
	}
	start := time.Now()
	if err := r.cfg.Projection.Apply(ctx, batch); err != nil {
		return fmt.Errorf("%s: apply events %d..%d: %w", name, batch[0].Position, batch[len(batch)-1].Position, err)
	}
	r.mu.Lock()
	r.position = batch[len(batch)-1].Position
	if r.position >= r.head {
		r.behind = time.Time{}
	}
	r.lastErr = ""
	r.mu.Unlock()
	r.cfg.Metrics.applied(name, len(batch), time.Since(start), r.Status())
	applied()
	return nil
}
