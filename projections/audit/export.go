package audit

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
)

// Export formats.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// AmountDecimals is how many fraction digits exported amounts have (Stellar tokens' 7).
const AmountDecimals = 7

// Filter selects the entries of an export. Zero fields do not filter. Ledger bounds keep only entries with a
// ledger (chain events and their reversals); time bounds apply to the ledger's close time, or to the time the
// entry was recorded for entries without one (operator actions).
type Filter struct {
	FromLedger uint32         `json:"fromLedger,omitempty"`
	ToLedger   uint32         `json:"toLedger,omitempty"`
	From       time.Time      `json:"from,omitzero"`
	To         time.Time      `json:"to,omitzero"`
	ContractID domain.Address `json:"contractId,omitempty"`
	StreamID   *uint64        `json:"streamId,omitempty"` // with ContractID
	Action     string         `json:"action,omitempty"`
}

// Actions are every entry action, for validating filters.
func Actions() []string {
	return []string{ActionApplied, ActionReverted, ActionRestored, ActionObserved, ActionAnomaly, ActionOperator}
}

func (f Filter) match(r *Row) bool {
	if (f.FromLedger != 0 || f.ToLedger != 0) && (r.Ledger == 0 || r.Ledger < f.FromLedger || (f.ToLedger != 0 && r.Ledger > f.ToLedger)) {
		return false
	}
	if !f.From.IsZero() || !f.To.IsZero() {
		raw := r.RecordedAt
		if r.LedgerClosedAt != "" {
			raw = r.LedgerClosedAt
		}
		at, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil || (!f.From.IsZero() && at.Before(f.From)) || (!f.To.IsZero() && at.After(f.To)) {
			return false
		}
	}
	if f.ContractID != "" && r.ContractID != string(f.ContractID) {
		return false
	}
	if f.StreamID != nil && r.StreamID != strconv.FormatUint(*f.StreamID, 10) {
		return false
	}
	return f.Action == "" || r.Action == f.Action
}

// View is a consistent cut of the log: its first Size entries, which never change.
type View interface {
	Size() int64
	Hashes() tlog.HashReader
	// Leaves returns the leaves of entries [from, to) of the cut: the bytes whose RFC 6962 leaf hashes are the
	// tree's leaves (the entries of the log's C2SP tlog-tiles entry bundles).
	Leaves(ctx context.Context, from, to int64) ([][]byte, error)
	// Scan calls fn with the row of every entry of the cut that f selects, in order.
	Scan(ctx context.Context, f Filter, fn func(r *Row) error) error
}

// Row is an exported entry: every field of its leaf, amounts as decimal strings, and its leaf hash, so that a
// verifier recomputes the leaf from the row alone.
type Row struct {
	Seq             int64  `json:"seq"`
	Position        uint64 `json:"position"`
	RecordedAt      string `json:"recordedAt"`
	Ledger          uint32 `json:"ledger"`
	LedgerClosedAt  string `json:"ledgerClosedAt"`
	TxHash          string `json:"txHash"`
	ContractID      string `json:"contractId"`
	StreamID        string `json:"streamId"`
	Stream          string `json:"stream"`
	EventID         string `json:"eventId"`
	Type            string `json:"type"`
	Action          string `json:"action"`
	Reverts         string `json:"reverts"`
	Summary         string `json:"summary"`
	Deposit         string `json:"deposit"`
	RatePerSecond   string `json:"ratePerSecond"`
	Amount          string `json:"amount"`
	TopUp           string `json:"topUp"`
	Refund          string `json:"refund"`
	KeeperFee       string `json:"keeperFee"`
	RecipientAmount string `json:"recipientAmount"`
	LeafVersion     int    `json:"leafVersion"`
	LeafHash        string `json:"leafHash"`

	tlogProof string // the row's tlog-proof, as read from a JSON Lines export with proofs
}

// amountFields are the exported amount columns, by the key an entry's Amounts map uses.
func (r *Row) amountFields() map[string]*string {
	return map[string]*string{"deposit": &r.Deposit, "ratePerSecond": &r.RatePerSecond, "amount": &r.Amount, "topUp": &r.TopUp,
		"refund": &r.Refund, "keeperFee": &r.KeeperFee, "recipientAmount": &r.RecipientAmount}
}

// Columns are the CSV header, in order (the JSON Lines keys are the same).
func Columns() []string {
	return []string{"seq", "position", "recordedAt", "ledger", "ledgerClosedAt", "txHash", "contractId", "streamId", "stream",
		"eventId", "type", "action", "reverts", "summary", "deposit", "ratePerSecond", "amount", "topUp", "refund", "keeperFee",
		"recipientAmount", "leafVersion", "leafHash"}
}

