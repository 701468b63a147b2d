package sim_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/simtest"
)

func newChain(t *testing.T, cfg sim.Config) *sim.Chain {
	t.Helper()
	if cfg.NetworkPassphrase == "" {
		cfg.NetworkPassphrase = network.TestNetworkPassphrase
	}
	if cfg.Streams == 0 {
		cfg.Streams = 20
	}
	if cfg.TxPerLedger == 0 {
		cfg.TxPerLedger = 4
	}
	c, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func prepared(t *testing.T, c *sim.Chain, from uint32) *sim.Backend {
	t.Helper()
	b := c.Backend()
	if err := b.PrepareRange(context.Background(), ledgerbackend.UnboundedRange(from)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestCanonicalChainIsValidAndClean reads a simulated chain through the SDK reader (inside the decoder): every
// ledger verifies, links to the one before, and folding its Fluxora events raises no anomaly, because the
// simulator plays by the contract's rules.
func TestCanonicalChainIsValidAndClean(t *testing.T) {
	for _, metaVersion := range []int{3, 4} {
		c := newChain(t, sim.Config{Seed: 7, Ledgers: 400, MetaVersion: metaVersion})
		d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase,
			Contracts: simtest.Fluxora(t, c.ContractID())})
		if err != nil {
			t.Fatal(err)
		}
		b := prepared(t, c, c.StartLedger())
		streams := map[fluxora.StreamRef]fluxora.Stream{}
		types := map[domain.EventType]int{}
		prev := ""
		for seq := c.StartLedger(); seq <= c.LastLedger(); seq++ {
			lcm, err := b.GetLedger(context.Background(), seq)
			if err != nil {
				t.Fatal(err)
			}
			l, err := d.Decode(lcm)
			if err != nil {
				t.Fatalf("meta v%d: %v", metaVersion, err)
			}
			if prev != "" && l.PreviousHash != prev {
				t.Fatalf("ledger %d does not link to %d", seq, seq-1)
			}
			prev = l.Hash
			for _, ev := range l.Events {
				types[ev.Event.Type()]++
				if obs, ok := ev.Event.(*domain.ContractEventObserved); ok && obs.DecodeError != "" {
					t.Fatalf("decode error: %s", obs.DecodeError)
				}
				fluxora.ApplyInOrder(streams, ev.ID, ev.Event)
			}
		}
		for ref, s := range streams {
			if len(s.Anomalies) > 0 {
				t.Fatalf("stream %s: anomalies %+v", ref, s.Anomalies)
			}
		}
		for _, want := range []domain.EventType{fluxora.TypeStreamCreated, fluxora.TypeStreamWithdrawn,
			fluxora.TypeStreamCancelled, fluxora.TypeStreamCompleted, fluxora.TypeStreamClosed, fluxora.TypeStreamPaused,
			fluxora.TypeStreamResumed, fluxora.TypeStreamRateUpdated, fluxora.TypeStreamRateDecreased,
			fluxora.TypeStreamEndShortened, fluxora.TypeStreamEndExtended, fluxora.TypeStreamToppedUp,
			fluxora.TypeStreamRecipientUpdated, fluxora.TypeStreamCloned, domain.TypeContractEventObserved,
			fluxora.TypeStreamShareDelegated, fluxora.TypeStreamDelegatedFrom, fluxora.TypeStreamClaimOwnerChanged,
			fluxora.TypeStreamAutoClaimSet, fluxora.TypeStreamAutoClaimRevoked, fluxora.TypeContractAdminUpdated} {
			if types[want] == 0 {
				t.Errorf("meta v%d: 400 ledgers without a %s (%v)", metaVersion, want, types)
			}
		}
	}
}

func hashes(t *testing.T, c *sim.Chain, from, to uint32) []xdr.Hash {
	t.Helper()
	b := prepared(t, c, from)
	var out []xdr.Hash
	for seq := from; seq <= to; seq++ {
		lcm, err := b.GetLedger(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, lcm.LedgerHash())
	}
	return out
}

func TestDeterministicAndReorgsLeaveTheCanonicalChainAlone(t *testing.T) {
	plain := hashes(t, newChain(t, sim.Config{Seed: 3, Ledgers: 120}), 2, 121)
	again := hashes(t, newChain(t, sim.Config{Seed: 3, Ledgers: 120}), 2, 121)
	if !reflect.DeepEqual(plain, again) {
		t.Fatal("the same seed gave two chains")
	}
	if other := hashes(t, newChain(t, sim.Config{Seed: 4, Ledgers: 120}), 2, 121); reflect.DeepEqual(plain, other) {
		t.Fatal("two seeds gave the same chain")
	}
	// Read all at once (the tip jumps past every reorg): the canonical chain, whatever the reorgs.
	reorged := newChain(t, sim.Config{Seed: 3, Ledgers: 120, Reorgs: true, ReorgEvery: 10, ReorgDepth: 3})
	b := prepared(t, reorged, 2)
	if _, err := b.GetLedger(context.Background(), 121); err != nil {
		t.Fatal(err)
	}
	if got := hashes(t, reorged, 2, 121); !reflect.DeepEqual(plain, got) {
		t.Fatal("reorgs changed the canonical chain")
	}
}

func TestReorgIsVisibleWhileTheTipIsInItsWindow(t *testing.T) {
	c := newChain(t, sim.Config{Seed: 5, Ledgers: 40, Reorgs: true, Script: []sim.Reorg{{At: 20, Depth: 3}}})
	b := prepared(t, c, 2)
	seen := map[uint32]xdr.Hash{}
	for seq := uint32(2); seq <= 20; seq++ {
		lcm, err := b.GetLedger(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		seen[seq] = lcm.LedgerHash()
	}
	next, err := b.GetLedger(context.Background(), 21)
	if err != nil {
		t.Fatal(err)
	}
	if next.PreviousLedgerHash() == seen[20] {
		t.Fatal("ledger 21 links to the abandoned ledger 20")
	}
	for seq := uint32(17); seq <= 20; seq++ {
		lcm, err := b.GetLedger(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		changed := lcm.LedgerHash() != seen[seq]
		if changed != (seq >= 18) {
			t.Fatalf("ledger %d changed: %v", seq, changed)
		}
	}
	canon, _ := c.Canonical(20)
	if next.PreviousLedgerHash() != canon.LedgerHash() {
		t.Fatal("ledger 21 does not link to the canonical 20")
	}
}

func TestBackendContract(t *testing.T) {
	c := newChain(t, sim.Config{Seed: 1, Ledgers: 10, Retain: 5})
	b := c.Backend()
	if _, err := b.GetLedger(context.Background(), 2); !errors.Is(err, sim.ErrNotPrepared) {
		t.Fatalf("unprepared: %v", err)
	}
	if err := b.PrepareRange(context.Background(), ledgerbackend.BoundedRange(2, 8)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.IsPrepared(context.Background(), ledgerbackend.BoundedRange(2, 8)); !ok {
		t.Fatal("not prepared")
	}
	if _, err := b.GetLedger(context.Background(), 9); !errors.Is(err, sim.ErrInvalidRange) {
		t.Fatalf("outside the range: %v", err)
	}
	if _, err := b.GetLedger(context.Background(), 8); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetLedger(context.Background(), 2); !errors.Is(err, sim.ErrPruned) {
		t.Fatalf("past retention: %v", err)
	}
	// Past the last ledger a read waits, until its context ends or the backend closes.
	b2 := prepared(t, c, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b2.GetLedger(ctx, 12); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("past the end: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := b2.GetLedger(context.Background(), 12)
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	b2.Close()
	if err := <-done; !errors.Is(err, sim.ErrClosed) {
		t.Fatalf("closed while waiting: %v", err)
	}
}

func TestClockPacedProduction(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c := newChain(t, sim.Config{Seed: 1, LedgerInterval: time.Second, Now: clock})
	if c.Tip() != 1 {
		t.Fatalf("tip %d before any time passed", c.Tip())
	}
	now = now.Add(3500 * time.Millisecond)
	if c.Tip() != 4 {
		t.Fatalf("tip %d after 3.5 intervals, want 4", c.Tip())
	}
}

// TestEpochKeepsTheNetworkOnTheClock: a network created again with the same epoch (a restart) is where it
// would have been, and its close times follow the clock.
func TestEpochKeepsTheNetworkOnTheClock(t *testing.T) {
	epoch := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	now := epoch.Add(100 * time.Second)
	c := newChain(t, sim.Config{Seed: 1, LedgerInterval: time.Second, Epoch: epoch, Genesis: epoch, ChainSpacing: time.Second,
		Now: func() time.Time { return now }})
	if c.Tip() != 101 {
		t.Fatalf("tip %d, 100 s after the epoch", c.Tip())
	}
	lcm, err := c.Ledger(context.Background(), 101)
	if err != nil {
		t.Fatal(err)
	}
	if got := lcm.ClosedAt(); !got.Equal(now.Add(-time.Second)) {
		t.Fatalf("ledger 101 closed at %s, want %s", got, now.Add(-time.Second))
	}
}

// The simulator emits every topic of the stream contract that a successful transaction can carry, each decoding
// to its typed event: all of docs/contracts.md's stream-contract table but `rate_cap` (published before an error
// return, so never in a successful transaction), `sndr_xfr` (documented, not published by the code at 75b15ca) and
// `migrated` (reserved, never emitted), and `kp_cncl`, which the contract allows only 7 days after a stream's end
// (KEEPER_GRACE_PERIOD_SECONDS), beyond the simulated chains' hours.
func TestEveryPublishedTopicIsSimulated(t *testing.T) {
	c := newChain(t, sim.Config{Seed: 11, Ledgers: 1500, Streams: 20, TxPerLedger: 4})
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: simtest.Fluxora(t, c.ContractID())})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[domain.EventType]int{}
	for seq := c.StartLedger(); seq <= c.LastLedger(); seq++ {
		lcm, err := c.Ledger(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		l, err := d.Decode(lcm)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range l.Events {
			seen[ev.Event.Type()]++
		}
	}
	for _, want := range []domain.EventType{fluxora.TypeStreamCreated, fluxora.TypeStreamWithdrawn, fluxora.TypeStreamCancelled,
		fluxora.TypeStreamCompleted, fluxora.TypeStreamClosed, fluxora.TypeStreamPaused, fluxora.TypeStreamResumed,
		fluxora.TypeStreamRateUpdated, fluxora.TypeStreamRateDecreased, fluxora.TypeStreamEndShortened, fluxora.TypeStreamEndExtended,
		fluxora.TypeStreamToppedUp, fluxora.TypeStreamRecipientUpdated, fluxora.TypeStreamCloned, fluxora.TypeStreamShareDelegated,
		fluxora.TypeStreamDelegatedFrom, fluxora.TypeStreamRenewed, fluxora.TypeStreamClaimOwnerChanged, fluxora.TypeStreamDecommissioned,
		fluxora.TypeStreamHealthChanged, fluxora.TypeStreamAutoClaimSet, fluxora.TypeStreamAutoClaimRevoked,
		fluxora.TypeStreamAutoClaimTriggered, fluxora.TypeStreamOfferCreated, fluxora.TypeStreamOfferAccepted,
		fluxora.TypeStreamOfferCancelled, fluxora.TypeStreamTemplateDefined, fluxora.TypeStreamIDsReleased,
		fluxora.TypeGlobalPauseChanged, fluxora.TypeGlobalResumed, fluxora.TypeCreationPauseChanged, fluxora.TypeProtocolPaused,
		fluxora.TypeProtocolResumed, fluxora.TypeExcessSwept, fluxora.TypeContractAdminUpdated, fluxora.TypeContractUpgraded,
		fluxora.TypeContractUpgradedLegacy} {
		if seen[want] == 0 {
			t.Errorf("the simulator never emitted %s", want)
		}
	}
	if seen[fluxora.TypeStreamKeeperCancelled] > 0 || seen[fluxora.TypeStreamRateCapEnforced] > 0 {
		t.Logf("also: %d keeper cancellations, %d rate caps", seen[fluxora.TypeStreamKeeperCancelled], seen[fluxora.TypeStreamRateCapEnforced])
	}
	t.Logf("%v", seen)
}
