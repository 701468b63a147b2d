package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Generations manage the generations of a process's PostgreSQL projections (DESIGN §5): which generation of each
// is live, opened once for reads; the runner that follows the live one and moves to the next after a switch; a
// standby's view of the projections the leader runs; and rebuilds into a new generation. The projections
// themselves are the registry's: Open opens one by name, so that the core names no read model.
type Generations struct {
	Pool        *pgxpool.Pool
	Store       Reader
	Checkpoints *PGCheckpoints
	// Codec decodes the stored events (RunnerConfig.Codec); required.
	Codec Codec
	// Open opens (creating) generation gen of the named projection: the read-model registry.
	Open func(ctx context.Context, name string, gen int) (Hashed, error)
	// Recheck is how long reads trust the live generation they last looked up (default LiveRecheck).
	Recheck time.Duration
	// Every is how often a standby reads the leader's checkpoints (default 2 s).
	Every time.Duration
	// BatchSize of the live runners (default 2000).
	BatchSize int

	mu     sync.Mutex
	opened map[string]Hashed   // by "name/generation", for reads
	seen   map[string]liveSeen // by name: the live generation as last looked up
}

// liveSeen is a projection's live generation and when it was looked up.
type liveSeen struct {
	p  Hashed
	at time.Time
}

// LiveRecheck is how long reads trust the live generation they last looked up by default. Looking it up for every
// read doubled the queries of each API request. After a switch, reads may come from the retired generation for
// this long: it holds what the new one held at the switch, so they are at most this much older.
const LiveRecheck = time.Second

// Live returns the live generation of a projection, opened once.
func (g *Generations) Live(ctx context.Context, name string) (Hashed, error) {
	recheck := g.Recheck
	if recheck == 0 {
		recheck = LiveRecheck
	}
	g.mu.Lock()
	if s, ok := g.seen[name]; ok && time.Since(s.at) < recheck {
		g.mu.Unlock()
		return s.p, nil
	}
	g.mu.Unlock()
	gen, err := g.Checkpoints.Live(ctx, g.Pool, name)
	if err != nil {
		return nil, err
	}
	at := time.Now()
	key := fmt.Sprintf("%s/%d", name, gen)
	g.mu.Lock()
	defer g.mu.Unlock()
	p, ok := g.opened[key]
	if !ok {
		if p, err = g.Open(ctx, name, gen); err != nil {
			return nil, err
		}
		if g.opened == nil {
			g.opened = map[string]Hashed{}
		}
		g.opened[key] = p
	}
	if g.seen == nil {
		g.seen = map[string]liveSeen{}
	}
	g.seen[name] = liveSeen{p: p, at: at}
	return p, nil
}

// Rebuild rebuilds one projection into a new generation and switches it live (the admin API's rebuild).
func (g *Generations) Rebuild(ctx context.Context, name string) (RebuildResult, error) {
	return Rebuild{Name: name, Store: g.Store, Pool: g.Pool, Checkpoints: g.Checkpoints, Codec: g.Codec,
		Open: func(ctx context.Context, gen int) (Hashed, error) { return g.Open(ctx, name, gen) }}.Run(ctx)
}

// Follow runs the live generation of a projection until ctx ends, moving to the new one after a switch. running
// is told about each runner as it starts (to report its status); a generation that cannot start is retried.
func (g *Generations) Follow(ctx context.Context, name string, metrics *Metrics, decoded *DecodeCache, running func(*Runner),
	log *slog.Logger) {
	batch := g.BatchSize
	if batch == 0 {
		batch = 2000
	}
	for ctx.Err() == nil {
		gen, err := g.Checkpoints.Live(ctx, g.Pool, name)
		var p Projection
		if err == nil {
			p, err = g.Open(ctx, name, gen)
		}
		var r *Runner
		if err == nil {
			r, err = NewRunner(RunnerConfig{Store: g.Store, Projection: p, BatchSize: batch, Metrics: metrics,
				Codec: g.Codec, Decoded: decoded, Logger: log})
		}
		if err == nil {
			log.Info("projection running", "generation", gen)
			running(r)
			err = r.Run(ctx)
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrRetired):
			log.Info("projection switched to a new generation", "retired", gen)
		case err != nil:
			log.Error("projection could not start; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}
}

// Observe keeps a standby's view of a projection that the leader runs, from its stored checkpoint, until ctx ends:
// report is told each status (position and lag; a failed read is its LastError), for /health.
func (g *Generations) Observe(ctx context.Context, name string, report func(*Status)) {
	every := g.Every
	if every == 0 {
		every = 2 * time.Second
	}
	for {
		st := Status{Name: name}
		if err := g.Observed(ctx, &st); err != nil {
			st.LastError = err.Error()
		}
		if ctx.Err() != nil {
			return
		}
		report(&st)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// Observed fills st from the live generation's checkpoint: lag in events to the store's head, and in time since
// the first event it has not applied was recorded.
func (g *Generations) Observed(ctx context.Context, st *Status) error {
	gen, err := g.Checkpoints.Live(ctx, g.Pool, st.Name)
	if err != nil {
		return err
	}
	if st.Position, err = g.Checkpoints.Read(ctx, g.Pool, st.Name, gen); err != nil {
		return err
	}
	head, err := g.Store.Head(ctx)
	if err != nil || head <= st.Position {
		return err
	}
	st.LagEvents = uint64(head - st.Position)
	next, err := g.Store.ReadAll(ctx, st.Position, 1)
	if err != nil || len(next) == 0 {
		return err
	}
	st.LagMs = time.Since(next[0].RecordedAt).Milliseconds()
	return nil
}

// ReadModel is one PostgreSQL read model: its name and how a generation of it opens (creating its tables).
type ReadModel struct {
	Name string
	Open func(ctx context.Context, gen int) (Hashed, error)
}

// ReadModels is the read-model registry (DESIGN §12): the core's read models and the bound modules', in the order
// they are built. Its Open is what Generations.Open takes.
type ReadModels []ReadModel

// ErrUnknownReadModel is returned for a name the registry does not hold.
var ErrUnknownReadModel = errors.New("unknown projection")

// Names are the read models' names, in order.
func (r ReadModels) Names() []string {
	out := make([]string, len(r))
	for i, m := range r {
		out[i] = m.Name
	}
	return out
}

// Open opens generation gen of the named read model.
func (r ReadModels) Open(ctx context.Context, name string, gen int) (Hashed, error) {
	for _, m := range r {
		if m.Name == name {
			return m.Open(ctx, gen)
		}
	}
	return nil, fmt.Errorf("%w %q (want one of %v)", ErrUnknownReadModel, name, r.Names())
}
