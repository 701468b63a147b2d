package projections_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/network"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/eventstore/postgres"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/audit"
	"github.com/streamledger/streamledger/projections/outbox"
	"github.com/streamledger/streamledger/projections/streams"
)

// benchChain is the chain the rebuild benchmarks replay: 500 live streams, ~9 Fluxora events per ledger.
var benchChain = sim.Config{Seed: 1, Streams: 500, TxPerLedger: 20, Ledgers: 2000}

var (
	benchStoreOnce sync.Once
	benchStore     *memory.Store
)

// filledMemoryStore ingests benchChain once per test binary.
func filledMemoryStore(b *testing.B) *memory.Store {
	benchStoreOnce.Do(func() {
		benchStore = memory.New()
		simtest.Ingest(b, benchChain, 1, benchStore)
	})
	return benchStore
}

// rebuildRate rebuilds with the batch size the product uses for that rebuild: serve's start-up rebuild of the
// in-memory projections, or replay's of a PostgreSQL generation.
func rebuildRate(b *testing.B, store projections.Reader, batch int, open func(i int) projections.Projection) {
	ctx := context.Background()
	head, err := store.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var total, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p := open(i)
		r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: p, BatchSize: batch})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpuStart := time.Now(), processCPU(b)
		if err := r.CatchUp(ctx); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		cpu += processCPU(b) - cpuStart
	}
	events := float64(head) * float64(b.N)
	b.ReportMetric(events/total.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/event")
}

