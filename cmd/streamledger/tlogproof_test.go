package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections/audit"
	"github.com/streamledger/streamledger/projections/streams"
)

// An auditor holding one exported row and its tlog-proof checks it offline with the pinned key: the genuine row
// passes, a row with a changed amount or another entry's proof fails, and a proof without a pinned key is refused.
func TestAuditVerifyTLogProof(t *testing.T) {
	store := memory.New()
	simtest.Ingest(t, sim.Config{Seed: 4, Streams: 5, TxPerLedger: 3, Ledgers: 40}, 1, store)
	log := audit.NewMemory(streams.NewAnomalies(store))
	simtest.CatchUp(t, store, log, 100)
	skey, vkey, err := note.GenerateKey(nil, "streamledger")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	head, err := log.Head()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := head.Sign(signer)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	proofOf := func(seq int64) string {
		inclusion, err := log.InclusionProof(context.Background(), seq, head.Size)
		if err != nil {
			t.Fatal(err)
		}
		return write(fmt.Sprintf("entry-%d.tlog-proof", seq), audit.TLogProof(seq, inclusion, signed))
	}
	// A row with an amount (a stream's creation) so that changing it means something.
	entries, err := log.Entries(0, head.Size)
	if err != nil {
		t.Fatal(err)
	}
	var row audit.Row
	for _, e := range entries {
		if e.Action == audit.ActionApplied && len(e.Amounts) > 0 {
			leaf, _ := e.Leaf()
			if row, err = audit.RowOf(&e, leaf); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if row.Deposit == "" {
		t.Fatal("no entry with a deposit")
	}
	raw, _ := json.Marshal(row)
	rowFile := write("row.json", raw)
	proof := proofOf(row.Seq)
	code, stdout, stderr := runCLI([]string{"audit", "verify", "--tlog-proof", proof, "--key", vkey, rowFile}, nil)
	if code != exitOK || !strings.HasPrefix(stdout, "OK: ") {
		t.Fatalf("verify: exit %d: %s %s", code, stdout, stderr)
	}
	changed := row
	changed.Deposit = strings.Replace(changed.Deposit, ".", "1.", 1)
	raw, _ = json.Marshal(changed)
	expectFailure(t, []string{"audit", "verify", "--tlog-proof", proof, "--key", vkey, write("changed.json", raw)}, "not in the tree")
	expectFailure(t, []string{"audit", "verify", "--tlog-proof", proofOf(row.Seq + 1), "--key", vkey, rowFile}, "bad tlog-proof")
	if code, _, stderr := runCLI([]string{"audit", "verify", "--tlog-proof", proof, rowFile}, nil); code != exitUsage ||
		!strings.Contains(stderr, "--key is required") {
		t.Fatalf("without a key: exit %d: %s", code, stderr)
	}
}

// audit verify --witness requires the export's checkpoint to carry that witness's cosignature: the witnessed
// manifest passes with the witness's key, fails with another witness's, and --witness without --key is refused.
func TestAuditVerifyRequiresWitnesses(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	simtest.Ingest(t, sim.Config{Seed: 6, Streams: 4, TxPerLedger: 3, Ledgers: 30}, 1, store)
	log := audit.NewMemory(streams.NewAnomalies(store))
	simtest.CatchUp(t, store, log, 100)
	skey, vkey, _ := note.GenerateKey(nil, "streamledger")
	signer, _ := note.NewSigner(skey)
	q, err := audit.ParseQuery(audit.QueryParams{Format: "jsonl"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "audit.jsonl")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	var m audit.Manifest
	if err := log.Snapshot(ctx, 0, func(v audit.View) error {
		res, err := audit.Write(ctx, v, q, f)
		if err != nil {
			return err
		}
		m, err = audit.NewManifest(v, q, res, signer, vkey)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	wskey, wvkey, _ := note.GenerateKey(nil, "witness1.example")
	wsigner, err := fnote.NewSignerForCosignatureV1(wskey)
	if err != nil {
		t.Fatal(err)
	}
	text, _, _ := strings.Cut(m.Checkpoint, "\n\n")
	cosigned, err := note.Sign(&note.Note{Text: text + "\n"}, wsigner)
	if err != nil {
		t.Fatal(err)
	}
	_, sig, _ := strings.Cut(string(cosigned), "\n\n")
	m.Checkpoint += sig
	raw, _ := json.Marshal(m)
	manifest := filepath.Join(dir, "audit.jsonl.manifest.json")
	if err := os.WriteFile(manifest, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runCLI([]string{"audit", "verify", "--key", vkey, "--witness", wvkey, out}, nil); code != exitOK {
		t.Fatalf("witnessed: exit %d: %s %s", code, stdout, stderr)
	}
	_, other, _ := note.GenerateKey(nil, "witness2.example")
	expectFailure(t, []string{"audit", "verify", "--key", vkey, "--witness", wvkey, "--witness", other, out}, "not cosigned by the required witnesses")
	if code, _, stderr := runCLI([]string{"audit", "verify", "--witness", wvkey, out}, nil); code != exitUsage || !strings.Contains(stderr, "--witness needs --key") {
		t.Fatalf("--witness without --key: exit %d: %s", code, stderr)
	}
}
