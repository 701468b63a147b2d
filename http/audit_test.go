package http

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	stdhttp "net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections/audit"
	"github.com/streamledger/streamledger/projections/streams"
)

const auditKey = "auditor-key"

func newAuditHarness(t *testing.T, log AuditLog) (*harness, string) {
	t.Helper()
	signer, vkey, err := audit.LoadOrCreateKey(filepath.Join(t.TempDir(), audit.KeyFile), "streamledger-test")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *testConfig) {
		c.Audit = AuditConfig{Log: log, Signer: signer, VerifierKey: vkey}
		c.APIKeys = append(c.APIKeys, APIKey{Key: auditKey, ClientID: "auditor", Scopes: []string{ScopeAuditRead}})
	})
	return h, vkey
}

// simulatedAudit is the audit log of a short simulated network with reorgs.
func simulatedAudit(t *testing.T) *audit.Memory {
	t.Helper()
	store := memory.New()
	simtest.Ingest(t, sim.Config{Seed: 5, Streams: 5, TxPerLedger: 3, Ledgers: 60, Reorgs: true, ReorgEvery: 9, ReorgDepth: 1}, 1, store)
	log := audit.NewMemory(streams.NewAnomalies(store))
	simtest.CatchUp(t, store, log, 100)
	return log
}

func (h *harness) auditGet(t *testing.T, path string) response {
	t.Helper()
	return h.do(t, "GET", path, nil, "Authorization", "Bearer "+auditKey)
}

// manifestFor reads the manifest of an export response: the same query, cut at the tree size it reported.
func (h *harness) manifestFor(t *testing.T, query string, r response) audit.Manifest {
	t.Helper()
	mr := h.auditGet(t, "/api/audit/export/manifest?"+query+"&treeSize="+r.header.Get("X-Audit-Tree-Size"))
	if mr.status != 200 {
		t.Fatalf("manifest: %d %s", mr.status, mr.raw)
	}
	var env struct {
		Data audit.Manifest `json:"data"`
	}
	if err := json.Unmarshal([]byte(mr.raw), &env); err != nil {
		t.Fatal(err)
	}
	return env.Data
}

func TestAuditExportAndManifestVerify(t *testing.T) {
	log := simulatedAudit(t)
	h, vkey := newAuditHarness(t, log)
	if r := h.do(t, "GET", "/api/audit/export", nil); r.status != 401 {
		t.Fatalf("without a key: %d", r.status)
	}
	if r := h.do(t, "GET", "/api/audit/export", nil, "X-API-Key", "reader-key"); r.status != 403 || errorOf(t, r) != apikit.CodeForbidden {
		t.Fatalf("with a stream reader's key: %d %s", r.status, r.raw)
	}
	entries, err := log.Entries(0, log.Size())
	if err != nil {
		t.Fatal(err)
	}
	var stream audit.Entry
	for _, e := range entries {
		if e.StreamID != nil {
			stream = e
			break
		}
	}
	mid := len(entries) / 2
	for entries[mid].LedgerClosedAt == nil { // a reversal or an operator entry has no close time
		mid++
	}
	for _, query := range []string{
		"format=csv",
		"format=jsonl&from=10&to=40",
		fmt.Sprintf("streamId=%s:%d", stream.ContractID, *stream.StreamID),
		"action=reverted&format=jsonl",
		"from=" + entries[mid].LedgerClosedAt.Format(time.RFC3339),
	} {
		r := h.auditGet(t, "/api/audit/export?"+query)
		if r.status != 200 || r.header.Get("X-Audit-Tree-Size") != fmt.Sprint(log.Size()) {
			t.Fatalf("%s: %d %v %s", query, r.status, r.header, r.raw)
		}
		if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="streamledger-audit-`) {
			t.Fatalf("%s: Content-Disposition %q", query, cd)
		}
		m := h.manifestFor(t, query, r)
		if m.RowCount == 0 {
			t.Fatalf("%s: an empty export", query)
		}
		v, err := audit.Verify(strings.NewReader(r.raw), m, vkey)
		if err != nil || !v.OK || v.Rows != m.RowCount {
			t.Fatalf("%s: %+v %v", query, v, err)
		}
	}
	// The export is cut at the tree size asked for, however the log grows.
	r := h.auditGet(t, "/api/audit/export?treeSize=7")
	if lines := strings.Count(r.raw, "\r\n"); r.status != 200 || lines != 8 || r.header.Get("X-Audit-Tree-Size") != "7" {
		t.Fatalf("treeSize=7: %d, %d lines", r.status, lines)
	}
}

func TestAuditExportRefusesBadFilters(t *testing.T) {
	h, _ := newAuditHarness(t, simulatedAudit(t))
	for query, field := range map[string]string{
		"format=xml":               "format",
		"from=yesterday":           "from",
		"from=0":                   "from",
		"from=20&to=10":            "to",
		"contractId=CNOTACONTRACT": "contractId",
		"streamId=abc":             "streamId",
		"action=deleted":           "action",
		"treeSize=0":               "treeSize",
		"treeSize=99999999":        "treeSize",
		"limit=10":                 "limit",
		"to=2026-13-01T00:00:00Z":  "to",
		"streamId=CNOT:1":          "streamId",
		"treeSize=-1&format=jsonl": "treeSize",
		"from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z": "to",
	} {
		for _, path := range []string{"/api/audit/export?", "/api/audit/export/manifest?"} {
			r := h.auditGet(t, path+query)
			if r.status != 400 || errorOf(t, r) != apikit.CodeValidation || r.body["error"].(map[string]any)["details"].(map[string]any)["field"] != field {
				t.Errorf("%s%s: %d %s, want a 400 naming %s", path, query, r.status, r.raw, field)
			}
		}
	}
}

