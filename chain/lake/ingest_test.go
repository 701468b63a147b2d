package lake_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/support/datastore"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/lake"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/eventstore/storetest"
)

// ingestAll runs an ingester over cfg's source into a fresh store until the tip reaches last, and returns the log.
func ingestAll(t *testing.T, cfg chain.Config, last uint32) []eventstore.Recorded {
	t.Helper()
	store := memory.New()
	cfg.Store = store
	in, err := chain.NewIngester(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	for in.Status().Tip < last && ctx.Err() == nil && in.Status().Health != chain.HealthHalted {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := in.Status(); st.Tip != last {
		t.Fatalf("ingestion stopped at %d: %+v", st.Tip, st)
	}
	return storetest.All(t, store)
}

// TestLakeAndSimulatorWriteTheSameLog: for batch bounds that cut the chain in many places, an ingester reading the
// lake writes the same log as one reading the simulator: the same batches, so the same verified ranges.
func TestLakeAndSimulatorWriteTheSameLog(t *testing.T) {
	c := simChain(t, 300) // one ledger in three without events
	dir, res := makeLake(t, c, 3, nil, 0)
	l, err := lake.Open(context.Background(), "file://"+dir, passphrase)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, bounds := range [][2]int{{7, 1 << 20}, {64, 25}, {256, 4096}} {
		t.Run(fmt.Sprintf("ledgers=%d events=%d", bounds[0], bounds[1]), func(t *testing.T) {
			base := chain.Config{Decoder: decoder(t, c), StartLedger: res.First, SafetyMargin: 2, MaxBatchLedgers: bounds[0], MaxBatchEvents: bounds[1]}
			fromSim := base
			fromSim.Open = func() (ledgerbackend.LedgerBackend, error) { return c.Backend(), nil }
			fromLake := base
			fromLake.OpenReader = func(_ context.Context, from uint32) (chain.LedgerReader, error) {
				return l.Reader(base.Decoder, from, res.Last, 2)
			}
			want, got := ingestAll(t, fromSim, res.Last), ingestAll(t, fromLake, res.Last)
			ranges := 0
			for i := range max(len(want), len(got)) {
				if i >= len(want) || i >= len(got) {
					t.Fatalf("the simulator's log has %d events, the lake's %d", len(want), len(got))
				}
				w, g := want[i], got[i]
				if w.ID != g.ID || w.Stream != g.Stream || w.Version != g.Version || w.Position != g.Position || string(w.Data) != string(g.Data) {
					t.Fatalf("event %d: simulator %s %s, lake %s %s", i, w.Type, w.Data, g.Type, g.Data)
				}
				if w.Type == "LedgersVerified" {
					ranges++
				}
			}
			if ranges == 0 {
				t.Fatal("no verified range")
			}
		})
	}
}

// TestBadLakeHaltsIngestion: a missing file in the middle of the lake halts ingestion with the file's name as the
// reason, after every ledger before it and none after; once the file is back, a new ingester goes on from there.
func TestBadLakeHaltsIngestion(t *testing.T) {
	c := simChain(t, 60)
	dir, res := makeLake(t, c, 1, nil, 0)
	schema := datastore.DataStoreSchema{LedgersPerFile: 1, FilesPerPartition: 4, FileExtension: "zst"}
	name := filepath.Join(dir, schema.GetObjectKeyFromSequenceNumber(40))
	saved, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	l, err := lake.Open(context.Background(), "file://"+dir, passphrase)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	store := memory.New()
	d := decoder(t, c)
	cfg := chain.Config{Store: store, Decoder: d, StartLedger: res.First, SafetyMargin: 1, Target: res.Last, MaxBatchLedgers: 8,
		OpenReader: func(_ context.Context, from uint32) (chain.LedgerReader, error) {
			return l.Reader(d, from, res.Last, 2)
		}}
	in, err := chain.NewIngester(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = in.Run(ctx)
	st := in.Status()
	if !errors.Is(err, chain.ErrHalted) || !errors.Is(err, chain.ErrBadSource) || st.Health != chain.HealthHalted ||
		st.HaltReason != chain.HaltBadSource || !strings.Contains(st.LastError, filepath.Base(name)) || st.Tip != 39 {
		t.Fatalf("err %v, status %+v", err, st)
	}
	if err := os.WriteFile(name, saved, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := chain.NewIngester(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- again.Run(ctx) }()
	for again.Status().Tip < res.Last && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil || again.Status().Tip != res.Last {
		t.Fatalf("after the file came back: %v %+v", err, again.Status())
	}
}
