package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdhttp "net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/fscktest"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections/audit"
	"github.com/streamledger/streamledger/projections/streams"
)

func TestParseTilePath(t *testing.T) {
	for path, want := range map[string]tileRequest{
		"tile/0/000":               {level: 0, index: 0, width: 256},
		"tile/0/x001/x234/067.p/5": {level: 0, index: 1234067, width: 5},
		"tile/2/001.p/255":         {level: 2, index: 1, width: 255},
		"tile/63/999":              {level: 63, index: 999, width: 256},
		"tile/entries/x003/907":    {entries: true, index: 3907, width: 256},
		"tile/entries/000.p/1":     {entries: true, index: 0, width: 1},
	} {
		got, err := parseTilePath(path)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v, want %+v", path, got, err, want)
		}
	}
	for _, path := range []string{"", "tile", "tile/0", "tile/0/1", "tile/0/0000", "tile/00/000", "tile/64/000", "tile/-1/000",
		"tile/0/001/000", "tile/0/x001", "tile/0/x01/000", "tile/0/000.p/256", "tile/0/000.p/0", "tile/0/000.p/05",
		"tile/0/000.p", "tile/entries/", "tile/entries/abc", "checkpoint", "tile/0/x001/x002/x003/x004/x005/x006/007"} {
		if got, err := parseTilePath(path); err == nil {
			t.Errorf("%q parsed as %+v", path, got)
		}
	}
}

// FuzzParseTilePath: any path is refused or parsed into a tile that formats back to the same path.
func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/0/x001/x234/067.p/5", "tile/entries/x003/907", "tile/1/000.p/255"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		got, err := parseTilePath(path)
		if err != nil {
			return
		}
		if back := formatTilePath(got); back != path {
			t.Fatalf("%q parsed as %+v, which is %q", path, got, back)
		}
	})
}

// formatTilePath is the C2SP path of a tile, written independently of the parser.
func formatTilePath(t tileRequest) string {
	var elems []string
	n := t.index
	for {
		elems = append([]string{fmt.Sprintf("%03d", n%1000)}, elems...)
		n /= 1000
		if n == 0 {
			break
		}
	}
	for i := range len(elems) - 1 {
		elems[i] = "x" + elems[i]
	}
	kind := fmt.Sprint(t.level)
	if t.entries {
		kind = "entries"
	}
	p := "tile/" + kind + "/" + strings.Join(elems, "/")
	if t.width != 256 {
		p += fmt.Sprintf(".p/%d", t.width)
	}
	return p
}

// tileGet fetches a path of the tile log with the auditor's key (tiles are not JSON: no contract check).
func tileGet(t *testing.T, h *harness, path string) (int, stdhttp.Header, []byte) {
	t.Helper()
	req, _ := stdhttp.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+auditKey)
	resp, err := h.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// largerAudit is the audit log of a simulated network long enough for full tiles.
func largerAudit(t *testing.T) (*audit.Memory, *memory.Store) {
	t.Helper()
	store := memory.New()
	simtest.Ingest(t, sim.Config{Seed: 8, Streams: 10, TxPerLedger: 4, Ledgers: 250, Reorgs: true, ReorgEvery: 11, ReorgDepth: 1}, 1, store)
	log := audit.NewMemory(streams.NewAnomalies(store))
	simtest.CatchUp(t, store, log, 500)
	if log.Size() < 600 {
		t.Fatalf("only %d audit entries", log.Size())
	}
	return log, store
}

