package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/eventstore"
)

// ErrRebuildDiffers means a projection rebuilt from zero does not equal the live one at the same position: the
// live read model is wrong (or the fold is not deterministic). The rebuilt generation is kept for inspection and
// nothing is switched.
var ErrRebuildDiffers = errors.New("rebuilt projection differs from the live one")

// Hashed is a projection generation whose whole state has a deterministic hash.
type Hashed interface {
	Projection
	StateHash(ctx context.Context) (string, error)
}

// Rebuild rebuilds a PostgreSQL projection into a new generation while the live one keeps serving, compares the
// two at the same position, and switches the new one live in the transaction that holds both checkpoints.
type Rebuild struct {
	Name        string
	Store       Reader
	Pool        *pgxpool.Pool
	Checkpoints *PGCheckpoints
	// Open opens (creating) a generation of the projection.
	Open func(ctx context.Context, generation int) (Hashed, error)
	// Progress, when set, is called about once a second while the new generation catches up.
	Progress func(Progress)
	// BatchSize of the rebuild's runner (default RebuildBatchSize).
	BatchSize int
	// Codec decodes the stored events (RunnerConfig.Codec); required.
	Codec Codec
}

// RebuildBatchSize is the default batch of a rebuild. Nobody reads a generation while it is rebuilt, so its
// batches can be larger than a live runner's: every batch rewrites each row it touches (the streams projection
// upserts every stream that one of the batch's events changed), and larger batches touch a busy row fewer times.
// On the benchmark chain (27,700 events, 1522 streams) 5000-event batches upsert 3796 stream rows and
// 20000-event batches 2003, and the PostgreSQL streams rebuild is about 40% faster. The cost is memory: a
// catching-up runner holds the batch it applies and up to three read ahead.
const RebuildBatchSize = 20000

// Progress of a rebuild.
type Progress struct {
	Position, Target eventstore.Position
	Rate             float64 // events per second
	ETA              time.Duration
}

// RebuildResult says what a rebuild did.
type RebuildResult struct {
	Name       string              `json:"name"`
	From       int                 `json:"fromGeneration"`
	To         int                 `json:"toGeneration"`
	Position   eventstore.Position `json:"position"`
	Hash       string              `json:"stateHash"`
	Events     uint64              `json:"events"`
	Elapsed    time.Duration       `json:"elapsedNs"`
	RatePerSec float64             `json:"eventsPerSecond"`
}

// Run rebuilds, compares and switches.
func (rb Rebuild) Run(ctx context.Context) (RebuildResult, error) {
	live, err := rb.Checkpoints.Live(ctx, rb.Pool, rb.Name)
	if err != nil {
		return RebuildResult{}, err
	}
	next, err := rb.Checkpoints.Next(ctx, rb.Pool, rb.Name)
	if err != nil {
		return RebuildResult{}, err
	}
	res := RebuildResult{Name: rb.Name, From: live, To: next}
	shadow, err := rb.Open(ctx, next)
	if err != nil {
		return res, err
	}
	current, err := rb.Open(ctx, live)
	if err != nil {
		return res, err
	}
	batch := rb.BatchSize
	if batch <= 0 {
		batch = RebuildBatchSize
	}
	shadowRunner, err := NewRunner(RunnerConfig{Store: rb.Store, Projection: shadow, BatchSize: batch, Codec: rb.Codec})
	if err != nil {
		return res, err
	}
	liveRunner, err := NewRunner(RunnerConfig{Store: rb.Store, Projection: current, BatchSize: batch, Codec: rb.Codec})
	if err != nil {
		return res, err
	}
	start := time.Now()
	if err := rb.catchUp(ctx, shadowRunner); err != nil {
		return res, fmt.Errorf("rebuild %s generation %d: %w", rb.Name, next, err)
	}
	res.Elapsed = time.Since(start)
	res.Events = uint64(shadowRunner.positionNow())
	res.RatePerSec = float64(res.Events) / res.Elapsed.Seconds()

	// Bring both to one position and compare there, holding both checkpoints so neither moves meanwhile. The live
	// projection may be ahead (a running serve keeps applying) or behind (none is running): whichever is behind
	// catches up, which is safe beside a running serve because every batch takes the checkpoint lock.
	for attempt := 0; ; attempt++ {
		pl, err := current.Checkpoint(ctx)
		if err != nil {
			return res, err
		}
		ps, err := shadow.Checkpoint(ctx)
		if err != nil {
			return res, err
		}
		switch {
		case pl < ps:
			err = liveRunner.CatchUpTo(ctx, ps)
		case ps < pl:
			err = shadowRunner.CatchUpTo(ctx, pl)
		}
		if err != nil {
			return res, err
		}
		done, err := rb.compareAndSwitch(ctx, current, shadow, live, next, &res)
		if done || err != nil {
			return res, err
		}
		if attempt > 100 {
			return res, fmt.Errorf("rebuild %s: the live projection kept moving; try again", rb.Name)
		}
	}
}

func (rb Rebuild) catchUp(ctx context.Context, r *Runner) error {
	head, err := rb.Store.Head(ctx)
	if err != nil {
		return err
	}
	if rb.Progress == nil {
		return r.CatchUpTo(ctx, head)
	}
	done := make(chan error, 1)
	go func() { done <- r.CatchUpTo(ctx, head) }()
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			rb.Progress(Progress{Position: r.positionNow(), Target: head, Rate: float64(r.positionNow()) / time.Since(start).Seconds()})
			return err
		case <-tick.C:
			pos := r.positionNow()
			rate := float64(pos) / time.Since(start).Seconds()
			p := Progress{Position: pos, Target: head, Rate: rate}
			if rate > 0 && head > pos {
				p.ETA = time.Duration(float64(head-pos) / rate * float64(time.Second))
			}
			rb.Progress(p)
		}
	}
}

// compareAndSwitch locks both checkpoints; at equal positions it compares the state hashes and switches.
func (rb Rebuild) compareAndSwitch(ctx context.Context, current, shadow Hashed, live, next int, res *RebuildResult) (bool, error) {
	tx, err := rb.Pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	pl, err := rb.Checkpoints.LockPosition(ctx, tx, rb.Name, live)
	if err != nil {
		return false, err
	}
	ps, err := rb.Checkpoints.LockPosition(ctx, tx, rb.Name, next)
	if err != nil {
		return false, err
	}
	if pl != ps {
		return false, nil
	}
	// Neither generation can commit a batch while its row is locked, so these reads see one position.
	hl, err := current.StateHash(ctx)
	if err != nil {
		return false, err
	}
	hs, err := shadow.StateHash(ctx)
	if err != nil {
		return false, err
	}
	res.Position, res.Hash = ps, hs
	if hl != hs {
		return true, fmt.Errorf("%w: %s at position %d: live generation %d has state %s, rebuilt generation %d has %s",
			ErrRebuildDiffers, rb.Name, ps, live, hl, next, hs)
	}
	if err := rb.Checkpoints.Switch(ctx, tx, rb.Name, next); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("switch %s to generation %d: %w", rb.Name, next, err)
	}
	return true, nil
}
