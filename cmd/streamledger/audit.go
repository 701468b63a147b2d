package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/audit"
	"github.com/streamledger/streamledger/projections/streams"
)

// exportHeapLimit is the soft heap limit of an export.
const exportHeapLimit = 48 << 20

type auditExportOptions struct {
	out, manifest string
	params        audit.QueryParams
}

func auditExportFlags(fs *flag.FlagSet) any {
	o := &auditExportOptions{}
	fs.StringVar(&o.out, "out", "", "the export file to write")
	fs.StringVar(&o.manifest, "manifest", "", "its manifest (default: --out with .manifest.json appended)")
	fs.StringVar(&o.params.Format, "format", audit.FormatCSV, "csv or jsonl")
	fs.StringVar(&o.params.From, "from", "", "first ledger, or earliest RFC 3339 time")
	fs.StringVar(&o.params.To, "to", "", "last ledger, or latest RFC 3339 time")
	fs.StringVar(&o.params.ContractID, "contract-id", "", "only this contract's entries")
	fs.StringVar(&o.params.StreamID, "stream-id", "", "only this stream's entries ({contractId}:{streamId}, or the number with --contract-id)")
	fs.StringVar(&o.params.Action, "action", "", "only entries of this action ("+strings.Join(audit.Actions(), ", ")+")")
	fs.BoolFunc("proofs", "every row carries its C2SP tlog-proof (with --format jsonl)", func(v string) error {
		o.params.Proofs = v
		return nil
	})
	return o
}

// flagOf is the CLI flag of a query field.
func flagOf(field string) string {
	switch field {
	case "contractId":
		return "--contract-id"
	case "streamId":
		return "--stream-id"
	}
	return "--" + field
}

// runAuditExport writes an export of the audit log and its manifest, from one snapshot. With the embedded store
// the audit log is rebuilt from the event log first (serve must be stopped: it holds the store's file).
func runAuditExport(ctx context.Context, env *runEnv, args []string) error {
	o := env.opts.(*auditExportOptions)
	if len(args) > 0 {
		return fmt.Errorf("%w: audit export takes no arguments, got %q", errUsage, args)
	}
	if o.out == "" {
		return fmt.Errorf("%w: --out FILE is required", errUsage)
	}
	if o.manifest == "" {
		o.manifest = o.out + ".manifest.json"
	}
	q, err := audit.ParseQuery(o.params, env.cfg.ContractIDs)
	var qe *audit.QueryError
	if errors.As(err, &qe) {
		return fmt.Errorf("%w: %s: %s", errUsage, flagOf(qe.Field), qe.Reason)
	}
	// An export makes a million short-lived rows and keeps few: collecting less often, under a soft heap limit,
	// halves the collector's share of the time and keeps the process's memory bounded all the same.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(exportHeapLimit))
	store, err := openStore(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer store.Close()
	log, signer, vkey, err := openAuditLog(ctx, env, store)
	if err != nil {
		return err
	}
	defer log.Close()
	var m audit.Manifest
	start := time.Now()
	err = log.Snapshot(ctx, 0, func(v audit.View) error {
		m, err = writeExport(ctx, env, progressView{View: v, report: exportProgress(env, v.Size())}, q, o.out, signer, vkey)
		return err
	})
	if err != nil {
		return err
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.manifest, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the manifest: %w", err)
	}
	took := time.Since(start)
	fmt.Fprintf(env.stdout, "exported %d rows of the audit log of %d entries to %s (sha256 %s) in %s, %.0f rows/s\nmanifest: %s\n",
		m.RowCount, m.TreeSize, o.out, m.SHA256, took.Round(time.Millisecond), float64(m.RowCount)/max(took.Seconds(), 1e-9), o.manifest)
	return nil
}

// writeExport writes the export into a temporary file beside out and renames it into place once complete.
func writeExport(ctx context.Context, env *runEnv, v audit.View, q audit.Query, out string, signer note.Signer,
	vkey string) (audit.Manifest, error) {
	f, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".partial-*")
	if err != nil {
		return audit.Manifest{}, fmt.Errorf("create the export file: %w", err)
	}
	defer os.Remove(f.Name()) // once renamed, nothing is left to remove
	w := bufio.NewWriterSize(f, 256<<10)
	var signed []byte
	if q.Proofs {
		root, err := tlog.TreeHash(v.Size(), v.Hashes())
		if err != nil {
			return audit.Manifest{}, err
		}
		if signed, err = (audit.Checkpoint{Origin: audit.Origin, Size: v.Size(), Root: root}).Sign(signer); err != nil {
			return audit.Manifest{}, err
		}
	}
	res, err := audit.WriteProven(ctx, v, q, signed, w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return audit.Manifest{}, fmt.Errorf("write the export: %w", err)
	}
	m, err := audit.NewManifest(v, q, res, signer, vkey)
	if err != nil {
		return audit.Manifest{}, err
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return audit.Manifest{}, fmt.Errorf("write the export: %w", err)
	}
	env.log.Debug("audit export written", "rows", res.Rows, "file", out)
	return m, nil
}