// The tiles and bundles hold what C2SP says, checked against hashes computed here from the entries (SHA-256 of
// 0x00 and the leaf, RFC 6962): a full level-0 tile, the partial one, bundles, and 404 for what the tree does not
// span.
func TestAuditLogTiles(t *testing.T) {
	log, _ := largerAudit(t)
	h, _ := newAuditHarness(t, log)
	size := log.Size()
	leaves, err := log.Leaves(0, size)
	if err != nil {
		t.Fatal(err)
	}
	leafHash := func(l []byte) []byte { s := sha256.Sum256(append([]byte{0}, l...)); return s[:] }

	status, header, body := tileGet(t, h, "/api/audit/log/tile/0/000")
	if status != 200 || len(body) != 256*32 || header.Get("Cache-Control") != cacheImmutable ||
		header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("tile 0/000: %d %d bytes %v", status, len(body), header)
	}
	for i := range 256 {
		if !bytes.Equal(body[32*i:32*i+32], leafHash(leaves[i])) {
			t.Fatalf("tile 0/000 hash %d is not entry %d's leaf hash", i, i)
		}
	}
	full, partial := size/256, int(size%256)
	last := fmt.Sprintf("/api/audit/log/tile/0/%03d.p/%d", full, partial)
	if status, _, body = tileGet(t, h, last); status != 200 || len(body) != 32*partial ||
		!bytes.Equal(body[:32], leafHash(leaves[full*256])) {
		t.Fatalf("%s: %d, %d bytes", last, status, len(body))
	}
	status, _, body = tileGet(t, h, "/api/audit/log/tile/entries/001")
	if status != 200 {
		t.Fatalf("bundle 001: %d", status)
	}
	for i := 256; i < 512; i++ {
		n := int(binary.BigEndian.Uint16(body))
		if !bytes.Equal(body[2:2+n], leaves[i]) {
			t.Fatalf("bundle 001 entry %d is not leaf %d", i-256, i)
		}
		body = body[2+n:]
	}
	if len(body) != 0 {
		t.Fatalf("bundle 001 has %d bytes more than its 256 entries", len(body))
	}
	for _, path := range []string{
		fmt.Sprintf("/api/audit/log/tile/0/%03d", full),                 // not full yet
		fmt.Sprintf("/api/audit/log/tile/0/%03d.p/%d", full, partial+1), // wider than the tree
		fmt.Sprintf("/api/audit/log/tile/entries/%03d", full+1),         // beyond
		"/api/audit/log/tile/1/000",                                     // needs 65,536 entries
		"/api/audit/log/tile/0/0",                                       // malformed
	} {
		if status, _, _ := tileGet(t, h, path); status != 404 {
			t.Errorf("%s: %d, want 404", path, status)
		}
	}
	req, _ := stdhttp.NewRequest("GET", "/api/audit/log/tile/0/000", nil)
	if resp, _ := h.srv.App().Test(req, -1); resp.StatusCode != 401 {
		t.Fatalf("a tile without a key: %d", resp.StatusCode)
	}
	r := h.auditGet(t, "/api/audit/log/checkpoint")
	if r.status != 200 || !strings.HasPrefix(r.raw, audit.Origin+"\n"+fmt.Sprint(size)+"\n") || r.header.Get("Cache-Control") != cacheCheckpoint {
		t.Fatalf("checkpoint: %d %q", r.status, r.raw)
	}
}

// runFsck serves h on loopback and runs Tessera's fsck over its tile log (see fscktest.Run).
func runFsck(t *testing.T, h *harness, vkey string, size int64) (ok bool, out string) {
	t.Helper()
	return fscktest.Run(t, listen(t, h)+"/api/audit/log/", vkey, audit.Origin, auditKey, size)
}

// Tessera's fsck, a tlog-tiles client we did not write, checks the whole log served from memory: checkpoint
// signature, every tile and every entry bundle. A log serving one changed entry fails it.
func TestFsckChecksTheMemoryLog(t *testing.T) {
	log, _ := largerAudit(t)
	h, vkey := newAuditHarness(t, log)
	ok, out := runFsck(t, h, vkey, log.Size())
	if !ok {
		t.Fatalf("fsck did not pass:\n%s", out)
	}
	t.Logf("fsck of a log of %d entries:\n%s", log.Size(), lastLines(out, 8))
	tampered, vkey := newAuditHarness(t, tamperedLog{log, 300})
	if ok, out = runFsck(t, tampered, vkey, log.Size()); ok {
		t.Fatalf("fsck passed a log with a changed entry:\n%s", out)
	}
	t.Logf("fsck of the log with entry 300 changed:\n%s", lastLines(out, 4))
}

// lastLines is the end of a log.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// tamperedLog serves entry seq changed (one byte), as a log changed behind its tree's back would.
type tamperedLog struct {
	*audit.Memory
	seq int64
}

func (l tamperedLog) Snapshot(ctx context.Context, treeSize int64, fn func(audit.View) error) error {
	return l.Memory.Snapshot(ctx, treeSize, func(v audit.View) error { return fn(tamperedView{v, l.seq}) })
}

type tamperedView struct {
	audit.View
	seq int64
}

func (v tamperedView) Leaves(ctx context.Context, from, to int64) ([][]byte, error) {
	leaves, err := v.View.Leaves(ctx, from, to)
	if err == nil && v.seq >= from && v.seq < to {
		l := append([]byte(nil), leaves[v.seq-from]...)
		l[len(l)/2] ^= 1
		leaves[v.seq-from] = l
	}
	return leaves, err
}