func TestAuditCheckpointAndProofs(t *testing.T) {
	log := simulatedAudit(t)
	h, vkey := newAuditHarness(t, log)
	r := h.auditGet(t, "/api/audit/checkpoint")
	cp := data(t, r)
	head, err := audit.OpenCheckpoint([]byte(cp["checkpoint"].(string)), vkey)
	if r.status != 200 || err != nil || head.Size != log.Size() || cp["verifierKey"] != vkey || cp["rootHash"] != head.Root.String() {
		t.Fatalf("checkpoint: %d %s %v", r.status, r.raw, err)
	}
	entries, err := log.Entries(0, log.Size())
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []int64{0, 5, log.Size() - 1} {
		r := h.auditGet(t, fmt.Sprintf("/api/audit/proof/%d?treeSize=%d", seq, log.Size()))
		d := data(t, r)
		var proof tlog.RecordProof
		for _, s := range d["proof"].([]any) {
			hash, err := tlog.ParseHash(s.(string))
			if err != nil {
				t.Fatal(err)
			}
			proof = append(proof, hash)
		}
		signed, err := audit.OpenCheckpoint([]byte(d["checkpoint"].(map[string]any)["checkpoint"].(string)), vkey)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := entries[seq].LeafHash()
		if err := audit.VerifyInclusion(signed, seq, leaf, proof); err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
	}
	r = h.auditGet(t, "/api/audit/consistency?from=3")
	d := data(t, r)
	var proof tlog.TreeProof
	for _, s := range d["proof"].([]any) {
		hash, _ := tlog.ParseHash(s.(string))
		proof = append(proof, hash)
	}
	older, err1 := audit.OpenCheckpoint([]byte(d["from"].(map[string]any)["checkpoint"].(string)), vkey)
	newer, err2 := audit.OpenCheckpoint([]byte(d["to"].(map[string]any)["checkpoint"].(string)), vkey)
	if err1 != nil || err2 != nil || older.Size != 3 || newer.Size != log.Size() {
		t.Fatalf("consistency checkpoints: %v %v %s", err1, err2, r.raw)
	}
	if err := audit.VerifyConsistency(older, newer, proof); err != nil {
		t.Fatal(err)
	}
	for path, field := range map[string]string{
		"/api/audit/proof/x":                                             "seq",
		fmt.Sprintf("/api/audit/proof/%d", log.Size()):                   "seq",
		"/api/audit/proof/1?treeSize=0":                                  "treeSize",
		"/api/audit/consistency":                                         "from",
		fmt.Sprintf("/api/audit/consistency?from=%d&to=3", log.Size()):   "from",
		fmt.Sprintf("/api/audit/consistency?from=1&to=%d", log.Size()+1): "to",
	} {
		r := h.auditGet(t, path)
		if r.status != 400 || r.body["error"].(map[string]any)["details"].(map[string]any)["field"] != field {
			t.Errorf("%s: %d %s, want a 400 naming %s", path, r.status, r.raw, field)
		}
	}
}

// endlessLog is an audit log too large to export: its scan tells when it stopped.
type endlessLog struct {
	stopped chan error
}

func (l endlessLog) Snapshot(_ context.Context, treeSize int64, fn func(audit.View) error) error {
	if treeSize == 0 {
		treeSize = 1 << 40
	}
	return fn(endlessView{l: l, size: treeSize})
}

func (endlessLog) InclusionProof(context.Context, int64, int64) (tlog.RecordProof, error) {
	return nil, nil
}
func (endlessLog) ConsistencyProof(context.Context, int64, int64) (tlog.TreeProof, error) {
	return nil, nil
}

type endlessView struct {
	l    endlessLog
	size int64
}

func (v endlessView) Size() int64             { return v.size }
func (v endlessView) Hashes() tlog.HashReader { return nil }
func (v endlessView) Leaves(context.Context, int64, int64) ([][]byte, error) {
	return nil, errors.New("the endless log has no leaves")
}

func (v endlessView) Scan(ctx context.Context, _ audit.Filter, fn func(*audit.Row) error) (err error) {
	defer func() { v.l.stopped <- err }()
	for seq := int64(0); seq < v.size; seq++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := audit.Entry{V: audit.LeafVersion, Seq: seq, Action: audit.ActionOperator, Summary: "padding the export",
			RecordedAt: time.Unix(seq, 0).UTC()}
		leaf, _ := e.Leaf()
		r, _ := audit.RowOf(&e, leaf)
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

// A client that disconnects mid-export stops the export's scan (and so its database query).
func TestAuditExportStopsWhenTheClientLeaves(t *testing.T) {
	log := endlessLog{stopped: make(chan error, 1)}
	h, _ := newAuditHarness(t, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h.srv.App().Listener(ln)
	defer h.srv.Shutdown(time.Second)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /api/audit/export HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", auditKey)
	resp, err := stdhttp.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	if _, err := io.CopyN(io.Discard, resp.Body, 1<<20); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	select {
	case err := <-log.stopped:
		if err == nil {
			t.Fatal("the scan finished instead of stopping")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the export kept running after the client left")
	}
}