// openAuditLog opens the audit log and its signing key: the live PostgreSQL generation, or, with the embedded
// store, the log rebuilt in memory from the events.
func openAuditLog(ctx context.Context, env *runEnv, store eventstore.Store) (auditSource, note.Signer, string, error) {
	in, err := codecOf(env.cfg)
	if err != nil {
		return nil, nil, "", err
	}
	if pg, ok := store.(pgBacked); ok {
		m, err := newPGReadModels(ctx, pg.Pool(), store, env.cfg.SafetyMargin, in)
		if err != nil {
			return nil, nil, "", err
		}
		signer, vkey, err := loadAuditKey(env.cfg, func() (note.Signer, string, error) {
			return audit.LoadOrCreateKeyPG(ctx, m.pool, m.schema, "streamledger")
		})
		return liveAudit{m}, signer, vkey, err
	}
	signer, vkey, err := loadAuditKey(env.cfg, func() (note.Signer, string, error) {
		return audit.LoadOrCreateKey(filepath.Join(env.cfg.DataDir, audit.KeyFile), "streamledger")
	})
	if err != nil {
		return nil, nil, "", err
	}
	log, err := audit.NewScratch(streams.NewAnomalies(store), scratchDir(env.cfg))
	if err != nil {
		return nil, nil, "", err
	}
	metrics, err := projections.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		return nil, nil, "", err
	}
	r, err := projections.NewRunner(projections.RunnerConfig{Store: store, Projection: log, BatchSize: 5000, Metrics: metrics,
		Codec: in, Logger: env.log})
	if err != nil {
		return nil, nil, "", err
	}
	if err := r.CatchUp(ctx); err != nil {
		log.Close()
		return nil, nil, "", fmt.Errorf("rebuild the audit log: %w", err)
	}
	return log, signer, vkey, nil
}

type auditSource interface {
	Snapshot(ctx context.Context, treeSize int64, fn func(audit.View) error) error
	Close() error
}

// progressView reports the entries an export has scanned.
type progressView struct {
	audit.View
	report func(scanned int64, done bool)
}

func (p progressView) Scan(ctx context.Context, f audit.Filter, fn func(*audit.Row) error) error {
	var scanned int64
	err := p.View.Scan(ctx, f, func(r *audit.Row) error {
		scanned = r.Seq + 1
		if scanned%10_000 == 0 {
			p.report(scanned, false)
		}
		return fn(r)
	})
	if err == nil {
		p.report(p.Size(), true)
	}
	return err
}

// exportProgress draws the export's progress on a terminal and logs it otherwise.
func exportProgress(env *runEnv, size int64) func(int64, bool) {
	terminal := isTerminal(env.stderr)
	start, last := time.Now(), time.Time{}
	return func(seq int64, done bool) {
		rate := float64(seq) / max(time.Since(start).Seconds(), 1e-9)
		eta := time.Duration(float64(size-seq)/max(rate, 1e-9)) * time.Second
		switch {
		case terminal:
			fmt.Fprintf(env.stderr, "\raudit export: %d/%d entries, %.0f entries/s, ETA %s   ", seq, size, rate, eta.Round(time.Second))
			if done {
				fmt.Fprintln(env.stderr)
			}
		case done || time.Since(last) >= 5*time.Second:
			last = time.Now()
			env.log.Info("exporting the audit log", "entries", seq, "of", size, "entriesPerSecond", int64(rate))
		}
	}
}

type auditVerifyOptions struct {
	manifest, key, checkpoint, tlogProof string
	witnesses                            []string
}

func auditVerifyFlags(fs *flag.FlagSet) any {
	o := &auditVerifyOptions{}
	fs.StringVar(&o.manifest, "manifest", "", "the export's manifest (default: FILE.manifest.json)")
	fs.StringVar(&o.key, "key", "", "the audit log's public (verifier) key, as GET /api/audit/checkpoint shows it; "+
		"without it the manifest's own key is trusted")
	fs.StringVar(&o.checkpoint, "checkpoint", "", "a signed checkpoint obtained separately (GET /api/audit/checkpoint?treeSize=N, "+
		"saved as is or just its note), to verify against instead of the manifest's")
	fs.Func("witness", "a witness's public key (C2SP tlog-witness, Ed25519 cosignature/v1): the checkpoint must carry its "+
		"cosignature; repeatable", func(k string) error {
		o.witnesses = append(o.witnesses, k)
		return nil
	})
	fs.StringVar(&o.tlogProof, "tlog-proof", "", "a C2SP tlog-proof of one entry (GET /api/audit/proof/{seq}?format=tlog-proof): "+
		"FILE is then that entry's exported row (a JSON Lines row), and --key is required")
	return o
}