// The same on PostgreSQL: fsck passes the log as stored, and fails it once an entry is changed in the database
// behind the log's back.
func TestFsckChecksThePostgresLog(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	_, store := largerAudit(t)
	pool := pgtest.Pool(t, url)
	schema := pgtest.Schema(t, url)
	log, err := audit.OpenPostgres(ctx, pool, schema, 1, streams.AuditFoldsOn(store))
	if err != nil {
		t.Fatal(err)
	}
	simtest.CatchUp(t, store, log, 500)
	head, err := log.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h, vkey := newAuditHarness(t, log)
	if ok, out := runFsck(t, h, vkey, head.Size); !ok {
		t.Fatalf("fsck did not pass:\n%s", out)
	}
	table := pgx.Identifier{schema, "audit_entries_g1"}.Sanitize()
	if _, err := pool.Exec(ctx, `UPDATE `+table+` SET leaf = replace(leaf::text, '"seq":300', '"seq":300 ')::json WHERE seq = 300`); err != nil {
		t.Fatal(err)
	}
	h2, vkey := newAuditHarness(t, log)
	if ok, out := runFsck(t, h2, vkey, head.Size); ok {
		t.Fatalf("fsck passed a log whose entry 300 was changed in the database:\n%s", out)
	}
}

// GET /api/audit/proof/{seq}?format=tlog-proof is a C2SP tlog-proof that checks offline against the entry and the
// pinned key, and against nothing else.
func TestAuditProofAsTLogProof(t *testing.T) {
	log := simulatedAudit(t)
	h, vkey := newAuditHarness(t, log)
	seq := log.Size() / 2
	status, header, body := tileGet(t, h, fmt.Sprintf("/api/audit/proof/%d?format=tlog-proof", seq))
	if status != 200 || !strings.HasPrefix(header.Get("Content-Type"), "text/plain") ||
		!strings.HasPrefix(string(body), "c2sp.org/tlog-proof@v1\nindex "+fmt.Sprint(seq)+"\n") {
		t.Fatalf("%d %v %q", status, header, body)
	}
	leaves, err := log.Leaves(seq, seq+1)
	if err != nil {
		t.Fatal(err)
	}
	got, cp, err := audit.VerifyTLogProof(body, leaves[0], vkey)
	if err != nil || got != seq || cp.Size != log.Size() {
		t.Fatalf("verify: %d %+v %v", got, cp, err)
	}
	other, _ := log.Leaves(seq+1, seq+2)
	if _, _, err := audit.VerifyTLogProof(body, other[0], vkey); err == nil {
		t.Fatal("the proof verified another entry")
	}
	_, otherKey := newAuditHarness(t, log)
	if _, _, err := audit.VerifyTLogProof(body, leaves[0], otherKey); err == nil {
		t.Fatal("the proof verified under another log's key")
	}
	if r := h.auditGet(t, "/api/audit/proof/1?format=xml"); r.status != 400 {
		t.Fatalf("format=xml: %d", r.status)
	}
}

