// Package sim is a deterministic Stellar network for demos and tests: a Fluxora contract whose streams go through
// realistic lifecycles, published as real xdr.LedgerCloseMeta (valid transaction sets, hashes, results and Soroban
// meta with contract events, a header hash chain) through the SDK's ledgerbackend.LedgerBackend interface.
//
// The same seed always yields the same canonical chain. Reorgs are scripted: a reorg at ledger L of depth k means
// that while the network's tip is in L-k+1..L those ledgers come from an abandoned branch (other transactions,
// other hashes), and once the tip passes L the canonical ledgers replace them. With reorgs disabled the network
// only ever shows the canonical chain, so a clean ingest of it is the reference a reorged ingest must equal.
//
// The network's tip advances when a reader asks for a ledger beyond it (LedgerInterval 0: as fast as asked) or
// with the wall clock (one ledger per LedgerInterval). Chain time is its own: ledger close times start at
// Genesis and advance ChainSpacing per ledger whatever the pace, so that a replay is identical to the first run.
package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// Reorg scripts one reorganisation: ledgers At-Depth+1..At are first seen on an abandoned branch.
//
// With Flips, the source changes its mind more than once, as one with a stale node behind a load balancer does,
// one ledger of tip at a time: FlipBack (A → B → A) shows the canonical chain, then, while the tip is At+1, an
// abandoned branch forked at At-Depth, then the canonical chain again (its ledgers At-Depth+1..At come back);
// FlipTwice (A → B → A → B) shows the abandoned branch up to At, the canonical chain at tip At+1, the abandoned
// branch again at tip At+2 (its ledgers come back), then the canonical chain for good (its ledgers come back).
// The final chain is the canonical one either way.
type Reorg struct {
	At    uint32
	Depth uint32
	Flips Flip
}

// Flip is how often a reorg's source changes its mind.
type Flip int

const (
	NoFlip    Flip = iota
	FlipBack       // A → B → A
	FlipTwice      // A → B → A → B
)

// span is how many ledgers of tip a reorg's abandoned branch is shown for beyond At, and so how far it extends.
func (r Reorg) span() uint32 { return uint32(r.Flips) }

// abandonedShown tells whether the source shows the reorg's abandoned branch while its tip is tip.
func (r Reorg) abandonedShown(tip uint32) bool {
	switch r.Flips {
	case FlipBack:
		return tip == r.At+1
	case FlipTwice:
		return tip <= r.At || tip == r.At+2
	}
	return tip <= r.At
}

// Deepest is how deep the reorgs of r reach below the stored tip: a flip's last change of mind undoes the ledgers
// of the branch shown before it, which extends beyond At.
func (r Reorg) Deepest() uint32 { return r.Depth + r.span() }

// Config is a simulated network.
type Config struct {
	Seed              uint64
	NetworkPassphrase string
	// Streams is how many payment streams are live at a time; closed ones are replaced by new ones.
	Streams int
	// TxPerLedger is the mean number of contract calls per ledger.
	TxPerLedger int
	// StartLedger is the first ledger of the chain (default 2: ledger 1 is genesis).
	StartLedger uint32
	// Ledgers stops production after ledger StartLedger+Ledgers-1; 0 is endless.
	Ledgers uint32
	// LedgerInterval paces production by the wall clock; 0 produces ledgers as fast as they are asked for.
	LedgerInterval time.Duration
	// Genesis and ChainSpacing define close times (defaults 2026-01-01T00:00:00Z and 5 s).
	Genesis      time.Time
	ChainSpacing time.Duration
	// Epoch is the wall time the clock-paced network produced its first ledger at (default: when New is called).
	// A long-lived deployment keeps it, with Genesis = Epoch and ChainSpacing = LedgerInterval, so that close
	// times track the wall clock and a restart finds the network where it would have been.
	Epoch time.Time
	// MetaVersion is 4 (protocol 23, LedgerCloseMeta v2; the default) or 3 (protocol 22, LedgerCloseMeta v1).
	MetaVersion int
	// Reorgs enables reorganisations: every ReorgEvery ledgers one of depth 1..ReorgDepth, a deep one of depth
	// DeepReorgDepth at DeepReorgAt, and the scripted ones in Script.
	Reorgs     bool
	ReorgEvery uint32
	ReorgDepth uint32
	// Flips makes the scheduled reorgs flip (see Reorg), alternately FlipBack and FlipTwice, each no deeper than
	// ReorgDepth (a FlipBack needs 2, a FlipTwice 3); those that cannot are plain reorgs.
	Flips          bool
	DeepReorgAt    uint32
	DeepReorgDepth uint32
	Script         []Reorg
	// Retain is how many recent ledgers the network keeps (default 4096); older ones are gone, as on an RPC
	// server past its retention window.
	Retain int
	// Now is the wall clock (default time.Now).
	Now func() time.Time
	// Scenarios are other modules' simulated contracts (DESIGN §12), played after the stream contract's in every
	// ledger of every branch.
	Scenarios []Scenario
}