func rowFromCells(c []string) (Row, error) {
	if len(c) != len(Columns()) {
		return Row{}, fmt.Errorf("%d columns, want %d", len(c), len(Columns()))
	}
	r := Row{RecordedAt: c[2], LedgerClosedAt: c[4], TxHash: c[5], ContractID: c[6], StreamID: c[7], Stream: c[8], EventID: c[9],
		Type: c[10], Action: c[11], Reverts: c[12], Summary: c[13], Deposit: c[14], RatePerSecond: c[15], Amount: c[16],
		TopUp: c[17], Refund: c[18], KeeperFee: c[19], RecipientAmount: c[20], LeafHash: c[22]}
	var err error
	var ledger uint64
	var v int64
	if r.Seq, err = strconv.ParseInt(c[0], 10, 64); err != nil {
		return Row{}, fmt.Errorf("seq %q", c[0])
	}
	if r.Position, err = strconv.ParseUint(c[1], 10, 64); err != nil {
		return Row{}, fmt.Errorf("position %q", c[1])
	}
	if ledger, err = strconv.ParseUint(c[3], 10, 32); err != nil {
		return Row{}, fmt.Errorf("ledger %q", c[3])
	}
	if v, err = strconv.ParseInt(c[21], 10, 32); err != nil {
		return Row{}, fmt.Errorf("leafVersion %q", c[21])
	}
	r.Ledger, r.LeafVersion = uint32(ledger), int(v)
	return r, nil
}

// RowOf is the exported row of an entry whose leaf bytes are leaf.
func RowOf(e *Entry, leaf []byte) (Row, error) {
	h := tlog.RecordHash(leaf)
	r := Row{Seq: e.Seq, Position: uint64(e.Position), RecordedAt: e.RecordedAt.Format(time.RFC3339Nano), Ledger: e.Ledger,
		TxHash: e.TxHash, ContractID: string(e.ContractID), Stream: e.Stream, EventID: e.EventID, Type: e.Type, Action: e.Action,
		Reverts: e.Reverts, Summary: e.Summary, LeafVersion: e.V, LeafHash: hex.EncodeToString(h[:])}
	if e.LedgerClosedAt != nil {
		r.LedgerClosedAt = e.LedgerClosedAt.Format(time.RFC3339Nano)
	}
	if e.StreamID != nil {
		r.StreamID = strconv.FormatUint(*e.StreamID, 10)
	}
	fields := r.amountFields()
	for k, a := range e.Amounts {
		p, ok := fields[k]
		if !ok {
			return Row{}, fmt.Errorf("entry %d: amount %q has no export column", e.Seq, k)
		}
		*p = a.Decimal(AmountDecimals)
	}
	return r, nil
}

// Entry recomputes the entry a row shows, as its leaf was made.
func (r *Row) Entry() (Entry, error) {
	e := Entry{V: r.LeafVersion, Seq: r.Seq, Position: eventstore.Position(r.Position), EventID: r.EventID, Stream: r.Stream,
		Type: r.Type, Action: r.Action, Reverts: r.Reverts, Ledger: r.Ledger, TxHash: r.TxHash, ContractID: domain.Address(r.ContractID),
		Summary: r.Summary}
	var err error
	if e.RecordedAt, err = time.Parse(time.RFC3339Nano, r.RecordedAt); err != nil {
		return Entry{}, fmt.Errorf("recordedAt %q", r.RecordedAt)
	}
	if r.LedgerClosedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, r.LedgerClosedAt)
		if err != nil {
			return Entry{}, fmt.Errorf("ledgerClosedAt %q", r.LedgerClosedAt)
		}
		e.LedgerClosedAt = &t
	}
	if r.StreamID != "" {
		id, err := strconv.ParseUint(r.StreamID, 10, 64)
		if err != nil {
			return Entry{}, fmt.Errorf("streamId %q", r.StreamID)
		}
		e.StreamID = &id
	}
	for k, p := range r.amountFields() {
		if *p == "" {
			continue
		}
		a, err := parseSignedDecimal(*p)
		if err != nil {
			return Entry{}, fmt.Errorf("%s %q: %w", k, *p, err)
		}
		if e.Amounts == nil {
			e.Amounts = map[string]domain.Amount{}
		}
		e.Amounts[k] = a
	}
	return e, nil
}

