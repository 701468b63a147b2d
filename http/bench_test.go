package http

import (
	"context"
	"fmt"
	"io"
	stdhttp "net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/streams"
)

// benchServer is the API over a simulated chain (500 streams), served on loopback.
func benchServer(b *testing.B) (string, []fluxora.Stream, *memory.Store) {
	b.Helper()
	store := memory.New()
	simtest.Ingest(b, sim.Config{Seed: 3, Streams: 500, TxPerLedger: 20, Ledgers: 300}, 1, store)
	proj := streams.NewMemory(store)
	r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: proj})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.CatchUp(context.Background()); err != nil {
		b.Fatal(err)
	}
	all := proj.All()
	h := &harness{srv: New(testConfig{Streams: proj.Reader(), Config: Config{Version: "bench", NetworkPassphrase: "bench",
		Contracts: []domain.Address{all[0].ContractID}, PublicReads: true, Events: store, Live: store, RateLimit: 1 << 30,
		Codec: fluxora.NewCodec()}}.build())}
	return listen(b, h), all, store
}

// load runs n requests from workers concurrent clients and reports requests/s and latency percentiles.
func load(b *testing.B, workers int, request func(i int) (*stdhttp.Response, error)) {
	b.Helper()
	latencies := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				t0 := time.Now()
				resp, err := request(i)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				latencies[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d requests failed", failed.Load(), b.N)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "requests/s")
	b.ReportMetric(float64(latencies[b.N/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[b.N*99/100].Microseconds())/1000, "p99-ms")
}

func client() *stdhttp.Client {
	return &stdhttp.Client{Transport: &stdhttp.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
}

// BenchmarkGetStream is GET /api/streams/:id on the embedded read model, 32 concurrent clients.
func BenchmarkGetStream(b *testing.B) {
	base, all, _ := benchServer(b)
	c := client()
	load(b, 32, func(i int) (*stdhttp.Response, error) {
		return c.Get(base + "/api/streams/" + all[i%len(all)].Ref().String())
	})
}

// BenchmarkListStreams is a filtered GET /api/streams (20 per page), 32 concurrent clients.
func BenchmarkListStreams(b *testing.B) {
	base, _, _ := benchServer(b)
	c := client()
	load(b, 32, func(i int) (*stdhttp.Response, error) {
		return c.Get(base + "/api/streams?status=active&limit=20")
	})
}

// BenchmarkWebSocketFanOut: 1,000 subscribers of one stream; each appended event is timed from the append to
// its arrival at every subscriber. Reports the p99 delivery latency over all deliveries.
func BenchmarkWebSocketFanOut(b *testing.B) {
	base, all, store := benchServer(b)
	url := "ws" + strings.TrimPrefix(base, "http") + "/ws/streams"
	target := all[0]
	const subscribers = 1000
	conns := make([]*fws.Conn, subscribers)
	for i := range conns {
		conn, _, err := fws.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		conn.WriteMessage(fws.TextMessage, []byte(fmt.Sprintf(`{"type":"subscribe","streamId":"%s"}`, target.Ref())))
		conns[i] = conn
	}
	// Each subscriber answers a settle message once its subscription is in place.
	for _, conn := range conns {
		conn.WriteMessage(fws.TextMessage, []byte(`{"type":"settle"}`))
		if _, _, err := conn.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
	var mu sync.Mutex
	var latencies []time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		var wg sync.WaitGroup
		start := time.Now()
		e := &fluxora.StreamPaused{ChainMeta: domain.ChainMeta{ContractID: target.ContractID, Ledger: uint32(1_000_000 + n),
			LedgerClosedAt: time.Now().UTC()}, StreamID: target.StreamID, Reason: fluxora.PauseOperational}
		data, _ := domain.Marshal(e)
		if _, err := store.Append(context.Background(), target.Ref().StoreStream(), eventstore.Any,
			eventstore.NewEvent{ID: domain.DerivedEventUUID("bench", fmt.Sprint(n)), Type: string(e.Type()), Data: data}); err != nil {
			b.Fatal(err)
		}
		for _, conn := range conns {
			wg.Go(func() {
				if _, _, err := conn.ReadMessage(); err != nil {
					b.Error(err)
					return
				}
				d := time.Since(start)
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
}

// pgStreams serves a PostgreSQL streams projection through the API's reader interface.
type pgStreams struct{ p *streams.Postgres }

func (r pgStreams) Get(ctx context.Context, ref fluxora.StreamRef) (fluxora.Stream, bool, error) {
	return r.p.Get(ctx, ref)
}

func (r pgStreams) List(ctx context.Context, f streams.Filter, pg streams.Page) ([]fluxora.Stream, bool, error) {
	return r.p.List(ctx, f, pg)
}

// BenchmarkGetStreamPostgres is GET /api/streams/:id read from the PostgreSQL projection.
func BenchmarkGetStreamPostgres(b *testing.B) {
	url := pgtest.URL(b)
	store := memory.New()
	simtest.Ingest(b, sim.Config{Seed: 3, Streams: 500, TxPerLedger: 20, Ledgers: 300}, 1, store)
	ctx := context.Background()
	p, err := streams.OpenPostgres(ctx, pgtest.Pool(b, url), pgtest.Schema(b, url), 1, store)
	if err != nil {
		b.Fatal(err)
	}
	r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: p})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.CatchUp(ctx); err != nil {
		b.Fatal(err)
	}
	list, _, err := p.List(ctx, streams.Filter{}, streams.Page{Limit: 1000})
	if err != nil {
		b.Fatal(err)
	}
	h := &harness{srv: New(testConfig{Streams: pgStreams{p}, Config: Config{Version: "bench", NetworkPassphrase: "bench",
		Contracts: []domain.Address{list[0].ContractID}, PublicReads: true, Events: store, RateLimit: 1 << 30,
		Codec: fluxora.NewCodec()}}.build())}
	base := listen(b, h)
	c := client()
	load(b, 32, func(i int) (*stdhttp.Response, error) {
		return c.Get(base + "/api/streams/" + list[i%len(list)].Ref().String())
	})
}