// Scenario is a module's simulated contract and its users (DESIGN §12): the transactions of one ledger, played
// forward from its own random choices (so that every event is one its contract could emit); Fork copies it for an
// abandoned branch, which then chooses from rng. The stream contract's is the first scenario of every chain.
type Scenario interface {
	Ledger(seq uint32, closeTime uint64) ([]Tx, error)
	Fork(rng *rand.Rand) Scenario
}

// Errors.
var (
	ErrPruned       = errors.New("ledger is older than the network retains")
	ErrBeforeStart  = errors.New("ledger is before the chain's first ledger")
	ErrNotPrepared  = errors.New("backend not prepared")
	ErrClosed       = errors.New("backend closed")
	ErrInvalidRange = errors.New("invalid ledger range")
)

// Chain is the simulated network. It is safe for concurrent use by any number of backends.
type Chain struct {
	cfg     Config
	asm     assembler
	reorgs  map[uint32]Reorg // by the first ledger of the abandoned branch
	deepest uint32           // the largest depth in reorgs
	started time.Time

	mu        sync.Mutex
	produced  chan struct{} // closed and replaced whenever the tip moves
	tip       uint32        // highest ledger produced; StartLedger-1 before the first
	canonical map[uint32]xdr.LedgerCloseMeta
	abandoned map[uint32]xdr.LedgerCloseMeta
	world     *world                   // the stream contract's scenario
	drift     map[uint64]domain.Amount // by stream id: what DriftStream adds to the served deposits
	scenarios []Scenario               // the world, then Config.Scenarios
	generated uint32                   // highest canonical ledger generated
	lastHash  xdr.Hash
	lastOld   uint32 // oldest retained canonical ledger
}