func parseSignedDecimal(s string) (domain.Amount, error) {
	digits, neg := strings.CutPrefix(s, "-")
	a, err := domain.ParseDecimal(digits, AmountDecimals)
	if err != nil || !neg {
		return a, err
	}
	out, ok := domain.NewAmount(0).Sub(a)
	if !ok {
		return domain.Amount{}, errors.New("out of range")
	}
	return out, nil
}

// Neutralize defuses a CSV cell that a spreadsheet would run as a formula: one whose first character after leading
// spaces is = + - @, a tab, a carriage return or NUL gets a leading apostrophe. A cell starting (after spaces)
// with an apostrophe gets one too, so that Unneutralize, which drops one leading apostrophe, gives every cell back.
func Neutralize(cell string) string {
	rest := strings.TrimLeft(cell, " ")
	if rest == "" {
		return cell
	}
	switch rest[0] {
	case '=', '+', '-', '@', '\t', '\r', 0, '\'':
		return "'" + cell
	}
	return cell
}

// plainCell tells, in one pass, whether a cell goes into the CSV as it is: nothing to neutralise, nothing to quote.
func plainCell(f string) bool {
	if f == "" {
		return true
	}
	switch f[0] {
	case ' ', '=', '+', '-', '@', '\t', '\r', 0, '\'':
		return false
	}
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case ',', '"', '\r', '\n':
			return false
		}
	}
	return true
}

// Unneutralize is the inverse of Neutralize.
func Unneutralize(cell string) string {
	if rest, ok := strings.CutPrefix(cell, "'"); ok {
		return rest
	}
	return cell
}

// rowWriter writes rows in one format.
type rowWriter interface {
	write(r *Row) error
	flush() error
}

type csvWriter struct {
	enc     csvEncoder
	scratch []byte
}

// write writes a row's cells neutralised and quoted as needed, straight into the buffer: exports write a million
// rows, and a slice of cells per row was a fifth of the writer's time.
func (c *csvWriter) write(r *Row) error {
	w := c.enc.w
	num := func(n int64) {
		c.scratch = strconv.AppendInt(c.scratch[:0], n, 10)
		w.Write(c.scratch)
	}
	text := func(f string) {
		w.WriteByte(',')
		if plainCell(f) {
			w.WriteString(f)
			return
		}
		c.enc.field(Neutralize(f))
	}
	num(r.Seq)
	w.WriteByte(',')
	num(int64(r.Position))
	text(r.RecordedAt)
	w.WriteByte(',')
	num(int64(r.Ledger))
	for _, f := range [...]string{r.LedgerClosedAt, r.TxHash, r.ContractID, r.StreamID, r.Stream, r.EventID, r.Type, r.Action,
		r.Reverts, r.Summary, r.Deposit, r.RatePerSecond, r.Amount, r.TopUp, r.Refund, r.KeeperFee, r.RecipientAmount} {
		text(f)
	}
	w.WriteByte(',')
	num(int64(r.LeafVersion))
	text(r.LeafHash)
	_, err := w.WriteString("\r\n")
	return err
}

func (c *csvWriter) flush() error { return c.enc.w.Flush() }

type jsonlWriter struct {
	w   *bufio.Writer
	enc *json.Encoder
}

func (j jsonlWriter) write(r *Row) error { return j.enc.Encode(r) }
func (j jsonlWriter) flush() error       { return j.w.Flush() }

func newRowWriter(format string, w io.Writer) (rowWriter, error) {
	switch format {
	case FormatCSV:
		cw := &csvWriter{enc: csvEncoder{bufio.NewWriterSize(w, 64<<10)}}
		return cw, cw.enc.write(Columns())
	case FormatJSONL:
		bw := bufio.NewWriterSize(w, 64<<10)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		return jsonlWriter{w: bw, enc: enc}, nil
	}
	return nil, fmt.Errorf("unknown export format %q (csv or jsonl)", format)
}

// Query is what an export was asked for.
type Query struct {
	Format string `json:"format"`
	Filter
	// Proofs: every row carries its C2SP tlog-proof (tlogProof) in the export's tree, with its signed checkpoint.
	Proofs bool `json:"proofs,omitempty"`
}

// provenRow is a JSON Lines row with its tlog-proof.
type provenRow struct {
	Row
	TLogProof string `json:"tlogProof,omitempty"`
}

// ManifestVersion versions the manifest's layout.
const ManifestVersion = 1

