package lake_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/support/datastore"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/lake"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/internal/simtest"
)

const passphrase = network.TestNetworkPassphrase

func simChain(t testing.TB, ledgers uint32) *sim.Chain {
	t.Helper()
	c, err := sim.New(sim.Config{Seed: 7, NetworkPassphrase: passphrase, Streams: 5, TxPerLedger: 1, Ledgers: ledgers})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// makeLake writes the simulator's chain as a filesystem lake with lake.Make.
func makeLake(t testing.TB, c *sim.Chain, perFile uint32, filler []byte, fillers int) (string, lake.MakeResult) {
	t.Helper()
	dir := t.TempDir()
	res, err := lake.Make(context.Background(), lake.MakeConfig{Dir: dir, NetworkPassphrase: passphrase,
		From: c.StartLedger(), To: c.LastLedger(), Ledger: func(_ context.Context, seq uint32) (xdr.LedgerCloseMeta, error) { return c.Canonical(seq) },
		Filler: filler, FillerCount: fillers, LedgersPerFile: perFile, FilesPerPartition: 4})
	if err != nil {
		t.Fatal(err)
	}
	return dir, res
}

func decoder(t testing.TB, c *sim.Chain) *chain.Decoder {
	t.Helper()
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: passphrase, Contracts: simtest.Fluxora(t, c.ContractID())})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// readAll reads ledgers from..to through the lake's reader, in batches of at most batch ledgers.
func readAll(t testing.TB, r chain.LedgerReader, from, to uint32, batch int) []chain.Ledger {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []chain.Ledger
	for next := from; next <= to; {
		ls, err := r.Read(ctx, next, batch, 1<<30)
		if err != nil {
			t.Fatalf("read from %d: %v", next, err)
		}
		out = append(out, ls...)
		next = ls[len(ls)-1].Sequence + 1
	}
	return out
}

// TestLakeHoldsTheSimulatorsChain: the SDK's own lake reader (BufferedStorageBackend, a second implementation)
// finds in a lake made by Make exactly the simulator's ledgers, and our reader decodes them as the full decoder
// decodes the simulator's, with files of one and of several ledgers.
func TestLakeHoldsTheSimulatorsChain(t *testing.T) {
	c := simChain(t, 40)
	for _, perFile := range []uint32{1, 8} {
		dir, res := makeLake(t, c, perFile, nil, 0)
		if res.First != 2 || res.Last != 41 {
			t.Fatalf("made %d..%d", res.First, res.Last)
		}
		store, err := datastore.NewFilesystemDataStoreWithPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		schema, err := datastore.LoadSchema(context.Background(), store, datastore.DataStoreConfig{})
		if err != nil {
			t.Fatal(err)
		}
		sdk, err := ledgerbackend.NewBufferedStorageBackend(ledgerbackend.BufferedStorageBackendConfig{BufferSize: 4, NumWorkers: 2,
			RetryLimit: 1, RetryWait: time.Millisecond}, store, schema)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := sdk.PrepareRange(ctx, ledgerbackend.BoundedRange(2, 41)); err != nil {
			t.Fatal(err)
		}
		l, err := lake.Open(ctx, "file://"+dir, passphrase)
		if err != nil {
			t.Fatal(err)
		}
		if l.First() != 2 || l.Last() != 41 {
			t.Fatalf("lake holds %d..%d", l.First(), l.Last())
		}
		d := decoder(t, c)
		r, err := l.Reader(d, 2, 41, 2)
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, r, 2, 41, 7)
		r.Close()
		for i, g := range got {
			seq := uint32(2 + i)
			want, _ := c.Canonical(seq)
			fromSDK, err := sdk.GetLedger(ctx, seq)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := want.MarshalBinary()
			b, _ := fromSDK.MarshalBinary()
			if string(a) != string(b) {
				t.Fatalf("per file %d: the SDK reads another ledger %d than the simulator's", perFile, seq)
			}
			dec, err := d.Decode(want)
			if err != nil {
				t.Fatal(err)
			}
			if g.Sequence != seq || g.Hash != dec.Hash || g.PreviousHash != dec.PreviousHash || !g.ClosedAt.Equal(dec.ClosedAt) ||
				len(g.Events) != len(dec.Events) {
				t.Fatalf("ledger %d: read %+v, want %+v", seq, g, dec)
			}
			for k := range g.Events {
				if g.Events[k].ID != dec.Events[k].ID || !reflect.DeepEqual(g.Events[k].Event, dec.Events[k].Event) {
					t.Fatalf("ledger %d event %d differs", seq, k)
				}
			}
		}
		sdk.Close()
		l.Close()
	}
}

