package http

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	stdhttp "net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/audit"
	"github.com/streamledger/streamledger/projections/streams"
)

const benchLogSize = 1_000_000

var (
	benchLogOnce sync.Once
	benchLog     *audit.Memory
	benchLogDir  string
	benchLogErr  error
)

// TestMain removes the benchmark's audit log, which outlives each run of the benchmark function (b.TempDir
// would not: it goes after every run, and the log is built once per process).
func TestMain(m *testing.M) {
	code := m.Run()
	if benchLog != nil {
		benchLog.Close()
	}
	if benchLogDir != "" {
		os.RemoveAll(benchLogDir)
	}
	os.Exit(code)
}

// millionEntryLog is an embedded audit log (scratch files, as serve keeps it) of a million entries: observed
// contract events, each a leaf of the size a chain event's entry has.
func millionEntryLog(b *testing.B) *audit.Memory {
	benchLogOnce.Do(func() {
		if benchLogDir, benchLogErr = os.MkdirTemp("", "bench-audit"); benchLogErr != nil {
			return
		}
		log, err := audit.NewScratch(streams.NewAnomalies(memory.New()), benchLogDir)
		if err != nil {
			benchLogErr = err
			return
		}
		const batch = 10_000
		closed := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		for from := 0; from < benchLogSize && benchLogErr == nil; from += batch {
			events := make([]projections.Event, batch)
			for i := range events {
				n := from + i
				meta := domain.ChainMeta{NetworkID: "bench", ContractID: "CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP",
					Ledger: uint32(n/10 + 2), LedgerHash: fmt.Sprintf("%064x", n/10), LedgerClosedAt: closed.Add(time.Duration(n/10) * 5 * time.Second),
					TxHash: fmt.Sprintf("%064x", n), ChainEventID: domain.ChainEventID(uint32(n/10+2), 1, 0, uint32(n%10))}
				events[i] = projections.Event{Recorded: eventstore.Recorded{ID: domain.DerivedEventUUID("bench", fmt.Sprint(n)),
					Stream: "contract-bench", Position: eventstore.Position(n + 1), Type: string(domain.TypeContractEventObserved),
					RecordedAt: closed}, Domain: &domain.ContractEventObserved{ChainMeta: meta, Topic: "transfer"}}
			}
			benchLogErr = log.Apply(context.Background(), events)
		}
		benchLog = log
	})
	if benchLogErr != nil {
		b.Fatal(benchLogErr)
	}
	return benchLog
}

// BenchmarkAuditLogTiles is C2SP tile requests on a million-entry embedded audit log, over loopback HTTP from 32
// clients: level-0 tiles, entry bundles and level-1 tiles at random, as a monitor or fsck fetches them (target:
// 5k requests/s). The limit beside it: the same clients fetching a prepared 8 KiB body through the same server
// and key check (static-requests/s), measured in the same run.
func BenchmarkAuditLogTiles(b *testing.B) {
	log := millionEntryLog(b)
	if log.Size() != benchLogSize {
		b.Fatalf("the log has %d entries", log.Size())
	}
	signer, vkey, err := audit.LoadOrCreateKey(filepath.Join(b.TempDir(), audit.KeyFile), "streamledger-bench")
	if err != nil {
		b.Fatal(err)
	}
	h := &harness{srv: New(Config{Version: "bench", NetworkPassphrase: "bench", RateLimit: 1 << 30,
		APIKeys: []APIKey{{Key: auditKey, ClientID: "auditor", Scopes: []string{ScopeAuditRead}}},
		Audit:   AuditConfig{Log: log, Signer: signer, VerifierKey: vkey}})}
	static := make([]byte, 8192)
	h.srv.App().Get("/bench/static", h.srv.require(ScopeAuditRead), func(c *fiber.Ctx) error { return c.Send(static) })
	root := listen(b, h)
	base := root + "/api/audit/log/"
	full := int64(benchLogSize / 256)
	paths := make([]string, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range paths {
		n := r.Int64N(full)
		switch i % 10 {
		case 0:
			paths[i] = fmt.Sprintf("tile/1/%03d", r.Int64N(full/256))
		case 1, 2, 3, 4:
			paths[i] = "tile/0/" + formatTilePath(tileRequest{index: n, width: 256})[len("tile/0/"):]
		default:
			paths[i] = "tile/entries/" + formatTilePath(tileRequest{index: n, width: 256})[len("tile/0/"):]
		}
	}
	c := client()
	get := func(url string) (*stdhttp.Response, error) {
		req, _ := stdhttp.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+auditKey)
		return c.Do(req)
	}
	staticRate := staticLimit(b, 32, 20_000, func() (*stdhttp.Response, error) { return get(root + "/bench/static") })
	load(b, 32, func(i int) (*stdhttp.Response, error) {
		return get(base + paths[i%len(paths)])
	})
	b.ReportMetric(staticRate, "static-requests/s")
}

// staticLimit is the rate of n requests from workers clients, before the benchmark's timed part.
func staticLimit(b *testing.B, workers, n int, request func() (*stdhttp.Response, error)) float64 {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				resp, err := request()
				if err != nil || resp.StatusCode != 200 {
					b.Errorf("static request: %v", err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}