// Manifest describes an export so that it can be verified on its own: the tree it was cut from, the signed
// checkpoint of that tree, the file's hash and the proof that its rows are entries of that tree.
type Manifest struct {
	Version        int         `json:"version"`
	Query          Query       `json:"query"`
	TreeSize       int64       `json:"treeSize"`
	RootHash       string      `json:"rootHash"` // base64, as in the checkpoint
	RowCount       int64       `json:"rowCount"`
	SHA256         string      `json:"sha256"` // of the file, hex
	AmountDecimals int         `json:"amountDecimals"`
	Checkpoint     string      `json:"checkpoint"` // signed note (C2SP tlog-checkpoint)
	VerifierKey    string      `json:"verifierKey"`
	Proof          []ProofHash `json:"proof"`
}

// Result is what writing an export produced.
type Result struct {
	Rows   int64
	SHA256 string
	runs   []run
}

// Write writes the entries of view that q selects to w, in q's format, and returns the row count, the file's
// SHA-256 and what the proof needs. It holds no more than a batch of rows and the runs of exported sequence
// numbers in memory.
func Write(ctx context.Context, view View, q Query, w io.Writer) (Result, error) {
	return WriteProven(ctx, view, q, nil, w)
}

// WriteProven is Write for a query that may ask for proofs: each row then carries its C2SP tlog-proof in the
// view's tree, whose signed checkpoint is signed (the same for every row, and the manifest's).
func WriteProven(ctx context.Context, view View, q Query, signed []byte, w io.Writer) (Result, error) {
	if q.Proofs && signed == nil {
		return Result{}, errors.New("audit export: proofs need the tree's signed checkpoint")
	}
	sum := sha256.New()
	rw, err := newRowWriter(q.Format, io.MultiWriter(w, sum))
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = view.Scan(ctx, q.Filter, func(r *Row) error {
		res.Rows++
		res.runs = addRun(res.runs, r.Seq)
		if !q.Proofs {
			return rw.write(r)
		}
		inclusion, err := tlog.ProveRecord(view.Size(), r.Seq, view.Hashes())
		if err != nil {
			return fmt.Errorf("prove entry %d: %w", r.Seq, err)
		}
		return rw.(jsonlWriter).enc.Encode(provenRow{Row: *r, TLogProof: string(TLogProof(r.Seq, inclusion, signed))})
	})
	if err != nil {
		return Result{}, err
	}
	if err := rw.flush(); err != nil {
		return Result{}, err
	}
	res.SHA256 = hex.EncodeToString(sum.Sum(nil))
	return res, nil
}

// NewManifest describes an export of view written with res, with the view's tree head signed by signer.
func NewManifest(view View, q Query, res Result, signer note.Signer, verifierKey string) (Manifest, error) {
	root, err := tlog.TreeHash(view.Size(), view.Hashes())
	if err != nil {
		return Manifest{}, fmt.Errorf("audit tree head: %w", err)
	}
	c := Checkpoint{Origin: Origin, Size: view.Size(), Root: root}
	signed, err := c.Sign(signer)
	if err != nil {
		return Manifest{}, err
	}
	proof, err := proveRuns(view.Size(), res.runs, view.Hashes())
	if err != nil {
		return Manifest{}, err
	}
	return Manifest{Version: ManifestVersion, Query: q, TreeSize: c.Size, RootHash: c.Root.String(), RowCount: res.Rows,
		SHA256: res.SHA256, AmountDecimals: AmountDecimals, Checkpoint: string(signed), VerifierKey: verifierKey, Proof: proof}, nil
}

// hashingReader hashes what is read through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
}

