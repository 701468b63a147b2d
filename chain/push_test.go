package chain_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/support/compressxdr"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/simtest"
)

func pushed(t *testing.T, lcms []xdr.LedgerCloseMeta) []chain.PushedLedger {
	t.Helper()
	out := make([]chain.PushedLedger, len(lcms))
	for i, lcm := range lcms {
		meta, err := xdr.MarshalBase64(lcm)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = chain.PushedLedger{Sequence: lcm.LedgerSequence(), Hash: lcm.LedgerHash().HexString(), MetadataXDR: meta}
	}
	return out
}

// ledgersAsSeen reads from..to from the network as a client would see them now.
func ledgersAsSeen(t *testing.T, c *sim.Chain, from, to uint32) []xdr.LedgerCloseMeta {
	t.Helper()
	b := c.Backend()
	defer b.Close()
	if err := b.PrepareRange(context.Background(), ledgerbackend.UnboundedRange(from)); err != nil {
		t.Fatal(err)
	}
	var out []xdr.LedgerCloseMeta
	for seq := from; seq <= to; seq++ {
		lcm, err := b.GetLedger(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, lcm)
	}
	return out
}

func pushIngester(t *testing.T, c *sim.Chain, store chain.Store, margin uint32) *chain.Ingester {
	t.Helper()
	d, _ := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: passphrase, Contracts: simtest.Fluxora(t, c.ContractID())})
	in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, SafetyMargin: margin})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestPushIngestsAndIsIdempotent(t *testing.T) {
	cfg := sim.Config{Seed: 91, Ledgers: 40}
	want := clean(t, cfg, 41)
	c := simChain(t, cfg)
	all := pushed(t, ledgersAsSeen(t, c, 2, 41))
	store := memory.New()
	in := pushIngester(t, c, store, 1)
	for i := 0; i < len(all); i += 7 {
		batch := all[i:min(i+7, len(all))]
		res, err := in.Push(context.Background(), batch)
		if err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
		if res.Appended != len(batch) || res.Tip != batch[len(batch)-1].Sequence {
			t.Fatalf("push %d: %+v", i, res)
		}
	}
	// A retried push, and one that overlaps the tip, store nothing twice.
	res, err := in.Push(context.Background(), all[35:])
	if err != nil || res.AlreadyStored != 5 || res.Appended != 0 {
		t.Fatalf("re-push: %+v %v", res, err)
	}
	sameOutcome(t, outcomeOf(t, readAll(t, store)), want)
}

func TestPushValidation(t *testing.T) {
	c := simChain(t, sim.Config{Seed: 92, Ledgers: 20})
	good := pushed(t, ledgersAsSeen(t, c, 2, 21))
	store := memory.New()
	in := pushIngester(t, c, store, 1)
	if _, err := in.Push(context.Background(), good[:10]); err != nil {
		t.Fatal(err)
	}
	head := len(readAll(t, store))

	mutate := func(f func(p []chain.PushedLedger) []chain.PushedLedger) []chain.PushedLedger {
		cp := append([]chain.PushedLedger(nil), good[10:15]...)
		return f(cp)
	}
	tooMany := make([]chain.PushedLedger, chain.MaxPushLedgers+1)
	for _, tc := range []struct {
		name  string
		batch []chain.PushedLedger
		field string
		is    error
	}{
		{"empty", nil, "ledgers", chain.ErrInvalidPush},
		{"too many", tooMany, "ledgers", chain.ErrInvalidPush},
		{"missing hash", mutate(func(p []chain.PushedLedger) []chain.PushedLedger { p[0].Hash = ""; return p }), "ledgers[0].hash", chain.ErrInvalidPush},
		{"short hash", mutate(func(p []chain.PushedLedger) []chain.PushedLedger { p[1].Hash = "abc"; return p }), "ledgers[1].hash", chain.ErrInvalidPush},
		{"wrong hash", mutate(func(p []chain.PushedLedger) []chain.PushedLedger { p[2].Hash = good[0].Hash; return p }), "ledgers[2].hash", chain.ErrInvalidPush},
		{"missing sequence", mutate(func(p []chain.PushedLedger) []chain.PushedLedger { p[0].Sequence = 0; return p }), "ledgers[0].sequence", chain.ErrInvalidPush},
		{"wrong sequence", mutate(func(p []chain.PushedLedger) []chain.PushedLedger { p[0].Sequence++; return p }), "ledgers[0].sequence", chain.ErrInvalidPush},
		{"not base64", mutate(func(p []chain.PushedLedger) []chain.PushedLedger { p[3].MetadataXDR = "%%%"; return p }), "ledgers[3].metadataXdr", chain.ErrInvalidPush},
		{"not XDR", mutate(func(p []chain.PushedLedger) []chain.PushedLedger { p[3].MetadataXDR = "AAAA"; return p }), "ledgers[3].metadataXdr", chain.ErrInvalidPush},
		{"missing XDR", mutate(func(p []chain.PushedLedger) []chain.PushedLedger { p[4].MetadataXDR = ""; return p }), "ledgers[4].metadataXdr", chain.ErrInvalidPush},
		{"not contiguous", mutate(func(p []chain.PushedLedger) []chain.PushedLedger { return append(p[:1], p[2:]...) }), "ledgers[1].sequence", chain.ErrInvalidPush},
		{"gap after the tip", mutate(func(p []chain.PushedLedger) []chain.PushedLedger { return p[2:] }), "ledgers[0].sequence", chain.ErrPushConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := in.Push(context.Background(), tc.batch)
			var pe *chain.PushError
			if !errors.As(err, &pe) || pe.Field != tc.field || !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v on %s", err, tc.is, tc.field)
			}
			if n := len(readAll(t, store)); n != head {
				t.Fatalf("a refused push wrote %d events", n-head)
			}
		})
	}
	// One bad ledger at the end of an otherwise good batch: nothing of the batch is written.
	bad := append([]chain.PushedLedger(nil), good[10:]...)
	bad[len(bad)-1].MetadataXDR = good[0].MetadataXDR
	if _, err := in.Push(context.Background(), bad); !errors.Is(err, chain.ErrInvalidPush) {
		t.Fatalf("bad last ledger: %v", err)
	}
	if n := len(readAll(t, store)); n != head {
		t.Fatalf("a refused push wrote %d events", n-head)
	}
	if res, err := in.Push(context.Background(), good[10:]); err != nil || res.Tip != 21 {
		t.Fatalf("good push after refusals: %+v %v", res, err)
	}
}

