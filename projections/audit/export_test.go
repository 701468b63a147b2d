package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections/streams"
)

func testKey(t testing.TB) (note.Signer, string) {
	t.Helper()
	signer, vkey, err := LoadOrCreateKey(filepath.Join(t.TempDir(), KeyFile), "streamledger-test")
	if err != nil {
		t.Fatal(err)
	}
	return signer, vkey
}

// export writes the export of q from src and its manifest.
func export(t *testing.T, src interface {
	Snapshot(context.Context, int64, func(View) error) error
}, q Query, signer note.Signer, vkey string) ([]byte, Manifest) {
	t.Helper()
	var buf bytes.Buffer
	var m Manifest
	err := src.Snapshot(context.Background(), 0, func(v View) error {
		res, err := Write(context.Background(), v, q, &buf)
		if err != nil {
			return err
		}
		m, err = NewManifest(v, q, res, signer, vkey)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), m
}

func verify(t *testing.T, file []byte, m Manifest, vkey string) Verdict {
	t.Helper()
	v, err := Verify(bytes.NewReader(file), m, vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNeutralizeRoundTrips(t *testing.T) {
	cases := map[string]bool{ // cell → must be neutralised
		"=HYPERLINK(\"http://evil\",\"x\")": true, "+1": true, "-1+1": true, "@SUM(A1:A2)": true, "\t=cmd": true, " =x": true,
		"\r=x": true, "\x00=x": true, "'quoted": true, "  'x": true,
		"plain": false, "": false, "   ": false, "a=b": false, "1000.0000000": false, "\"embedded \"\" quotes\"": false,
		"commas, here": false, "new\nline": false, "stream.withdrawn on stream C…:1": false,
	}
	for cell, dangerous := range cases {
		got := Neutralize(cell)
		if dangerous != strings.HasPrefix(got, "'") {
			t.Errorf("%q neutralised to %q", cell, got)
		}
		if Unneutralize(got) != cell {
			t.Errorf("%q does not round-trip: %q → %q", cell, got, Unneutralize(got))
		}
	}
}

// Every injection vector, in a real export: the CSV cell a spreadsheet sees is inert, and the verifier reads the
// original value back (the leaf hash would not match otherwise).
func TestCSVInjectionVectorsInAnExport(t *testing.T) {
	vectors := []string{"=HYPERLINK(\"http://evil.example\",\"click\")", "+1", "-1+1", "@SUM(A1:A9)", "\t=cmd|' /C calc'!A0",
		" =x", "say \"hi\", then\r\nleave", "'already quoted"}
	log := NewMemory(nil)
	var es []Entry
	for i, v := range vectors {
		es = append(es, Entry{V: LeafVersion, Seq: int64(i), Position: 1, EventID: domain.DerivedEventUUID("t", v), Stream: v, Type: v,
			Action: ActionOperator, Summary: v, RecordedAt: time.Unix(1_767_225_600, 0).UTC()})
	}
	leaves, err := leavesOf(es)
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := appendHashes(log.hashReader(), 0, leaves)
	if err != nil {
		t.Fatal(err)
	}
	if err := log.store(leaves, hashes); err != nil {
		t.Fatal(err)
	}
	signer, vkey := testKey(t)
	file, m := export(t, log, Query{Format: FormatCSV}, signer, vkey)
	if !bytes.Contains(file, []byte("\r\n")) || !bytes.HasPrefix(file, []byte(strings.Join(Columns(), ",")+"\r\n")) {
		t.Fatalf("not RFC 4180 with CRLF and a header: %q", file[:80])
	}
	var recs [][]string
	dec := &csvDecoder{r: bufio.NewReader(bytes.NewReader(file))}
	for {
		rec, err := dec.read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	for i, v := range vectors {
		summary := recs[i+1][13]
		first := strings.TrimLeft(summary, " ")
		if strings.ContainsAny(first[:1], "=+-@\t\r\x00") {
			t.Errorf("vector %q is live in the CSV: %q", v, summary)
		}
		if Unneutralize(summary) != v {
			t.Errorf("vector %q came back as %q", v, Unneutralize(summary))
		}
	}
	if v := verify(t, file, m, vkey); !v.OK {
		t.Fatalf("the export of injection vectors does not verify: %s", v.Problem)
	}
}

// filterCases are filters over the simulated log of filled.
func filterCases(t testing.TB, log *Memory) map[string]Filter {
	all := entriesOf(t, log, 0, log.Size())
	var withStream Entry
	for _, e := range all {
		if e.StreamID != nil && e.Action == ActionApplied {
			withStream = e
			break
		}
	}
	i := len(all) / 2
	for all[i].LedgerClosedAt == nil { // a reversal or an operator entry has no close time
		i++
	}
	mid := *all[i].LedgerClosedAt
	return map[string]Filter{
		"all":              {},
		"ledgers 20–40":    {FromLedger: 20, ToLedger: 40},
		"from ledger 60":   {FromLedger: 60},
		"until the middle": {To: mid},
		"one stream":       {ContractID: withStream.ContractID, StreamID: withStream.StreamID},
		"reversals":        {Action: ActionReverted},
		"one stream's applied events, by time": {ContractID: withStream.ContractID, StreamID: withStream.StreamID,
			Action: ActionApplied, From: time.Unix(0, 0)},
	}
}

// An export of a filter holds exactly the log's entries that the filter selects, in order; the memory and the
// PostgreSQL logs export the same bytes; every export verifies.
func TestExportEqualsTheLogAndVerifies(t *testing.T) {
	store, log := filled(t)
	ctx := context.Background()
	url := pgtest.URL(t)
	pg, err := OpenPostgres(ctx, pgtest.Pool(t, url), pgtest.Schema(t, url), 1, streams.AuditFoldsOn(store))
	if err != nil {
		t.Fatal(err)
	}
	simtest.CatchUp(t, store, pg, 50)
	signer, vkey := testKey(t)
	all := entriesOf(t, log, 0, log.Size())
	for name, f := range filterCases(t, log) {
		for _, format := range []string{FormatCSV, FormatJSONL} {
			q := Query{Format: format, Filter: f}
			file, m := export(t, log, q, signer, vkey)
			var want []int64
			for _, e := range all {
				if selects(f, e) {
					want = append(want, e.Seq)
				}
			}
			if name != "all" && (len(want) == 0 || len(want) == len(all)) {
				t.Fatalf("%s selects %d of %d entries: not a useful case", name, len(want), len(all))
			}
			rows, err := readRows(bytes.NewReader(file), format)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for {
				r, err := rows()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				e, err := r.Entry()
				if err != nil {
					t.Fatal(err)
				}
				if !entriesEqual(e, all[r.Seq]) {
					t.Fatalf("%s %s: row %d is not the log's entry:\n%+v\n%+v", name, format, r.Seq, e, all[r.Seq])
				}
				got = append(got, r.Seq)
			}
			if !slices.Equal(got, want) || m.RowCount != int64(len(want)) {
				t.Fatalf("%s %s: rows %v, want %v", name, format, got, want)
			}
			if v := verify(t, file, m, vkey); !v.OK || v.Rows != int64(len(want)) {
				t.Fatalf("%s %s: %+v", name, format, v)
			}
			pgFile, pgManifest := export(t, pg, q, signer, vkey)
			if !bytes.Equal(pgFile, file) || pgManifest.SHA256 != m.SHA256 || pgManifest.RootHash != m.RootHash ||
				len(pgManifest.Proof) != len(m.Proof) {
				t.Fatalf("%s %s: PostgreSQL exported other bytes or another proof", name, format)
			}
		}
	}
}

func entriesEqual(a, b Entry) bool {
	la, err1 := a.Leaf()
	lb, err2 := b.Leaf()
	return err1 == nil && err2 == nil && bytes.Equal(la, lb)
}

// Tampering with an export is caught, and the verdict names the row.
func TestVerifyCatchesTampering(t *testing.T) {
	_, log := filled(t)
	signer, vkey := testKey(t)
	stream := filterCases(t, log)["one stream"]
	for _, q := range []Query{{Format: FormatCSV}, {Format: FormatCSV, Filter: stream}, {Format: FormatJSONL, Filter: stream}} {
		file, m := export(t, log, q, signer, vkey)
		if v := verify(t, file, m, vkey); !v.OK {
			t.Fatalf("untouched %+v: %s", q.Filter, v.Problem)
		}
		lines := strings.SplitAfter(string(file), "\n")
		header := 0
		if q.Format == FormatCSV {
			header = 1
		}
		changed := slices.Clone(lines)
		for i := header; i < len(lines); i++ {
			if bumped, ok := bumpAmount(t, q.Format, lines[i]); ok {
				changed[i] = bumped
				break
			}
		}
		deleted := slices.Delete(slices.Clone(lines), header+1, header+2)
		swapped := slices.Clone(lines)
		swapped[header+1], swapped[header+2] = swapped[header+2], swapped[header+1]

		otherKey, _, _ := note.GenerateKey(nil, "streamledger-test")
		otherSigner, _ := note.NewSigner(otherKey)
		forged, err := Manifest{}, error(nil)
		err = log.Snapshot(context.Background(), 0, func(v View) error {
			res, err := Write(context.Background(), v, q, &bytes.Buffer{})
			if err != nil {
				return err
			}
			forged, err = NewManifest(v, q, res, otherSigner, vkey)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		tamperedRoot := m
		other := "A"
		if m.RootHash[0] == 'A' {
			other = "B"
		}
		tamperedRoot.Checkpoint = strings.Replace(m.Checkpoint, m.RootHash, other+m.RootHash[1:], 1)
		if tamperedRoot.Checkpoint == m.Checkpoint {
			t.Fatal("the checkpoint does not hold the root hash")
		}

		cases := []struct {
			name, file string
			m          Manifest
			want       string
		}{
			{"changed amount", strings.Join(changed, ""), m, "altered"},
			{"deleted row", strings.Join(deleted, ""), m, "missing"},
			{"swapped pair", strings.Join(swapped, ""), m, "out of order"},
			{"checkpoint signed by another key", string(file), forged, "not signed by the log's key"},
			{"checkpoint edited", string(file), tamperedRoot, "not signed by the log's key"},
		}
		for _, c := range cases {
			v := verify(t, []byte(c.file), c.m, vkey)
			if v.OK || !strings.Contains(v.Problem, c.want) {
				t.Errorf("%s %+v: %+v, want a verdict that says %q", c.name, q.Filter, v, c.want)
			}
		}
	}
}

// bumpAmount adds a stroop to the deposit or amount of a row that has one, as someone editing the file would.
func bumpAmount(t *testing.T, format, line string) (string, bool) {
	t.Helper()
	var r Row
	if format == FormatJSONL {
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
	} else {
		rec, err := (&csvDecoder{r: bufio.NewReader(strings.NewReader(line))}).read()
		if err != nil {
			t.Fatal(err)
		}
		if r, err = rowFromCells(rec); err != nil {
			t.Fatal(err)
		}
	}
	field := &r.Amount
	if *field == "" {
		field = &r.Deposit
	}
	if *field == "" {
		return "", false
	}
	a, err := parseSignedDecimal(*field)
	if err != nil {
		t.Fatal(err)
	}
	a, _ = a.Add(domain.NewAmount(1))
	*field = a.Decimal(AmountDecimals)
	var out bytes.Buffer
	rw, _ := newRowWriter(format, &out)
	if err := rw.write(&r); err != nil {
		t.Fatal(err)
	}
	if err := rw.flush(); err != nil {
		t.Fatal(err)
	}
	if format == FormatCSV {
		_, row, _ := strings.Cut(out.String(), "\r\n") // drop the header
		return row, true
	}
	return out.String(), true
}

// Every amount an entry can carry has an export column, and comes back from it exactly.
func TestEveryAmountHasAColumn(t *testing.T) {
	a := domain.NewAmount(12_345_678_901)
	events := []domain.Event{
		&fluxora.StreamCreated{DepositAmount: a, RatePerSecond: a}, &fluxora.StreamCloned{DepositAmount: a, RatePerSecond: a},
		&fluxora.StreamWithdrawn{Amount: a}, &fluxora.StreamToppedUp{TopUpAmount: a, NewDepositAmount: a},
		&fluxora.StreamRateUpdated{NewRatePerSecond: a}, &fluxora.StreamRateDecreased{NewRatePerSecond: a, RefundAmount: a},
		&fluxora.StreamEndShortened{RefundAmount: a}, &fluxora.StreamKeeperCancelled{KeeperFee: a, RecipientAmount: a, SenderRefund: a},
	}
	for _, ev := range events {
		e := Entry{V: LeafVersion, Amounts: amounts(ev), RecordedAt: time.Unix(1, 0).UTC()}
		if len(e.Amounts) == 0 {
			t.Fatalf("%T has no amounts", ev)
		}
		leaf, _ := e.Leaf()
		r, err := RowOf(&e, leaf)
		if err != nil {
			t.Fatalf("%T: %v", ev, err)
		}
		back, err := r.Entry()
		if err != nil || !entriesEqual(back, e) {
			t.Fatalf("%T: amounts did not come back: %+v %v", ev, back.Amounts, err)
		}
	}
}

// selects is the filter's meaning, written on entries independently of the export's row matching.
func selects(f Filter, e Entry) bool {
	if (f.FromLedger != 0 || f.ToLedger != 0) && (e.Ledger == 0 || e.Ledger < f.FromLedger || (f.ToLedger != 0 && e.Ledger > f.ToLedger)) {
		return false
	}
	at := e.RecordedAt
	if e.LedgerClosedAt != nil {
		at = *e.LedgerClosedAt
	}
	if (!f.From.IsZero() && at.Before(f.From)) || (!f.To.IsZero() && at.After(f.To)) {
		return false
	}
	if f.ContractID != "" && e.ContractID != f.ContractID {
		return false
	}
	if f.StreamID != nil && (e.StreamID == nil || *e.StreamID != *f.StreamID) {
		return false
	}
	return f.Action == "" || e.Action == f.Action
}
