package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/postgres"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/projections/audit"
)

// auditBenchRows is the size of the audit log the export benchmark exports.
const auditBenchRows = 1_000_000

// fillAuditLog writes n realistic audit entries (withdrawals, with amounts) and their Merkle hashes straight into the
// live audit generation of a fresh database, as the projection would have.
func fillAuditLog(b *testing.B, url string, n int) {
	ctx := context.Background()
	store, err := postgres.Open(ctx, url, postgres.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	pool := store.Pool()
	if _, err := audit.OpenPostgres[audit.TxAnomalies](ctx, pool, "streamledger", 1, nil); err != nil {
		b.Fatal(err)
	}
	const contract = domain.Address("CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP")
	genesis := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var hashes []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	rows := make([][]any, 0, 50_000)
	flush := func() {
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{"streamledger", "audit_entries_g1"},
			[]string{"seq", "position", "event_id", "action", "ledger", "contract_id", "stream_id", "recorded_at", "leaf"},
			pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		rows = rows[:0]
	}
	for i := range n {
		stream := uint64(i % 5000)
		closed := genesis.Add(time.Duration(i/10) * 5 * time.Second)
		e := audit.Entry{V: audit.LeafVersion, Seq: int64(i), Position: eventstore.Position(2*i + 1), EventID: domain.DerivedEventUUID("bench", strconv.Itoa(i)),
			Stream: fmt.Sprintf("stream-%s-%d", contract, stream), Type: "StreamWithdrawn", Action: audit.ActionApplied,
			Ledger: uint32(1000 + i/10), LedgerClosedAt: &closed, TxHash: fmt.Sprintf("%064x", i), ContractID: contract, StreamID: &stream,
			Amounts: map[string]domain.Amount{"amount": domain.NewAmount(int64(i)*1_000_003 + 7)},
			Summary: fmt.Sprintf("StreamWithdrawn on stream %s:%d", contract, stream), RecordedAt: closed.Add(time.Second)}
		leaf, err := e.Leaf()
		if err != nil {
			b.Fatal(err)
		}
		hs, err := tlog.StoredHashes(int64(i), leaf, reader)
		if err != nil {
			b.Fatal(err)
		}
		hashes = append(hashes, hs...)
		rows = append(rows, []any{e.Seq, int64(e.Position), e.EventID, e.Action, int64(e.Ledger), string(contract),
			strconv.FormatUint(stream, 10), e.RecordedAt, string(leaf)})
		if len(rows) == cap(rows) {
			flush()
		}
	}
	flush()
	var tiles [][]any
	for _, t := range tlog.NewTiles(audit.TileHeight, 0, int64(n)) {
		data, err := tlog.ReadTileData(t, reader)
		if err != nil {
			b.Fatal(err)
		}
		tiles = append(tiles, []any{int32(t.L), t.N, data})
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"streamledger", "audit_tiles_g1"}, []string{"level", "n", "data"},
		pgx.CopyFromRows(tiles)); err != nil {
		b.Fatal(err)
	}
	// A log written over months is vacuumed and checkpointed; a bulk load is not until autovacuum and the
	// checkpointer get to it, in the middle of the measurement.
	for _, sql := range []string{`VACUUM ANALYZE streamledger.audit_entries_g1, streamledger.audit_tiles_g1`, `CHECKPOINT`} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuditExport exports an audit log of a million entries from PostgreSQL with `streamledger audit export`,
// as a process, and reports rows/s and the process's peak resident memory (targets: 200k rows/s, under 100 MiB).
func BenchmarkAuditExport(b *testing.B) {
	url := pgtest.Database(b, pgtest.URL(b))
	fillAuditLog(b, url, auditBenchRows)
	bin := filepath.Join(b.TempDir(), "streamledger")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	out := filepath.Join(b.TempDir(), "audit.csv")
	var peak int64
	b.ResetTimer()
	for range b.N {
		cmd := exec.Command(bin, "audit", "export", "--out", out)
		cmd.Env = append(os.Environ(), "STORE=postgres", "DATABASE_URL="+url, "LOG_LEVEL=warn")
		var output bytes.Buffer
		cmd.Stdout, cmd.Stderr = &output, &output
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// The child's own high-water mark, read while it runs: the rusage of a child started with vfork also counts
		// the parent's memory at the time (here, the million entries just written).
		for running := true; running; {
			if kib := highWaterKiB(cmd.Process.Pid); kib > peak {
				peak = kib
			}
			select {
			case err := <-done:
				if err != nil {
					b.Fatalf("export: %v\n%s", err, output.String())
				}
				running = false
				b.Log(output.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	b.ReportMetric(float64(auditBenchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
	b.StopTimer()
	if info, err := os.Stat(out); err != nil || info.Size() < auditBenchRows*100 {
		b.Fatalf("the export is %v bytes (%v)", info, err)
	}
}

// highWaterKiB is a process's peak resident memory so far (VmHWM), 0 once it has exited.
func highWaterKiB(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