func (h hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

// Verdict is the outcome of verifying an export.
type Verdict struct {
	OK       bool
	Rows     int64
	TreeSize int64
	// Problem says what is wrong, naming the first row (1 is the first after the header) that is missing,
	// altered or out of order, when the export can tell.
	Problem string
}

// Verify checks an export file against its manifest and the log's public key: the checkpoint's signature, the
// file's hash, every row's leaf (recomputed from its fields), the order of the rows, and that the rows are the
// entries of the signed tree at their sequence numbers (with the manifest's proof for the entries left out).
// verifierKey is the key the auditor trusts; empty trusts the manifest's.
func Verify(file io.Reader, m Manifest, verifierKey string) (Verdict, error) {
	if verifierKey == "" {
		verifierKey = m.VerifierKey
	}
	v := Verdict{TreeSize: m.TreeSize}
	fail := func(format string, args ...any) (Verdict, error) {
		v.Problem = fmt.Sprintf(format, args...)
		return v, nil
	}
	if m.Version != ManifestVersion {
		return fail("manifest version %d, this build reads %d", m.Version, ManifestVersion)
	}
	if m.AmountDecimals != AmountDecimals {
		return fail("manifest amounts have %d decimals, this build reads %d", m.AmountDecimals, AmountDecimals)
	}
	c, err := OpenCheckpoint([]byte(m.Checkpoint), verifierKey)
	if err != nil {
		return fail("the checkpoint is not signed by the log's key: %v", err)
	}
	if c.Origin != Origin || c.Size != m.TreeSize || c.Root.String() != m.RootHash {
		return fail("the manifest's tree (%d entries, root %s) is not the signed checkpoint's (%d, %s)", m.TreeSize, m.RootHash, c.Size, c.Root)
	}
	sum := sha256.New()
	rows, err := readRows(hashingReader{r: file, h: sum}, m.Query.Format)
	if err != nil {
		return v, err
	}
	leaves := map[int64]tlog.Hash{}
	var runs []run
	last := int64(-1)
	for i := 1; ; i++ {
		r, err := rows()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail("row %d cannot be read: %v", i, err)
		}
		v.Rows++
		e, err := r.Entry()
		if err != nil {
			return fail("row %d (seq %d) is altered: %v", i, r.Seq, err)
		}
		leaf, err := e.Leaf()
		if err != nil {
			return v, err
		}
		h := tlog.RecordHash(leaf)
		if hex.EncodeToString(h[:]) != r.LeafHash {
			return fail("row %d (seq %d) is altered: its fields do not hash to its leafHash", i, r.Seq)
		}
		switch {
		case m.Query.Proofs && r.tlogProof == "":
			return fail("row %d (seq %d) has no tlog-proof, and the manifest says every row has one", i, r.Seq)
		case !m.Query.Proofs && r.tlogProof != "":
			return fail("row %d (seq %d) has a tlog-proof the manifest does not announce", i, r.Seq)
		case m.Query.Proofs:
			seq, pc, err := VerifyTLogProof([]byte(r.tlogProof), leaf, verifierKey)
			if err != nil {
				return fail("row %d (seq %d): its tlog-proof does not verify: %v", i, r.Seq, err)
			}
			if seq != r.Seq || pc != c {
				return fail("row %d (seq %d): its tlog-proof is for entry %d of the tree of %d entries, not this row in the export's tree", i, r.Seq, seq, pc.Size)
			}
		}
		if r.Seq <= last {
			return fail("row %d (seq %d) is out of order: it follows seq %d", i, r.Seq, last)
		}
		if r.Seq >= m.TreeSize {
			return fail("row %d (seq %d) is beyond the signed tree of %d entries", i, r.Seq, m.TreeSize)
		}
		last = r.Seq
		leaves[r.Seq] = h
		runs = addRun(runs, r.Seq)
	}
	root, err := rootFrom(m.TreeSize, runs, leaves, m.Proof)
	var missing *MissingError
	switch {
	case errors.As(err, &missing):
		return fail("the row with seq %d is missing", missing.Seq)
	case err != nil:
		return fail("%v", err)
	case root != c.Root:
		return fail("the rows do not make the signed tree: a row's fields and its leafHash were both changed, or rows were replaced")
	case v.Rows != m.RowCount:
		return fail("%d rows, the manifest says %d", v.Rows, m.RowCount)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != m.SHA256 {
		return fail("the file's SHA-256 %s is not the manifest's %s", got, m.SHA256)
	}
	v.OK = true
	return v, nil
}

// readRows returns a function that reads the next row of an export, io.EOF at its end.
func readRows(r io.Reader, format string) (func() (Row, error), error) {
	switch format {
	case FormatCSV:
		cr := &csvDecoder{r: bufio.NewReaderSize(r, 64<<10)}
		header, err := cr.read()
		if err != nil {
			return nil, fmt.Errorf("read the CSV header: %w", err)
		}
		if !slices.Equal(header, Columns()) {
			return nil, fmt.Errorf("the CSV header is %v, want %v", header, Columns())
		}
		return func() (Row, error) {
			rec, err := cr.read()
			if err != nil {
				return Row{}, err
			}
			if len(rec) != len(Columns()) {
				return Row{}, fmt.Errorf("%w: line %d has %d fields, want %d", errCSV, cr.line, len(rec), len(Columns()))
			}
			for i := range rec {
				rec[i] = Unneutralize(rec[i])
			}
			return rowFromCells(rec)
		}, nil
	case FormatJSONL:
		dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
		dec.DisallowUnknownFields()
		return func() (Row, error) {
			var row provenRow
			err := dec.Decode(&row)
			row.Row.tlogProof = row.TLogProof
			return row.Row, err
		}, nil
	}
	return nil, fmt.Errorf("unknown export format %q (csv or jsonl)", format)
}