// cosign appends a witness's cosignature (Ed25519 cosignature/v1) to a signed checkpoint, as a witness's
// add-checkpoint answer is appended; it returns the witness's verifier key.
func cosign(t *testing.T, signed []byte, name string) ([]byte, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(nil, name)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	text, _, _ := strings.Cut(string(signed), "\n\n")
	cosigned, err := note.Sign(&note.Note{Text: text + "\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	_, sig, _ := strings.Cut(string(cosigned), "\n\n")
	return append(append([]byte(nil), signed...), sig...), vkey
}

// With witnesses, the tile log publishes the checkpoint they cosigned, cosignatures included, and a checkpoint
// asked for at that size (an export's manifest, a proof) carries them too; other sizes are signed by the log alone.
func TestWitnessedCheckpointIsPublished(t *testing.T) {
	log := simulatedAudit(t)
	signer, vkey, err := audit.LoadOrCreateKey(filepath.Join(t.TempDir(), audit.KeyFile), "streamledger-test")
	if err != nil {
		t.Fatal(err)
	}
	head, err := log.Head()
	if err != nil {
		t.Fatal(err)
	}
	witnessedAt := audit.Checkpoint{Origin: audit.Origin, Size: head.Size - 5}
	if err := log.Snapshot(context.Background(), witnessedAt.Size, func(v audit.View) error {
		witnessedAt.Root, err = tlog.TreeHash(v.Size(), v.Hashes())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	signed, _ := witnessedAt.Sign(signer)
	cosigned, witnessKey := cosign(t, signed, "witness1.example")
	h := newHarness(t, func(c *testConfig) {
		c.Audit = AuditConfig{Log: log, Signer: signer, VerifierKey: vkey,
			Witnessed: func(context.Context) ([]byte, error) { return cosigned, nil }}
		c.APIKeys = append(c.APIKeys, APIKey{Key: auditKey, ClientID: "auditor", Scopes: []string{ScopeAuditRead}})
	})
	r := h.auditGet(t, "/api/audit/log/checkpoint")
	if r.status != 200 || r.raw != string(cosigned) {
		t.Fatalf("the published checkpoint: %d %q", r.status, r.raw)
	}
	if err := audit.RequireCosignatures([]byte(r.raw), vkey, []string{witnessKey}); err != nil {
		t.Fatal(err)
	}
	m := h.auditGet(t, fmt.Sprintf("/api/audit/export/manifest?treeSize=%d", witnessedAt.Size))
	cp := m.body["data"].(map[string]any)["checkpoint"].(string)
	if err := audit.RequireCosignatures([]byte(cp), vkey, []string{witnessKey}); err != nil {
		t.Fatalf("the manifest at the witnessed size: %v\n%s", err, cp)
	}
	now := h.auditGet(t, "/api/audit/checkpoint")
	if err := audit.RequireCosignatures([]byte(now.body["data"].(map[string]any)["checkpoint"].(string)), vkey,
		[]string{witnessKey}); !errors.Is(err, audit.ErrNotWitnessed) {
		t.Fatalf("the current checkpoint claims the witness: %v", err)
	}
}

// An export with proofs=true carries each row's tlog-proof, in the export's tree: each checks offline against its
// row and the key, the manifest verifies the whole file, and a row whose proof was swapped for another's fails.
func TestExportRowsCarryTLogProofs(t *testing.T) {
	log := simulatedAudit(t)
	h, vkey := newAuditHarness(t, log)
	r := h.auditGet(t, "/api/audit/export?format=jsonl&proofs=true&from=10")
	if r.status != 200 {
		t.Fatalf("export: %d %s", r.status, r.raw)
	}
	size := r.header.Get("X-Audit-Tree-Size")
	lines := strings.Split(strings.TrimSuffix(r.raw, "\n"), "\n")
	if len(lines) < 20 {
		t.Fatalf("%d rows", len(lines))
	}
	for _, l := range lines {
		var row struct {
			Seq       int64  `json:"seq"`
			TLogProof string `json:"tlogProof"`
		}
		if err := json.Unmarshal([]byte(l), &row); err != nil || row.TLogProof == "" {
			t.Fatalf("row %q: %v", l, err)
		}
		leaves, _ := log.Leaves(row.Seq, row.Seq+1)
		if seq, cp, err := audit.VerifyTLogProof([]byte(row.TLogProof), leaves[0], vkey); err != nil || seq != row.Seq ||
			fmt.Sprint(cp.Size) != size {
			t.Fatalf("row %d: %d %+v %v", row.Seq, seq, cp, err)
		}
	}
	mr := h.auditGet(t, "/api/audit/export/manifest?format=jsonl&proofs=true&from=10&treeSize="+size)
	var env struct {
		Data audit.Manifest `json:"data"`
	}
	if err := json.Unmarshal([]byte(mr.raw), &env); err != nil || !env.Data.Query.Proofs {
		t.Fatalf("manifest: %v %s", err, mr.raw)
	}
	if v, err := audit.Verify(strings.NewReader(r.raw), env.Data, vkey); err != nil || !v.OK {
		t.Fatalf("verify: %+v %v", v, err)
	}
	// Row 1 with row 2's proof: each proof is genuine, but not for that row.
	var a, b map[string]any
	json.Unmarshal([]byte(lines[1]), &a)
	json.Unmarshal([]byte(lines[2]), &b)
	a["tlogProof"] = b["tlogProof"]
	swapped, _ := json.Marshal(a)
	tampered := strings.Join(append(append(append([]string{}, lines[:1]...), string(swapped)), lines[2:]...), "\n") + "\n"
	if v, err := audit.Verify(strings.NewReader(tampered), env.Data, vkey); err != nil || v.OK || !strings.Contains(v.Problem, "tlog-proof") {
		t.Fatalf("a swapped proof: %+v %v", v, err)
	}
	if r := h.auditGet(t, "/api/audit/export?proofs=true"); r.status != 400 {
		t.Fatalf("proofs with CSV: %d", r.status)
	}
}