// TestFillersMakeOneHashChain: with fillers, every ledger links to the one before it and the simulator's events
// come at their new places, the fillers holding none of the configured contract's.
func TestFillersMakeOneHashChain(t *testing.T) {
	c := simChain(t, 6)
	// A filler from another contract's world: the pubnet ledger is the benchmark's; here a ledger of another
	// simulated network keeps the test fast.
	other, err := sim.New(sim.Config{Seed: 99, NetworkPassphrase: passphrase, Streams: 3, TxPerLedger: 2, Ledgers: 3})
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := other.Canonical(3)
	raw, err := foreign.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir, res := makeLake(t, c, 1, raw, 3)
	if res.Last != 2+5*4 {
		t.Fatalf("made %d..%d", res.First, res.Last)
	}
	l, err := lake.Open(context.Background(), "file://"+dir, passphrase)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r, err := l.Reader(decoder(t, c), res.First, res.Last, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := readAll(t, r, res.First, res.Last, 5)
	if len(got) != int(res.Last-res.First+1) {
		t.Fatalf("read %d ledgers", len(got))
	}
	for i, g := range got {
		if i > 0 && g.PreviousHash != got[i-1].Hash {
			t.Fatalf("ledger %d does not link", g.Sequence)
		}
		src := (g.Sequence - 2) % 4
		want, _ := c.Canonical(2 + (g.Sequence-2)/4)
		n := 0
		if src == 0 {
			dec, _ := decoder(t, c).Decode(want)
			n = len(dec.Events)
		}
		if len(g.Events) != n {
			t.Fatalf("ledger %d: %d events, want %d", g.Sequence, len(g.Events), n)
		}
	}
}

// TestBadLakes: what is wrong with a lake is said, naming the file or ledger, and read again gives the same.
func TestBadLakes(t *testing.T) {
	c := simChain(t, 12)
	ctx := context.Background()
	open := func(t *testing.T, dir string) *lake.Reader {
		l, err := lake.Open(ctx, "file://"+dir, passphrase)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		r, err := l.Reader(decoder(t, c), l.First(), l.Last(), 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	file := func(t *testing.T, dir string, seq uint32) string {
		schema := datastore.DataStoreSchema{LedgersPerFile: 1, FilesPerPartition: 4, FileExtension: "zst"}
		return filepath.Join(dir, schema.GetObjectKeyFromSequenceNumber(seq))
	}
	readErr := func(t *testing.T, r *lake.Reader) error {
		t.Helper()
		var err error
		for next := uint32(2); next <= 13 && err == nil; {
			var ls []chain.Ledger
			if ls, err = r.Read(ctx, next, 100, 1<<30); err == nil {
				next = ls[len(ls)-1].Sequence + 1
			}
		}
		return err
	}
	t.Run("wrong network", func(t *testing.T) {
		dir, _ := makeLake(t, c, 1, nil, 0)
		_, err := lake.Open(ctx, "file://"+dir, network.PublicNetworkPassphrase)
		if !errors.Is(err, lake.ErrNetwork) || !strings.Contains(err.Error(), passphrase) || !strings.Contains(err.Error(), network.PublicNetworkPassphrase) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("not a lake", func(t *testing.T) {
		_, err := lake.Open(ctx, "file://"+t.TempDir(), passphrase)
		if !errors.Is(err, lake.ErrLake) || !strings.Contains(err.Error(), ".config.json") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("gap", func(t *testing.T) {
		dir, _ := makeLake(t, c, 1, nil, 0)
		name := file(t, dir, 7)
		if err := os.Remove(name); err != nil {
			t.Fatal(err)
		}
		r := open(t, dir)
		for range 2 { // and again: nothing is skipped
			err := readErr(t, r)
			if !errors.Is(err, chain.ErrBadSource) || !strings.Contains(err.Error(), filepath.Base(name)) || !strings.Contains(err.Error(), "missing") {
				t.Fatalf("err = %v", err)
			}
		}
	})
	t.Run("corrupt zstd", func(t *testing.T) {
		dir, _ := makeLake(t, c, 1, nil, 0)
		name := file(t, dir, 5)
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		raw[len(raw)/2] ^= 0xff
		raw[len(raw)/2+1] ^= 0xff
		if err := os.WriteFile(name, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		err = readErr(t, open(t, dir))
		if !errors.Is(err, chain.ErrBadSource) || !strings.Contains(err.Error(), filepath.Base(name)) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ledger that does not link", func(t *testing.T) {
		dir, _ := makeLake(t, c, 1, nil, 0)
		// Ledger 9's file holds another chain's ledger 9: its hash is its own, its parent another.
		o, err := sim.New(sim.Config{Seed: 8, NetworkPassphrase: passphrase, Streams: 5, TxPerLedger: 1, Ledgers: 12})
		if err != nil {
			t.Fatal(err)
		}
		odir, _ := makeLake(t, o, 1, nil, 0)
		raw, err := os.ReadFile(file(t, odir, 9))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file(t, dir, 9), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		err = readErr(t, open(t, dir))
		if !errors.Is(err, chain.ErrBadSource) || !strings.Contains(err.Error(), "ledger 9") || !strings.Contains(err.Error(), "does not link") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("bad urls", func(t *testing.T) {
		for _, u := range []string{"ftp://x", "s3://bucket/p", "s3://bucket/p?region=r&endpoint=ftp://x", "file://host/dir", "s3://b?region=r&colour=red", "gs://"} {
			if _, err := lake.Config(u); !errors.Is(err, lake.ErrConfig) || !strings.Contains(err.Error(), "LAKE_URL") {
				t.Errorf("%s: %v", u, err)
			}
		}
	})
}

// TestEmbeddedPubnetLedger: the filler is the SDK's own pubnet ledger, byte for byte.
func TestEmbeddedPubnetLedger(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/stellar/go-stellar-sdk").Output()
	if err != nil {
		t.Fatalf("locate the SDK module: %v", err)
	}
	want, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "xdr", "testdata", "ledger_58752000.bin"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := lake.PubnetLedger()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("the embedded ledger (%d bytes) is not the SDK's (%d bytes)", len(got), len(want))
	}
}
