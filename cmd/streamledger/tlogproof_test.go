package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections/audit"
)

// An auditor holding one exported row and its tlog-proof checks it offline with the pinned key: the genuine row
// passes, a row with a changed amount or another entry's proof fails, and a proof without a pinned key is refused.
func TestAuditVerifyTLogProof(t *testing.T) {
	store := memory.New()
	simtest.Ingest(t, sim.Config{Seed: 4, Streams: 5, TxPerLedger: 3, Ledgers: 40}, 1, store)
	log := audit.NewMemory(store)
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
