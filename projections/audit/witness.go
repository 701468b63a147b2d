package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/internal/pgschema"
)

// Witnessing (DESIGN §15, c2sp.org/tlog-witness): the log sends each new checkpoint to witnesses, with a
// consistency proof from the last one each cosigned, and keeps their cosignatures with the checkpoint. A
// checkpoint they cosigned is one they will refuse to contradict: a log that later showed another history to
// someone would be caught.

// WitnessedFile is the embedded store's file of the latest witnessed checkpoint, in DATA_DIR.
const WitnessedFile = "audit-witnessed.checkpoint"

// ErrNotWitnessed is the cause of a checkpoint that lacks a required cosignature.
var ErrNotWitnessed = errors.New("checkpoint not cosigned by the required witnesses")

// WitnessStore keeps the latest witnessed checkpoint: the log's signed note with the witnesses' cosignature lines.
type WitnessStore interface {
	Load(ctx context.Context) ([]byte, error) // nil when there is none yet
	Save(ctx context.Context, signed []byte) error
}

// FileWitnessStore keeps the witnessed checkpoint in a file, replaced atomically.
type FileWitnessStore struct{ Path string }

// Load reads the file; a missing one is no checkpoint yet.
func (s FileWitnessStore) Load(context.Context) ([]byte, error) {
	b, err := os.ReadFile(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Save writes the checkpoint beside the file and renames it over.
func (s FileWitnessStore) Save(_ context.Context, signed []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(s.Path), ".witnessed-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(signed); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.Path)
}

// PGWitnessStore keeps the witnessed checkpoint in a one-row table of the read models' schema.
type PGWitnessStore struct {
	pool  *pgxpool.Pool
	table string
}

// OpenPGWitnessStore creates the table if needed.
func OpenPGWitnessStore(ctx context.Context, pool *pgxpool.Pool, schema string) (*PGWitnessStore, error) {
	table := pgx.Identifier{schema, "audit_witnessed"}.Sanitize()
	if err := pgschema.Create(ctx, pool, schema, `CREATE TABLE IF NOT EXISTS `+table+
		` (one bool PRIMARY KEY DEFAULT true CHECK (one), size bigint NOT NULL, note bytea NOT NULL)`); err != nil {
		return nil, fmt.Errorf("audit witnessed checkpoint table: %w", err)
	}
	return &PGWitnessStore{pool: pool, table: table}, nil
}

// Load reads the row.
func (s *PGWitnessStore) Load(ctx context.Context) ([]byte, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT note FROM `+s.table).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return b, err
}

// Save replaces the row, unless a larger checkpoint is stored already (two serves may witness at once).
func (s *PGWitnessStore) Save(ctx context.Context, signed []byte) error {
	size, err := noteSize(signed)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO `+s.table+` (size, note) VALUES ($1, $2)
ON CONFLICT (one) DO UPDATE SET size = excluded.size, note = excluded.note WHERE `+s.table+`.size <= excluded.size`, size, signed)
	return err
}

func noteSize(signed []byte) (int64, error) {
	lines := strings.SplitN(string(signed), "\n", 3)
	if len(lines) < 3 {
		return 0, fmt.Errorf("%w: not a checkpoint", ErrBadCheckpoint)
	}
	return strconv.ParseInt(lines[1], 10, 64)
}

// WitnessedLog is what witnessing needs of the audit log.
type WitnessedLog interface {
	Snapshot(ctx context.Context, treeSize int64, fn func(View) error) error
	ConsistencyProof(ctx context.Context, older, newer int64) (tlog.TreeProof, error)
}

// Witnesser sends the log's new checkpoints to witnesses and keeps what they cosign.
type Witnesser struct {
	// URLs are the witnesses' submission prefixes (add-checkpoint is appended).
	URLs   []string
	Log    WitnessedLog
	Signer note.Signer
	Store  WitnessStore
	Client *http.Client
	Logger *slog.Logger

	sizes map[string]int64 // each witness's latest cosigned size, as far as this process knows
	last  int64            // the size last witnessed by every witness
}

// maxCosignatureLines bounds what one witness may add to a checkpoint.
const maxCosignatureLines = 8

// Submit sends the log's current checkpoint to every witness, if the log grew since the last round, and saves it
// with the cosignatures they returned. A witness that refuses or fails is logged and reported; the others'
// cosignatures are kept.
func (w *Witnesser) Submit(ctx context.Context) error {
	if w.sizes == nil {
		w.sizes = map[string]int64{}
	}
	var head Checkpoint
	err := w.Log.Snapshot(ctx, 0, func(v View) error {
		root, err := tlog.TreeHash(v.Size(), v.Hashes())
		head = Checkpoint{Origin: Origin, Size: v.Size(), Root: root}
		return err
	})
	if err != nil {
		return err
	}
	if head.Size == 0 || head.Size <= w.last {
		return nil
	}
	signed, err := head.Sign(w.Signer)
	if err != nil {
		return err
	}
	out := append([]byte(nil), signed...)
	var errs []error
	for _, u := range w.URLs {
		lines, err := w.submit(ctx, u, head, signed)
		if err != nil {
			errs = append(errs, err)
			w.Logger.Warn("a witness did not cosign the audit checkpoint", "witness", u, "size", head.Size, "err", err)
			continue
		}
		for _, l := range lines {
			out = append(append(out, l...), '\n')
		}
	}
	if len(errs) < len(w.URLs) {
		if err := w.Store.Save(ctx, out); err != nil {
			return fmt.Errorf("save the witnessed checkpoint: %w", err)
		}
	}
	if len(errs) == 0 {
		w.last = head.Size
	}
	return errors.Join(errs...)
}

// submit is one add-checkpoint call, retried once with the size a 409 reports.
func (w *Witnesser) submit(ctx context.Context, url string, head Checkpoint, signed []byte) ([]string, error) {
	for attempt := 0; ; attempt++ {
		old := w.sizes[url]
		var body bytes.Buffer
		fmt.Fprintf(&body, "old %d\n", old)
		if old > 0 && old < head.Size {
			proof, err := w.Log.ConsistencyProof(ctx, old, head.Size)
			if err != nil {
				return nil, fmt.Errorf("consistency proof %d → %d: %w", old, head.Size, err)
			}
			for _, h := range proof {
				body.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
			}
		}
		body.WriteString("\n")
		body.Write(signed)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(url, "/")+"/add-checkpoint", &body)
		if err != nil {
			return nil, err
		}
		resp, err := w.Client.Do(req)
		if err != nil {
			return nil, err
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusConflict && attempt == 0 && resp.Header.Get("Content-Type") == "text/x.tlog.size":
			size, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
			if err != nil || size < 0 || size > head.Size {
				return nil, fmt.Errorf("witness %s: 409 with size %q", url, raw)
			}
			w.sizes[url] = size
			continue
		case resp.StatusCode != http.StatusOK:
			return nil, fmt.Errorf("witness %s: %s: %.200s", url, resp.Status, raw)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
			if !strings.HasPrefix(l, "— ") || len(l) > 1024 || len(lines) == maxCosignatureLines {
				return nil, fmt.Errorf("witness %s: not a cosignature line: %.100q", url, l)
			}
			lines = append(lines, l)
		}
		w.sizes[url] = head.Size
		return lines, nil
	}
}

