package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/streamledger/streamledger/internal/config"
	"github.com/streamledger/streamledger/projections"
)

type replayOptions struct {
	projection string
}

func replayFlags(fs *flag.FlagSet) any {
	o := &replayOptions{}
	fs.StringVar(&o.projection, "projection", "", "rebuild only this projection (streams, audit or outbox; default all)")
	return o
}

// runReplay rebuilds PostgreSQL projections into new generations while the live ones keep serving, compares each
// with the live one at the same position, and switches it live. A difference fails the command (exit 1) and
// switches nothing. Webhooks are not sent again: deliveries are keyed by delivery id, which a rebuilt outbox
// reproduces.
func runReplay(ctx context.Context, env *runEnv, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: replay takes no arguments, got %q", errUsage, args)
	}
	opts := env.opts.(*replayOptions)
	names := projectionNames
	if opts.projection != "" {
		if !slices.Contains(projectionNames, opts.projection) {
			return fmt.Errorf("%w: --projection %q: want one of %v", errUsage, opts.projection, projectionNames)
		}
		names = []string{opts.projection}
	}
	if env.cfg.Store == config.StoreEmbedded {
		return fmt.Errorf("%w: replay rebuilds PostgreSQL read models (--store postgres or esdb); with the embedded store the read models live in memory and serve rebuilds them at every start", errUsage)
	}
	opened, err := openStore(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer opened.Close()
	store := opened.(pgBacked)
	in, err := codecOf(env.cfg)
	if err != nil {
		return err
	}
	m, err := newPGReadModels(ctx, store.Pool(), store, env.cfg.SafetyMargin, in)
	if err != nil {
		return err
	}
	for _, name := range names {
		rb := projections.Rebuild{Name: name, Store: store, Pool: store.Pool(), Checkpoints: m.Checkpoints, Codec: in,
			Open:     func(ctx context.Context, gen int) (projections.Hashed, error) { return m.open(ctx, name, gen) },
			Progress: progressReporter(env, name)}
		res, err := rb.Run(ctx)
		if err != nil {
			return fmt.Errorf("replay %s: %w", name, err)
		}
		env.log.Info("projection rebuilt and switched", "projection", name, "fromGeneration", res.From,
			"toGeneration", res.To, "position", uint64(res.Position), "events", res.Events,
			"eventsPerSecond", int64(res.RatePerSec), "seconds", res.Elapsed.Seconds(), "stateHash", res.Hash)
		fmt.Fprintf(env.stdout, "%s: generation %d → %d, %d events in %s (%.0f events/s), state %s matches the live projection\n",
			name, res.From, res.To, res.Events, res.Elapsed.Round(time.Millisecond), res.RatePerSec, res.Hash)
	}
	return nil
}

// progressReporter draws a progress line on a terminal and logs structured progress otherwise.
func progressReporter(env *runEnv, name string) func(projections.Progress) {
	terminal := isTerminal(env.stderr)
	last := time.Time{}
	return func(p projections.Progress) {
		if terminal {
			fmt.Fprintf(env.stderr, "\r%s: %d/%d events, %.0f events/s, ETA %s   ", name, p.Position, p.Target, p.Rate,
				p.ETA.Round(time.Second))
			if p.Position >= p.Target {
				fmt.Fprintln(env.stderr)
			}
			return
		}
		if time.Since(last) >= 5*time.Second || p.Position >= p.Target {
			last = time.Now()
			env.log.Info("rebuilding", "projection", name, "position", uint64(p.Position), "target", uint64(p.Target),
				"eventsPerSecond", int64(p.Rate), "etaSeconds", int64(p.ETA.Seconds()))
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
