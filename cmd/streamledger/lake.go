package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain/lake"
	"github.com/streamledger/streamledger/chain/sim"
)

type lakeMakeOptions struct {
	out    string
	filler int
}

func lakeMakeFlags(fs *flag.FlagSet) any {
	o := &lakeMakeOptions{}
	fs.StringVar(&o.out, "out", "", "directory of the lake to write (created; must not hold a lake of other settings)")
	fs.IntVar(&o.filler, "pubnet-filler", 0, "pubnet-sized ledgers (pubnet ledger 58752000, re-sequenced) between consecutive simulated ledgers")
	return o
}

// runLakeMake writes a SEP-54 filesystem lake of the simulator's final chain: the ledgers serve ingests with the
// same SIM_* settings, SIM_REORGS=false and SIM_LEDGER_INTERVAL=0s (DESIGN §13). Users try backfill with it; tests
// and benchmarks use it.
func runLakeMake(ctx context.Context, env *runEnv, args []string) error {
	o := env.opts.(*lakeMakeOptions)
	switch {
	case len(args) > 0:
		return fmt.Errorf("%w: lake make takes no arguments, got %q", errUsage, args)
	case o.out == "":
		return fmt.Errorf("%w: --out DIR is required", errUsage)
	case o.filler < 0 || o.filler > 10_000:
		return fmt.Errorf("%w: --pubnet-filler %d: want 0 to 10000", errUsage, o.filler)
	case env.cfg.SimLedgers == 0:
		return fmt.Errorf("%w: --sim-ledgers / SIM_LEDGERS is required: a lake ends", errUsage)
	}
	simCfg, err := simConfig(env.cfg)
	if err != nil {
		return err
	}
	simCfg.Reorgs, simCfg.LedgerInterval = false, 0
	network, err := sim.New(simCfg)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", o.out, err)
	}
	cfg := lake.MakeConfig{Dir: o.out, NetworkPassphrase: env.cfg.NetworkPassphrase, From: network.StartLedger(), To: network.LastLedger(),
		Ledger: func(_ context.Context, seq uint32) (xdr.LedgerCloseMeta, error) { return network.Canonical(seq) }, FillerCount: o.filler}
	if o.filler > 0 {
		if cfg.Filler, err = lake.PubnetLedger(); err != nil {
			return err
		}
	}
	term := terminal(env.stderr)
	lastShown := time.Time{}
	cfg.Progress = func(written, total uint32) {
		if term != nil && (time.Since(lastShown) > 200*time.Millisecond || written == total) {
			fmt.Fprintf(term, "\r\033[Klake make: %d of %d ledgers", written, total)
			lastShown = time.Now()
		}
	}
	start := time.Now()
	res, err := lake.Make(ctx, cfg)
	if term != nil {
		fmt.Fprintln(term)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote ledgers %d..%d (%d simulated, %d fillers each) to %s: %d bytes in %s\n"+
		"backfill it with: SOURCE=lake LAKE_URL=file://%s CONTRACT_IDS=%s NETWORK_PASSPHRASE=%q streamledger serve\n",
		res.First, res.Last, network.LastLedger()-network.StartLedger()+1, o.filler, o.out, res.Bytes, time.Since(start).Round(time.Millisecond),
		absPath(o.out), network.ContractID(), env.cfg.NetworkPassphrase)
	return nil
}

// absPath is p made absolute, for a URL to paste (p itself when that fails).
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
