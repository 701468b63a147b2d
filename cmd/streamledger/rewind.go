package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamledger/streamledger/internal/leader"
)

type rewindOptions struct {
	to       uint
	confirm  bool
	reason   string
	operator string
}

func rewindFlags(fs *flag.FlagSet) any {
	o := &rewindOptions{}
	fs.UintVar(&o.to, "to", 0, "the ledger to rewind to (the fork point of the reorg that halted ingestion)")
	fs.BoolVar(&o.confirm, "confirm", false, "do it: every stored event above --to is compensated")
	fs.StringVar(&o.reason, "reason", "", "why, for the audit log")
	fs.StringVar(&o.operator, "operator", "", "who, for the audit log")
	return o
}

// runRewind compensates every stored ledger above --to, as a reorg with that fork point, and records the action in
// the audit log; the next serve resumes ingestion from --to + 1. It refuses to run beside a serve.
func runRewind(ctx context.Context, env *runEnv, args []string) error {
	o := env.opts.(*rewindOptions)
	switch {
	case len(args) > 0:
		return fmt.Errorf("%w: rewind takes no arguments, got %q", errUsage, args)
	case o.to == 0 || o.to > 1<<32-1:
		return fmt.Errorf("%w: --to LEDGER is required", errUsage)
	case o.operator == "" || o.reason == "":
		return fmt.Errorf("%w: --operator and --reason are required: the rewind is audited", errUsage)
	case !o.confirm:
		return fmt.Errorf("%w: rewinding compensates every stored event above ledger %d; add --confirm to do it", errUsage, o.to)
	}
	store, err := openStore(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer store.Close()
	if pg, ok := store.(pgBacked); ok { // the embedded store's file lock already keeps serve out
		release, held, err := leader.Hold(ctx, pg.Pool(), leaderKey())
		if err != nil {
			return err
		}
		if !held {
			return errors.New("a serve is running on this database (it leads ingestion): stop every serve, then rewind")
		}
		defer release()
	}
	src, err := newIngester(ctx, env.cfg, store, prometheus.NewRegistry(), env.log)
	if err != nil {
		return err
	}
	defer src.close()
	summary, err := src.ingester.Rewind(ctx, uint32(o.to), o.operator, o.reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "rewound from ledger %d to %d: %d events compensated; serve resumes ingestion from ledger %d\n",
		summary.OldTip, summary.Fork, summary.Reverted, summary.Fork+1)
	return nil
}