// Run submits every interval until ctx ends; the first round is at once.
func (w *Witnesser) Run(ctx context.Context, every time.Duration) {
	for {
		if err := w.Submit(ctx); err != nil && ctx.Err() == nil {
			w.Logger.Warn("witnessing the audit checkpoint", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// RequireCosignatures checks a signed checkpoint: the log's key signed it, and so did every witness key (C2SP
// tlog-cosignature, Ed25519 cosignature/v1) in witnessKeys.
func RequireCosignatures(signed []byte, logKey string, witnessKeys []string) error {
	logV, err := note.NewVerifier(logKey)
	if err != nil {
		return fmt.Errorf("%w: log key: %v", ErrBadCheckpoint, err)
	}
	verifiers := []note.Verifier{logV}
	for _, k := range witnessKeys {
		v, err := fnote.NewVerifierForCosignatureV1(k)
		if err != nil {
			return fmt.Errorf("witness key %q: %v", k, err)
		}
		verifiers = append(verifiers, v)
	}
	n, err := note.Open(signed, note.VerifierList(verifiers...))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	for _, v := range verifiers {
		found := false
		for _, s := range n.Sigs {
			found = found || (s.Name == v.Name() && s.Hash == v.KeyHash())
		}
		if !found {
			return fmt.Errorf("%w: no valid signature by %s", ErrNotWitnessed, v.Name())
		}
	}
	return nil
}