func TestPushReorg(t *testing.T) {
	cfg := sim.Config{Seed: 93, Ledgers: 30, Reorgs: true, Script: []sim.Reorg{{At: 15, Depth: 2}}}
	want := clean(t, cfg, 31)
	for _, margin := range []uint32{2, 1} {
		c := simChain(t, cfg)
		abandoned := pushed(t, ledgersAsSeen(t, c, 2, 15))
		if _, err := c.Ledger(context.Background(), 31); err != nil { // the tip passes 15: the network switches branch
			t.Fatal(err)
		}
		canonical := pushed(t, ledgersAsSeen(t, c, 14, 31))
		store := memory.New()
		in := pushIngester(t, c, store, margin)
		if _, err := in.Push(context.Background(), abandoned); err != nil {
			t.Fatal(err)
		}
		head := len(readAll(t, store))
		// The new branch must come from its fork point: its ledger 16 alone does not link.
		if _, err := in.Push(context.Background(), canonical[2:]); !errors.Is(err, chain.ErrPushConflict) {
			t.Fatalf("margin %d: branch without its fork point: %v", margin, err)
		}
		res, err := in.Push(context.Background(), canonical)
		if margin == 1 {
			if !errors.Is(err, chain.ErrHalted) || in.Status().HaltReason != chain.HaltReorgBelowSafeLedger {
				t.Fatalf("reorg below the safe ledger: %v", err)
			}
			if n := len(readAll(t, store)); n != head {
				t.Fatalf("a halted push wrote %d events", n-head)
			}
			if _, err := in.Push(context.Background(), canonical); !errors.Is(err, chain.ErrHalted) || !strings.Contains(err.Error(), chain.HaltReorgBelowSafeLedger) {
				t.Fatalf("push while halted: %v", err)
			}
			continue
		}
		if err != nil || res.Reorg == nil || res.Reorg.Fork != 13 || res.Tip != 31 {
			t.Fatalf("reorg push: %+v %v", res, err)
		}
		sameOutcome(t, outcomeOf(t, readAll(t, store)), want)
	}
}

// FuzzParseLedgerBatch feeds arbitrary bytes as a pushed LedgerCloseMetaBatch: refused with a PushError, never a
// panic; a batch that parses holds 1..max ledgers, in the sequence its header says.
func FuzzParseLedgerBatch(f *testing.F) {
	c, err := sim.New(sim.Config{Seed: 3, NetworkPassphrase: passphrase, Streams: 2, TxPerLedger: 1, Ledgers: 3})
	if err != nil {
		f.Fatal(err)
	}
	b := xdr.LedgerCloseMetaBatch{StartSequence: 2, EndSequence: 3}
	for seq := uint32(2); seq <= 3; seq++ {
		lcm, _ := c.Canonical(seq)
		b.LedgerCloseMetas = append(b.LedgerCloseMetas, lcm)
	}
	raw, _ := b.MarshalBinary()
	f.Add(raw)
	var zst bytes.Buffer
	if _, err := compressxdr.NewXDREncoder(compressxdr.DefaultCompressor, &b).WriteTo(&zst); err != nil {
		f.Fatal(err)
	}
	f.Add(zst.Bytes())
	f.Add([]byte{0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		metas, err := chain.ParseLedgerBatch(raw, 3)
		if err != nil {
			var pe *chain.PushError
			if !errors.As(err, &pe) || !errors.Is(err, chain.ErrInvalidPush) {
				t.Fatalf("not a push error: %T %v", err, err)
			}
			return
		}
		if len(metas) == 0 || len(metas) > 3 {
			t.Fatalf("%d ledgers", len(metas))
		}
		for i := 1; i < len(metas); i++ {
			if metas[i].LedgerSequence() != metas[0].LedgerSequence()+uint32(i) {
				t.Fatalf("ledger %d after %d", metas[i].LedgerSequence(), metas[0].LedgerSequence())
			}
		}
	})
}
