package lake_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/lake"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/bolt"
	"github.com/streamledger/streamledger/eventstore/postgres"
	"github.com/streamledger/streamledger/eventstore/storetest"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/simtest"
)

// benchLake is a lake made once per benchmark run.
type benchLake struct {
	dir      string
	contract domain.Address
	first    uint32
	last     uint32
	empty    int // ledgers without events of the contract
}

var (
	lakesOnce sync.Map // name → *benchLake
)

// lakeFor makes (once) a lake of sources simulated ledgers with fillers pubnet ledgers between each two, or of
// simulated ledgers without events (small headers, no transactions) when fillers is 0.
func lakeFor(b *testing.B, name string, sources uint32, txPerLedger, fillers int) *benchLake {
	b.Helper()
	if l, ok := lakesOnce.Load(name); ok {
		return l.(*benchLake)
	}
	c, err := sim.New(sim.Config{Seed: 4, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 20, TxPerLedger: txPerLedger, Ledgers: sources})
	if err != nil {
		b.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "bench-lake-")
	if err != nil {
		b.Fatal(err)
	}
	cfg := lake.MakeConfig{Dir: dir, NetworkPassphrase: network.TestNetworkPassphrase, From: c.StartLedger(), To: c.LastLedger(),
		Ledger: func(_ context.Context, seq uint32) (xdr.LedgerCloseMeta, error) { return c.Canonical(seq) }, FillerCount: fillers}
	if fillers > 0 {
		if cfg.Filler, err = lake.PubnetLedger(); err != nil {
			b.Fatal(err)
		}
	}
	res, err := lake.Make(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	l := &benchLake{dir: dir, contract: c.ContractID(), first: res.First, last: res.Last}
	// Count the ledgers without events from the reader itself (the fillers and the simulator's quiet ledgers).
	ll, err := lake.Open(context.Background(), "file://"+dir, network.TestNetworkPassphrase)
	if err != nil {
		b.Fatal(err)
	}
	r, err := ll.Reader(benchDecoder(b, l), l.first, l.last, runtime.GOMAXPROCS(0))
	if err != nil {
		b.Fatal(err)
	}
	for next := l.first; next <= l.last; {
		ls, err := r.Read(context.Background(), next, 1<<20, 1<<30)
		if err != nil {
			b.Fatal(err)
		}
		for _, x := range ls {
			if len(x.Events) == 0 {
				l.empty++
			}
		}
		next = ls[len(ls)-1].Sequence + 1
	}
	r.Close()
	ll.Close()
	lakesOnce.Store(name, l)
	return l
}

func benchDecoder(b *testing.B, l *benchLake) *chain.Decoder {
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: simtest.Fluxora(b, l.contract)})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// floor reads and decompresses every file of the lake on as many goroutines as there are cores, and nothing else:
// the physical limit of a backfill from it on this machine. It returns ledgers per second.
func floor(b *testing.B, l *benchLake) float64 {
	b.Helper()
	var files []string
	if err := filepath.WalkDir(l.dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && filepath.Ext(p) == ".zst" {
			files = append(files, p)
		}
		return err
	}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	work := make(chan string)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
			defer dec.Close()
			var plain []byte
			var buf bytes.Buffer
			for p := range work {
				f, err := os.Open(p)
				if err != nil {
					b.Error(err)
					continue
				}
				buf.Reset()
				_, err = buf.ReadFrom(f)
				f.Close()
				if err != nil {
					b.Error(err)
				}
				if plain, err = dec.DecodeAll(buf.Bytes(), plain[:0]); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for _, f := range files {
		work <- f
	}
	close(work)
	wg.Wait()
	return float64(l.last-l.first+1) / time.Since(start).Seconds()
}

type backfillStore interface {
	chain.Store
	eventstore.Store
}

// backfill ingests the whole lake into store and returns how long it took.
func backfill(b *testing.B, l *benchLake, store backfillStore) time.Duration {
	b.Helper()
	ll, err := lake.Open(context.Background(), "file://"+l.dir, network.TestNetworkPassphrase)
	if err != nil {
		b.Fatal(err)
	}
	defer ll.Close()
	d := benchDecoder(b, l)
	in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, StartLedger: l.first, SafetyMargin: 1, Target: l.last,
		OpenReader: func(_ context.Context, from uint32) (chain.LedgerReader, error) {
			return ll.Reader(d, from, l.last, runtime.GOMAXPROCS(0))
		}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	for in.Status().Tip < l.last {
		if st := in.Status(); st.Health == chain.HealthHalted {
			b.Fatalf("halted: %+v", st)
		}
		time.Sleep(200 * time.Microsecond)
	}
	elapsed := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return elapsed
}

// markerBytes is what the ledger stream's markers of ledgers without events take: their stored data, per such
// ledger.
func markerBytes(b *testing.B, store eventstore.Store, l *benchLake) float64 {
	b.Helper()
	total := 0
	for _, r := range storetest.All(b, store) {
		switch domain.EventType(r.Type) {
		case domain.TypeLedgersVerified:
			total += len(r.Data) + len(r.Metadata) + len(r.ID) + len(r.Stream) + len(r.Type) + 24 // version, position, time
		case domain.TypeLedgerClosed:
			if bytes.Contains(r.Data, []byte(`"eventCount":0`)) {
				total += len(r.Data) + len(r.Metadata) + len(r.ID) + len(r.Stream) + len(r.Type) + 24
			}
		}
	}
	return float64(total) / float64(l.empty)
}

// BenchmarkBackfill: a lake of pubnet-sized ledgers (pubnet ledger 58752000, 1.28 MB, 50 between consecutive
// simulated ledgers that carry the contract's events) backfilled into PostgreSQL and the embedded store, and a lake
// of simulated ledgers without events (small headers, no transactions). Beside ledgers/s it reports the floor measured in the same run (reading and
// decompressing the same files on every core, nothing else), the ratio, and the bytes stored per ledger without
// events (the markers' stored fields).
func BenchmarkBackfill(b *testing.B) {
	cases := []struct {
		name        string
		sources     uint32
		tx, fillers int
		postgres    bool
	}{
		{name: "pubnet/postgres", sources: 80, tx: 3, fillers: 50, postgres: true},
		{name: "pubnet/embedded", sources: 80, tx: 3, fillers: 50},
		{name: "sim-empty/postgres", sources: 20000, tx: 0, postgres: true},
		{name: "sim-empty/embedded", sources: 20000, tx: 0},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			lakeName := "pubnet"
			if c.fillers == 0 {
				lakeName = "sim-empty"
			}
			l := lakeFor(b, lakeName, c.sources, c.tx, c.fillers)
			var url string
			if c.postgres {
				url = pgtest.URL(b)
			}
			var elapsed time.Duration
			var perEmpty, floorRate float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				var store backfillStore
				if c.postgres {
					s, err := postgres.Open(context.Background(), url, postgres.Config{Schema: pgtest.Schema(b, url)})
					if err != nil {
						b.Fatal(err)
					}
					store = s
				} else {
					s, err := bolt.Open(filepath.Join(b.TempDir(), "events.db"))
					if err != nil {
						b.Fatal(err)
					}
					store = s
				}
				floorRate += floor(b, l)
				b.StartTimer()
				elapsed += backfill(b, l, store)
				b.StopTimer()
				perEmpty = markerBytes(b, store, l)
				store.Close()
			}
			ledgers := float64(l.last-l.first+1) * float64(b.N)
			rate := ledgers / elapsed.Seconds()
			floorRate /= float64(b.N)
			b.ReportMetric(rate, "ledgers/s")
			b.ReportMetric(floorRate, "floor-ledgers/s")
			b.ReportMetric(100*rate/floorRate, "%floor")
			b.ReportMetric(perEmpty, "B/empty-ledger")
			b.ReportMetric(0, "ns/op")
		})
	}
}