// verifyTLogProof checks one exported row against a C2SP tlog-proof, offline: the row gives the entry's leaf, the
// proof its inclusion in a tree whose checkpoint the pinned key signed.
func verifyTLogProof(env *runEnv, o *auditVerifyOptions, rowFile string) error {
	if o.key == "" {
		return fmt.Errorf("%w: --key is required with --tlog-proof: a proof brings its own checkpoint, only a pinned key makes it mean anything", errUsage)
	}
	bundle, err := os.ReadFile(o.tlogProof)
	if err != nil {
		return fmt.Errorf("%w: read the tlog-proof: %v", errUsage, err)
	}
	raw, err := os.ReadFile(rowFile)
	if err != nil {
		return fmt.Errorf("%w: read the row: %v", errUsage, err)
	}
	var row audit.Row
	if err := json.Unmarshal(raw, &row); err != nil {
		return fmt.Errorf("%w: %s is not an exported row (a JSON Lines line): %v", errUsage, rowFile, err)
	}
	entry, err := row.Entry()
	if err != nil {
		return fmt.Errorf("%w: the row: %v", errUsage, err)
	}
	leaf, err := entry.Leaf()
	if err != nil {
		return err
	}
	seq, cp, err := audit.VerifyTLogProof(bundle, leaf, o.key)
	if err == nil && seq != row.Seq {
		err = fmt.Errorf("%w: the proof is for entry %d, the row is entry %d", audit.ErrBadProof, seq, row.Seq)
	}
	if err == nil && len(o.witnesses) > 0 {
		var signed []byte
		if signed, err = audit.TLogProofCheckpoint(bundle); err == nil {
			err = audit.RequireCosignatures(signed, o.key, o.witnesses)
		}
	}
	if err != nil {
		fmt.Fprintf(env.stdout, "FAILED: %s: %v\n", rowFile, err)
		return errVerifyFailed
	}
	fmt.Fprintf(env.stdout, "OK: %s: entry %d of the signed audit log of %d entries (root %s), key %s\n", rowFile, seq, cp.Size,
		cp.Root, o.key)
	return nil
}

// errVerifyFailed is a verification that ran and found the export wrong.
var errVerifyFailed = errors.New("the export does not verify")

// runAuditVerify checks an export file against its manifest and prints the verdict; a failed verification exits 1.
func runAuditVerify(_ context.Context, env *runEnv, args []string) error {
	o := env.opts.(*auditVerifyOptions)
	if len(args) != 1 {
		return fmt.Errorf("%w: audit verify takes one FILE, got %q", errUsage, args)
	}
	if o.tlogProof != "" {
		return verifyTLogProof(env, o, args[0])
	}
	if o.manifest == "" {
		o.manifest = args[0] + ".manifest.json"
	}
	raw, err := os.ReadFile(o.manifest)
	if err != nil {
		return fmt.Errorf("%w: read the manifest: %v", errUsage, err)
	}
	m, err := parseManifest(raw)
	if err != nil {
		return fmt.Errorf("%w: the manifest %s: %v", errUsage, o.manifest, err)
	}
	if o.checkpoint != "" {
		raw, err := os.ReadFile(o.checkpoint)
		if err != nil {
			return fmt.Errorf("%w: read the checkpoint: %v", errUsage, err)
		}
		m.Checkpoint = checkpointNote(raw)
	}
	f, err := os.Open(args[0])
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	defer f.Close()
	v, err := audit.Verify(f, m, o.key)
	if err != nil {
		return err
	}
	if !v.OK {
		fmt.Fprintf(env.stdout, "FAILED: %s: %s\n", args[0], v.Problem)
		return errVerifyFailed
	}
	if len(o.witnesses) > 0 {
		if o.key == "" {
			return fmt.Errorf("%w: --witness needs --key: cosignatures are checked beside the log's own signature", errUsage)
		}
		if err := audit.RequireCosignatures([]byte(m.Checkpoint), o.key, o.witnesses); err != nil {
			fmt.Fprintf(env.stdout, "FAILED: %s: %v\n", args[0], err)
			return errVerifyFailed
		}
	}
	root, _ := tlog.ParseHash(m.RootHash)
	key := o.key
	if key == "" {
		key = m.VerifierKey + " (from the manifest: pin it with --key)"
	}
	fmt.Fprintf(env.stdout, "OK: %s: %d rows, each an entry of the signed audit log of %d entries (root %s), key %s\n",
		args[0], v.Rows, v.TreeSize, root, key)
	return nil
}

// parseManifest reads a manifest as the CLI writes it, or as GET /api/audit/export/manifest returns it.
func parseManifest(raw []byte) (audit.Manifest, error) {
	var env struct {
		Data *audit.Manifest `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err == nil && env.Data != nil {
		return *env.Data, nil
	}
	var m audit.Manifest
	err := json.Unmarshal(raw, &m)
	return m, err
}

// checkpointNote is the signed note of a checkpoint file: the note itself, or the response of
// GET /api/audit/checkpoint.
func checkpointNote(raw []byte) string {
	var resp struct {
		Data struct {
			Checkpoint string `json:"checkpoint"`
		} `json:"data"`
	}
	if json.Unmarshal(raw, &resp) == nil && resp.Data.Checkpoint != "" {
		return resp.Data.Checkpoint
	}
	return string(raw)
}