// processCPU is the CPU time this process has used, on every thread (not PostgreSQL's). On the shared machines
// these benchmarks run on, wall-clock rates move by a third from one minute to the next and the CPU spent per
// event by about a tenth: a second measure for comparing two versions.
func processCPU(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkRebuildStreamsMemory rebuilds the in-memory streams projection from the log (read, decode, fold).
func BenchmarkRebuildStreamsMemory(b *testing.B) {
	store := filledMemoryStore(b)
	rebuildRate(b, store, 5000, func(int) projections.Projection { return streams.NewMemory(store) })
}

// BenchmarkRebuildPostgres rebuilds each PostgreSQL projection from a PostgreSQL event store.
func BenchmarkRebuildPostgres(b *testing.B) {
	url := pgtest.URL(b)
	schema := pgtest.Schema(b, url)
	ctx := context.Background()
	store, err := postgres.Open(ctx, url, postgres.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	copyStore(b, filledMemoryStore(b), store)
	gen := 0
	for _, tc := range []struct {
		name string
		open func(gen int) (projections.Projection, error)
	}{
		{streams.Name, func(gen int) (projections.Projection, error) {
			return streams.OpenPostgres(ctx, store.Pool(), schema, gen, store)
		}},
		{audit.Name, func(gen int) (projections.Projection, error) {
			return audit.OpenPostgres(ctx, store.Pool(), schema, gen, streams.AuditFoldsOn(store))
		}},
		{outbox.Name, func(gen int) (projections.Projection, error) {
			return outbox.OpenPostgres(ctx, store.Pool(), schema, gen, 1)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rebuildRate(b, store, projections.RebuildBatchSize, func(int) projections.Projection {
				gen++
				p, err := tc.open(gen)
				if err != nil {
					b.Fatal(err)
				}
				return p
			})
		})
	}
}

// copyStore copies every event of from into to, in order, a thousand at a time.
func copyStore(b *testing.B, from *memory.Store, to eventstore.Store) {
	ctx := context.Background()
	var after eventstore.Position
	for {
		page, err := from.ReadAll(ctx, after, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if len(page) == 0 {
			return
		}
		var batch []eventstore.StreamAppend
		for _, r := range page {
			batch = append(batch, eventstore.StreamAppend{Stream: r.Stream, Expected: eventstore.Any,
				Events: []eventstore.NewEvent{{ID: r.ID, Type: r.Type, Data: r.Data}}})
		}
		if _, err := to.AppendMany(ctx, batch); err != nil {
			b.Fatal(err)
		}
		after = page[len(page)-1].Position
	}
}

// BenchmarkPipelinePostgres measures the whole path on PostgreSQL: simulator → decoder → ingester → event store →
// projections, all running at once; events/s counts contract events. "all" runs the three projections (DESIGN
// §11's target); the others run ingestion alone or with one projection, to show what each part costs. Besides
// the rate it reports the CPU per event of this process and, when the server runs on this machine, of
// PostgreSQL: on two cores, 30k events/s leaves 66 µs of CPU per event for both together.
func BenchmarkPipelinePostgres(b *testing.B) {
	for _, tc := range []struct {
		name        string
		projections []string
	}{
		{"all", []string{streams.Name, audit.Name, outbox.Name}},
		{"ingest", nil},
		{"ingest+streams", []string{streams.Name}},
		{"ingest+audit", []string{audit.Name}},
		{"ingest+outbox", []string{outbox.Name}},
	} {
		b.Run(tc.name, func(b *testing.B) { benchPipeline(b, tc.projections) })
	}
}

func benchPipeline(b *testing.B, names []string) {
	url := pgtest.URL(b)
	ctx := context.Background()
	server := newServerCPU(url)
	var events float64
	var total, cpu, serverCPU time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cfg := benchChain
		cfg.NetworkPassphrase = network.TestNetworkPassphrase
		simNet, err := sim.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		last := simNet.LastLedger()
		for seq := simNet.StartLedger(); seq <= last; seq++ { // build the ledgers outside the measurement
			if _, err := simNet.Canonical(seq); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := simNet.Ledger(ctx, last); err != nil {
			b.Fatal(err)
		}
		schema := pgtest.Schema(b, url)
		store, err := postgres.Open(ctx, url, postgres.Config{Schema: schema, PollInterval: 50 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		var projs []projections.Projection
		for _, name := range names {
			var p projections.Projection
			switch name {
			case streams.Name:
				p, err = streams.OpenPostgres(ctx, store.Pool(), schema, 1, store)
			case audit.Name:
				p, err = audit.OpenPostgres(ctx, store.Pool(), schema, 1, streams.AuditFoldsOn(store))
			case outbox.Name:
				p, err = outbox.OpenPostgres(ctx, store.Pool(), schema, 1, 1)
			}
			if err != nil {
				b.Fatal(err)
			}
			projs = append(projs, p)
		}
		d, _ := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: cfg.NetworkPassphrase, Contracts: simtest.Fluxora(b, simNet.ContractID())})
		in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, StartLedger: simNet.StartLedger(), SafetyMargin: 1,
			Open: func() (ledgerbackend.LedgerBackend, error) { return simNet.Backend(), nil }})
		if err != nil {
			b.Fatal(err)
		}
		cache := projections.NewDecodeCache(20_000)
		var runners []*projections.Runner
		for _, p := range projs {
			runners = append(runners, sharedRunner(b, store, p, 2000, cache))
		}
		runCtx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		// Building the chain above left garbage that the pipeline would otherwise pay for collecting.
		runtime.GC()
		b.StartTimer()
		start, cpuStart, serverStart := time.Now(), processCPU(b), server.used()
		wg.Go(func() { in.Run(runCtx) })
		for _, r := range runners {
			wg.Go(func() { r.Run(runCtx) })
		}
		for in.Status().Tip < last {
			time.Sleep(time.Millisecond)
		}
		head, _ := store.Head(ctx)
		for _, p := range projs {
			for {
				pos, err := p.Checkpoint(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if pos >= head {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		total += time.Since(start)
		cpu += processCPU(b) - cpuStart
		serverCPU += server.used() - serverStart
		b.StopTimer()
		cancel()
		wg.Wait()
		events += float64(in.Status().Events) // contract events; the log also holds ledger markers
		store.Close()
	}
	b.ReportMetric(events/total.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/event")
	if server.ok {
		b.ReportMetric(float64(serverCPU.Nanoseconds())/events, "pg-cpu-ns/event")
	}
}

// serverCPU reads the CPU time of the PostgreSQL server's processes from /proc, when the server is on this
// machine (DATABASE_URL names a loopback host) and its processes can be seen; ok is false otherwise. It counts
// every process named postgres, and the time of ended backends through their parent's children's time.
type serverCPU struct{ ok bool }

func newServerCPU(url string) serverCPU {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return serverCPU{}
	}
	local := strings.HasPrefix(cfg.Host, "/")
	if ip := net.ParseIP(cfg.Host); ip != nil {
		local = ip.IsLoopback()
	}
	if cfg.Host == "localhost" {
		local = true
	}
	s := serverCPU{ok: local}
	if local {
		_, s.ok = s.read()
	}
	return s
}

func (s serverCPU) used() time.Duration {
	if !s.ok {
		return 0
	}
	t, _ := s.read()
	return t
}

// read sums utime, stime, cutime and cstime (fields 14–17 of /proc/PID/stat, in clock ticks of 10 ms on Linux).
func (serverCPU) read() (time.Duration, bool) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	var ticks int64
	found := false
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || end < open || string(stat[open+1:end]) != "postgres" {
			continue
		}
		fields := strings.Fields(string(stat[end+1:]))
		if len(fields) < 15 {
			continue
		}
		for _, f := range fields[11:15] {
			n, _ := strconv.ParseInt(f, 10, 64)
			ticks += n
		}
		found = true
	}
	return time.Duration(ticks) * 10 * time.Millisecond, found
}