// New checks the configuration and returns the network, with no ledger produced yet.
func New(cfg Config) (*Chain, error) {
	if cfg.NetworkPassphrase == "" {
		return nil, errors.New("sim: empty network passphrase")
	}
	if cfg.Streams < 1 {
		return nil, fmt.Errorf("sim: %d streams (want ≥ 1)", cfg.Streams)
	}
	if cfg.TxPerLedger < 0 {
		return nil, fmt.Errorf("sim: %d transactions per ledger (want ≥ 0)", cfg.TxPerLedger)
	}
	if cfg.StartLedger == 0 {
		cfg.StartLedger = 2
	}
	if cfg.Genesis.IsZero() {
		cfg.Genesis = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.ChainSpacing == 0 {
		cfg.ChainSpacing = 5 * time.Second
	}
	if cfg.ChainSpacing < time.Second {
		return nil, fmt.Errorf("sim: chain spacing %s (want ≥ 1s: close times are whole seconds)", cfg.ChainSpacing)
	}
	switch cfg.MetaVersion {
	case 0:
		cfg.MetaVersion = 4
	case 3, 4:
	default:
		return nil, fmt.Errorf("sim: meta version %d (want 3 or 4)", cfg.MetaVersion)
	}
	if cfg.Retain == 0 {
		cfg.Retain = 4096
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Epoch.IsZero() {
		cfg.Epoch = cfg.Now()
	}
	c := &Chain{
		cfg:       cfg,
		asm:       assembler{passphrase: cfg.NetworkPassphrase, metaVersion: int32(cfg.MetaVersion)},
		reorgs:    map[uint32]Reorg{},
		started:   cfg.Epoch,
		produced:  make(chan struct{}),
		tip:       cfg.StartLedger - 1,
		canonical: map[uint32]xdr.LedgerCloseMeta{},
		abandoned: map[uint32]xdr.LedgerCloseMeta{},
		world:     newWorld(cfg.Seed, cfg.Streams, cfg.TxPerLedger),
		generated: cfg.StartLedger - 1,
		lastOld:   cfg.StartLedger,
	}
	c.scenarios = append([]Scenario{c.world}, cfg.Scenarios...)
	c.lastHash = xdr.Hash(derive(cfg.Seed, "genesis"))
	if err := c.schedule(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Chain) schedule() error {
	if !c.cfg.Reorgs {
		return nil
	}
	var all []Reorg
	if c.cfg.ReorgEvery > 0 {
		depth := max(c.cfg.ReorgDepth, 1)
		if c.cfg.ReorgEvery <= depth {
			return fmt.Errorf("sim: a reorg every %d ledgers cannot be %d deep", c.cfg.ReorgEvery, depth)
		}
		last := c.cfg.StartLedger + c.cfg.Ledgers - 1
		if c.cfg.Ledgers == 0 {
			last = c.cfg.StartLedger + 1_000_000
		}
		r := rand.New(rand.NewPCG(c.cfg.Seed, 0x7e0)) // not the world's: the canonical chain must not depend on it
		n := 0
		for at := c.cfg.StartLedger + c.cfg.ReorgEvery - 1; at+1 <= last; at += c.cfg.ReorgEvery {
			re := Reorg{At: at, Depth: 1 + uint32(r.IntN(int(depth)))}
			if c.cfg.Flips {
				re.Flips = Flip(1 + n%2)
				n++
				// Within the depth, and over before the chain's last ledger: the source ends on the canonical chain.
				for re.Flips > NoFlip && (re.span() >= depth || re.At+re.span()+1 > last) {
					re.Flips--
				}
				if re.Flips > NoFlip {
					re.Depth = min(re.Depth, depth-re.span())
				}
			}
			all = append(all, re)
		}
	}
	if c.cfg.DeepReorgAt > 0 {
		all = append(all, Reorg{At: c.cfg.DeepReorgAt, Depth: max(c.cfg.DeepReorgDepth, 2)})
	}
	all = append(all, c.cfg.Script...)
	for _, r := range all {
		if r.Depth == 0 || r.At < c.cfg.StartLedger+r.Depth {
			return fmt.Errorf("sim: reorg at %d of depth %d starts before the chain", r.At, r.Depth)
		}
		c.deepest = max(c.deepest, r.Depth+r.span())
	}
	for _, r := range all {
		first := r.At - r.Depth + 1
		for l := first; l <= r.At+r.span(); l++ {
			if other, clash := c.reorgAt(l); clash {
				return fmt.Errorf("sim: reorgs at %d and %d overlap", other.At, r.At)
			}
		}
		c.reorgs[first] = r
	}
	return nil
}

// reorgAt finds the scripted reorg whose abandoned branch holds ledger l: one that starts at most deepest
// ledgers before it.
func (c *Chain) reorgAt(l uint32) (Reorg, bool) {
	for first := l; first+c.deepest > l && first >= c.cfg.StartLedger; first-- {
		if r, ok := c.reorgs[first]; ok && l <= r.At+r.span() {
			return r, true
		}
	}
	return Reorg{}, false
}

// ContractID is the simulated Fluxora contract.
func (c *Chain) ContractID() domain.Address { return c.world.address }

// StartLedger is the chain's first ledger.
func (c *Chain) StartLedger() uint32 { return c.cfg.StartLedger }

// LastLedger is the last ledger the network produces, or 0 when it is endless.
func (c *Chain) LastLedger() uint32 {
	if c.cfg.Ledgers == 0 {
		return 0
	}
	return c.cfg.StartLedger + c.cfg.Ledgers - 1
}

func (c *Chain) closeTime(seq uint32) uint64 {
	return uint64(c.cfg.Genesis.Add(time.Duration(seq-c.cfg.StartLedger) * c.cfg.ChainSpacing).Unix())
}

// generate extends the canonical chain to ledger seq, building each abandoned branch when its fork is reached.
func (c *Chain) generate(seq uint32) error {
	for c.generated < seq {
		l := c.generated + 1
		if r, ok := c.reorgs[l]; ok {
			if err := c.generateAbandoned(r); err != nil {
				return err
			}
		}
		txs, err := play(c.scenarios, l, c.closeTime(l))
		if err != nil {
			return fmt.Errorf("sim ledger %d: %w", l, err)
		}
		lcm, err := c.asm.build(ledgerSpec{seq: l, prevHash: c.lastHash, closeTime: c.closeTime(l), txs: txs, salt: "canonical"})
		if err != nil {
			return fmt.Errorf("sim ledger %d: %w", l, err)
		}
		c.canonical[l] = lcm
		c.lastHash = lcm.LedgerHash()
		c.generated = l
		for int(c.generated-c.lastOld) >= c.cfg.Retain {
			delete(c.canonical, c.lastOld)
			delete(c.abandoned, c.lastOld)
			c.lastOld++
		}
	}
	return nil
}

func (c *Chain) generateAbandoned(r Reorg) error {
	// Each scenario forks with its own random source; the stream contract's is the one it always had.
	forks := make([]Scenario, len(c.scenarios))
	for i, sc := range c.scenarios {
		forks[i] = sc.Fork(rand.New(rand.NewPCG(c.cfg.Seed, (uint64(r.At)<<8|0xab)^uint64(i)<<40)))
	}
	prev := c.lastHash
	for l := r.At - r.Depth + 1; l <= r.At+r.span(); l++ {
		txs, err := play(forks, l, c.closeTime(l))
		if err != nil {
			return fmt.Errorf("sim abandoned ledger %d: %w", l, err)
		}
		lcm, err := c.asm.build(ledgerSpec{seq: l, prevHash: prev, closeTime: c.closeTime(l), txs: txs,
			salt: fmt.Sprintf("abandoned-%d", r.At)})
		if err != nil {
			return fmt.Errorf("sim abandoned ledger %d: %w", l, err)
		}
		c.abandoned[l] = lcm
		prev = lcm.LedgerHash()
	}
	return nil
}

// play plays one ledger of every scenario, in order.
func play(scenarios []Scenario, seq uint32, closeTime uint64) ([]Tx, error) {
	var txs []Tx
	for _, sc := range scenarios {
		t, err := sc.Ledger(seq, closeTime)
		if err != nil {
			return nil, err
		}
		txs = append(txs, t...)
	}
	return txs, nil
}

// Tip is the highest ledger produced so far (StartLedger-1 before the first).
func (c *Chain) Tip() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceByClock()
	return c.tip
}

func (c *Chain) advanceByClock() {
	if c.cfg.LedgerInterval <= 0 {
		return
	}
	elapsed := max(c.cfg.Now().Sub(c.started), 0)
	due := c.cfg.StartLedger - 1 + uint32(elapsed/c.cfg.LedgerInterval)
	if last := c.LastLedger(); last > 0 && due > last {
		due = last
	}
	if due > c.tip {
		c.tip = due
		close(c.produced)
		c.produced = make(chan struct{})
	}
}

// Ledger returns ledger seq as the network shows it now, producing it first when the network is paced by
// requests. It blocks until the ledger exists (paced by the clock, or past the last ledger: until ctx ends).
func (c *Chain) Ledger(ctx context.Context, seq uint32) (xdr.LedgerCloseMeta, error) {
	return c.ledger(ctx, seq, nil)
}

// ledger is Ledger that also gives up when closed is closed.
func (c *Chain) ledger(ctx context.Context, seq uint32, closed <-chan struct{}) (xdr.LedgerCloseMeta, error) {
	if seq < c.cfg.StartLedger {
		return xdr.LedgerCloseMeta{}, fmt.Errorf("ledger %d: %w (%d)", seq, ErrBeforeStart, c.cfg.StartLedger)
	}
	var err error
	for {
		c.mu.Lock()
		c.advanceByClock()
		last := c.LastLedger()
		if seq > c.tip && c.cfg.LedgerInterval <= 0 && (last == 0 || seq <= last) {
			c.tip = seq
		}
		if seq <= c.tip {
			lcm, err := c.show(seq)
			c.mu.Unlock()
			return lcm, err
		}
		wait := c.produced
		c.mu.Unlock()
		// Clock-paced production has no producer to wake readers: poll a few times per interval.
		var timer *time.Timer
		var tick <-chan time.Time
		if c.cfg.LedgerInterval > 0 {
			timer = time.NewTimer(c.cfg.LedgerInterval / 4)
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-closed:
			err = ErrClosed
		case <-wait:
		case <-tick:
		}
		if timer != nil {
			timer.Stop()
		}
		if err != nil {
			return xdr.LedgerCloseMeta{}, err
		}
	}
}

// show returns the version of ledger seq ≤ tip that the network shows at its current tip.
func (c *Chain) show(seq uint32) (xdr.LedgerCloseMeta, error) {
	if err := c.generate(c.tip); err != nil {
		return xdr.LedgerCloseMeta{}, err
	}
	if r, ok := c.reorgAt(seq); ok && r.abandonedShown(c.tip) {
		if lcm, ok := c.abandoned[seq]; ok {
			return lcm, nil
		}
	}
	lcm, ok := c.canonical[seq]
	if !ok {
		return xdr.LedgerCloseMeta{}, fmt.Errorf("ledger %d: %w (oldest %d)", seq, ErrPruned, c.lastOld)
	}
	return lcm, nil
}

// Canonical returns ledger seq of the final chain, producing nothing: for tests that compare with a clean ingest.
func (c *Chain) Canonical(seq uint32) (xdr.LedgerCloseMeta, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq < c.cfg.StartLedger {
		return xdr.LedgerCloseMeta{}, fmt.Errorf("ledger %d: %w", seq, ErrBeforeStart)
	}
	if err := c.generate(seq); err != nil {
		return xdr.LedgerCloseMeta{}, err
	}
	lcm, ok := c.canonical[seq]
	if !ok {
		return xdr.LedgerCloseMeta{}, fmt.Errorf("ledger %d: %w", seq, ErrPruned)
	}
	return lcm, nil
}

// Backend is a client's view of the network: the SDK's LedgerBackend. Each client takes its own.
func (c *Chain) Backend() *Backend { return &Backend{chain: c, closed: make(chan struct{})} }

// Backend implements ledgerbackend.LedgerBackend over a Chain. Like every LedgerBackend, only Close may be called
// concurrently with the other methods.
type Backend struct {
	chain     *Chain
	prepared  *ledgerbackend.Range
	closed    chan struct{}
	closeOnce sync.Once
}

var _ ledgerbackend.LedgerBackend = (*Backend)(nil)

// GetLatestLedgerSequence is the network's tip. A finite network that produces on request and has no reorg to show
// holds its whole chain already, as a data lake does: it says so, so that a reader catches up in the same batches
// from either (the same chain then makes the same log; see chain.LedgerReader).
func (b *Backend) GetLatestLedgerSequence(ctx context.Context) (uint32, error) {
	if err := b.usable(); err != nil {
		return 0, err
	}
	c := b.chain
	if last := c.LastLedger(); last > 0 && c.cfg.LedgerInterval <= 0 && len(c.reorgs) == 0 {
		return last, nil
	}
	return c.Tip(), nil
}

// GetLedger returns ledger seq of the prepared range, blocking until the network has produced it.
func (b *Backend) GetLedger(ctx context.Context, seq uint32) (xdr.LedgerCloseMeta, error) {
	if err := b.usable(); err != nil {
		return xdr.LedgerCloseMeta{}, err
	}
	if seq < b.prepared.From() || (b.prepared.Bounded() && seq > b.prepared.To()) {
		return xdr.LedgerCloseMeta{}, fmt.Errorf("ledger %d: %w: outside the prepared range %s", seq, ErrInvalidRange, b.prepared)
	}
	return b.chain.ledger(ctx, seq, b.closed)
}

// PrepareRange checks the range; the network needs no preparation.
func (b *Backend) PrepareRange(ctx context.Context, r ledgerbackend.Range) error {
	if b.isClosed() {
		return ErrClosed
	}
	if r.From() < b.chain.cfg.StartLedger || (r.Bounded() && r.To() < r.From()) {
		return fmt.Errorf("%w: %s (the chain starts at %d)", ErrInvalidRange, r, b.chain.cfg.StartLedger)
	}
	b.prepared = &r
	return nil
}

// IsPrepared tells whether r is the prepared range.
func (b *Backend) IsPrepared(ctx context.Context, r ledgerbackend.Range) (bool, error) {
	if b.isClosed() {
		return false, ErrClosed
	}
	return b.prepared != nil && *b.prepared == r, nil
}

// Close interrupts pending calls; the backend cannot be used afterwards.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() { close(b.closed) })
	return nil
}

func (b *Backend) isClosed() bool {
	select {
	case <-b.closed:
		return true
	default:
		return false
	}
}

func (b *Backend) usable() error {
	if b.isClosed() {
		return ErrClosed
	}
	if b.prepared == nil {
		return ErrNotPrepared
	}
	return nil
}

func unix(t uint64) time.Time { return time.Unix(int64(t), 0).UTC() }

// entrySource is a scenario that serves its contracts' storage.
type entrySource interface {
	LedgerEntries(ctx context.Context, keys []xdr.LedgerKey) ([]xdr.LedgerEntry, uint32, error)
}

// LedgerEntries serves the simulated contracts' storage at the canonical chain's last generated ledger, as RPC
// getLedgerEntries answers on a real network: the stream contract's streams (DataKey::Stream(id), a closed one
// removed) and what the other scenarios serve. A drift set with DriftStream is served too.
func (c *Chain) LedgerEntries(ctx context.Context, keys []xdr.LedgerKey) ([]xdr.LedgerEntry, uint32, error) {
	c.mu.Lock()
	ledger := c.generated
	var out, others []xdr.LedgerEntry
	var rest []xdr.LedgerKey
	for _, key := range keys {
		cd, ok := key.GetContractData()
		if !ok || cd.Contract.ContractId == nil || *cd.Contract.ContractId != c.world.contract {
			rest = append(rest, key)
			continue
		}
		id, ok := streamKeyID(cd.Key)
		if !ok {
			continue
		}
		s, known := c.world.streams[id]
		if !known || s.Status == fluxora.StatusClosed {
			continue
		}
		deposit, _ := s.DepositAmount.Add(c.drift[id])
		status := map[fluxora.StreamStatus]uint32{fluxora.StatusActive: 0, fluxora.StatusPaused: 1, fluxora.StatusCompleted: 2,
			fluxora.StatusCancelled: 3}[s.Status]
		val := Struct(map[string]xdr.ScVal{"stream_id": U64(id), "sender": Addr(s.Sender), "recipient": Addr(s.Recipient),
			"deposit_amount": I128(deposit), "rate_per_second": I128(s.RatePerSecond), "start_time": U64(s.StartTime),
			"cliff_time": U64(s.CliffTime), "end_time": U64(s.EndTime), "withdrawn_amount": I128(s.WithdrawnAmount),
			"status": U32(status), "checkpointed_amount": I128(s.CheckpointedAmount), "checkpointed_at": U64(s.CheckpointedAt),
			"withdraw_dust_threshold": I128(s.WithdrawDustThreshold)})
		out = append(out, xdr.LedgerEntry{LastModifiedLedgerSeq: xdr.Uint32(ledger), Data: xdr.LedgerEntryData{
			Type: xdr.LedgerEntryTypeContractData, ContractData: &xdr.ContractDataEntry{Contract: cd.Contract, Key: cd.Key,
				Durability: cd.Durability, Val: val}}})
	}
	scenarios := c.scenarios[1:]
	c.mu.Unlock()
	if len(rest) > 0 {
		for _, sc := range scenarios {
			if src, ok := sc.(entrySource); ok {
				found, _, err := src.LedgerEntries(ctx, rest)
				if err != nil {
					return nil, 0, err
				}
				others = append(others, found...)
			}
		}
	}
	return append(out, others...), ledger, nil
}

// DriftStream makes the served storage of a stream disagree with its events: delta is added to its deposit.
func (c *Chain) DriftStream(id uint64, delta domain.Amount) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.drift == nil {
		c.drift = map[uint64]domain.Amount{}
	}
	c.drift[id] = delta
}

// streamKeyID reads DataKey::Stream(id).
func streamKeyID(k xdr.ScVal) (uint64, bool) {
	if k.Type != xdr.ScValTypeScvVec || k.Vec == nil || *k.Vec == nil || len(**k.Vec) != 2 {
		return 0, false
	}
	vec := **k.Vec
	if name, ok := vec[0].GetSym(); !ok || name != "Stream" {
		return 0, false
	}
	id, ok := vec[1].GetU64()
	return uint64(id), ok
}
