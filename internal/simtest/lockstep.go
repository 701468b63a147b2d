package simtest

import (
	"sync/atomic"
	"time"

	"github.com/streamledger/streamledger/chain/sim"
)

// Lockstep is the clock of a clock-paced simulated network that moves only when its reader has caught up. A
// flipping source shows each change of mind for one ledger of its tip; paced by the wall clock, a reader slowed
// down by a loaded machine reads past some of them and the test exercises less than it claims. Paced by the
// reader, it sees every one, on any machine.
type Lockstep struct {
	epoch    time.Time
	interval time.Duration
	ledgers  atomic.Int64
}

// NewLockstep sets cfg's clock (Epoch and Now) to one that Step moves. cfg.LedgerInterval must be positive.
func NewLockstep(cfg *sim.Config) *Lockstep {
	l := &Lockstep{epoch: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), interval: cfg.LedgerInterval}
	cfg.Epoch = l.epoch
	cfg.Now = func() time.Time { return l.epoch.Add(time.Duration(l.ledgers.Load()) * l.interval) }
	return l
}

// Step moves the network on by one ledger when the reader has stored its tip (stored is the reader's highest
// stored ledger, 0 before the first), and reports whether it did.
func (l *Lockstep) Step(network *sim.Chain, stored uint32) bool {
	if max(stored, network.StartLedger()-1) < network.Tip() {
		return false
	}
	l.ledgers.Add(1)
	return true
}
