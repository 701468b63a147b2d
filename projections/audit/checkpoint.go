package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/internal/pgschema"
)

// Origin names this log in its checkpoints (the first line of a C2SP tlog-checkpoint).
const Origin = "streamledger/audit/v1"

// ErrOutOfRange is the cause of a proof asked for entries or tree sizes the log does not have.
var ErrOutOfRange = errors.New("out of the audit log's range")

// ErrBadCheckpoint is the cause of every refusal of a checkpoint: malformed, unsigned, or signed by another key.
var ErrBadCheckpoint = errors.New("bad audit checkpoint")

// Checkpoint is a tree head: the log's size and root hash.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// Text is the checkpoint body in the C2SP tlog-checkpoint format: origin, size and base64 root hash, one per line.
func (c Checkpoint) Text() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}

// Sign returns the checkpoint as a signed note.
func (c Checkpoint) Sign(signer note.Signer) ([]byte, error) {
	signed, err := note.Sign(&note.Note{Text: c.Text()}, signer)
	if err != nil {
		return nil, fmt.Errorf("sign audit checkpoint: %w", err)
	}
	return signed, nil
}

// OpenCheckpoint verifies a signed checkpoint with the verifier key (as printed by GenerateKey) and parses it.
func OpenCheckpoint(signed []byte, verifierKey string) (Checkpoint, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: verifier key: %v", ErrBadCheckpoint, err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return Checkpoint{}, fmt.Errorf("%w: %d lines, want origin, size and root", ErrBadCheckpoint, len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return Checkpoint{}, fmt.Errorf("%w: size %q", ErrBadCheckpoint, lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w: root hash %q", ErrBadCheckpoint, lines[2])
	}
	return Checkpoint{Origin: lines[0], Size: size, Root: tlog.Hash(raw)}, nil
}

// VerifyInclusion checks that the entry with leaf hash leaf is entry seq of the tree c.
func VerifyInclusion(c Checkpoint, seq int64, leaf tlog.Hash, proof tlog.RecordProof) error {
	if err := tlog.CheckRecord(proof, c.Size, c.Root, seq, leaf); err != nil {
		return fmt.Errorf("entry %d is not in the tree of size %d: %w", seq, c.Size, err)
	}
	return nil
}

// VerifyConsistency checks that the tree older is a prefix of the tree newer.
func VerifyConsistency(older, newer Checkpoint, proof tlog.TreeProof) error {
	if err := tlog.CheckTree(proof, newer.Size, newer.Root, older.Size, older.Root); err != nil {
		return fmt.Errorf("tree of size %d is not a prefix of the tree of size %d: %w", older.Size, newer.Size, err)
	}
	return nil
}

// KeyFile is the signing key's file name in the data directory.
const KeyFile = "audit-signing.key"

// LoadOrCreateKey reads the note signer key from path, or generates one (named name) and writes it there with
// owner-only permissions. It returns the signer and the public verifier key auditors check checkpoints with.
func LoadOrCreateKey(path, name string) (note.Signer, string, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		skey, _, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			return nil, "", fmt.Errorf("generate audit signing key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, "", fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
		// O_EXCL: two processes starting together must not both write a key.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, "", fmt.Errorf("write audit signing key: %w", err)
		}
		if _, err := f.WriteString(skey + "\n"); err != nil {
			f.Close()
			return nil, "", fmt.Errorf("write audit signing key: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, "", fmt.Errorf("write audit signing key: %w", err)
		}
		raw = []byte(skey)
	} else if err != nil {
		return nil, "", fmt.Errorf("read audit signing key: %w", err)
	}
	return ParseKey(strings.TrimSpace(string(raw)))
}

// ParseKey parses a note signer key (PRIVATE+KEY+name+hash+key) and derives its verifier key.
func ParseKey(skey string) (note.Signer, string, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, "", errors.New("audit signing key: not a note signer key (PRIVATE+KEY+name+hash+key)")
	}
	vkey, err := verifierKey(skey)
	if err != nil {
		return nil, "", err
	}
	return signer, vkey, nil
}

// verifierKey derives the public key from a signer key: "PRIVATE+KEY+name+hash+base64(alg || seed)", whose
// base64 may itself contain '+'.
func verifierKey(skey string) (string, error) {
	rest, ok := strings.CutPrefix(skey, "PRIVATE+KEY+")
	parts := strings.SplitN(rest, "+", 3)
	if !ok || len(parts) != 3 {
		return "", errors.New("audit signing key: malformed")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 1 {
		return "", errors.New("audit signing key: not an ed25519 key")
	}
	return note.NewEd25519VerifierKey(parts[0], ed25519Public(raw[1:]))
}

func ed25519Public(seed []byte) ed25519.PublicKey {
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
}

// LoadOrCreateKeyPG is LoadOrCreateKey for deployments without a data directory: the key is generated once and
// kept in a one-row table of schema (readable only by the roles that can read the schema).
func LoadOrCreateKeyPG(ctx context.Context, pool *pgxpool.Pool, schema, name string) (note.Signer, string, error) {
	table := pgx.Identifier{schema, "audit_signing_key"}.Sanitize()
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return nil, "", fmt.Errorf("generate audit signing key: %w", err)
	}
	// Whoever inserts first wins; everyone reads the winner's key.
	if err := pgschema.Create(ctx, pool, schema, `CREATE TABLE IF NOT EXISTS `+table+` (one bool PRIMARY KEY DEFAULT true CHECK (one), skey text NOT NULL)`); err != nil {
		return nil, "", fmt.Errorf("audit signing key table: %w", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO `+table+` (skey) VALUES ($1) ON CONFLICT DO NOTHING`, skey); err != nil {
		return nil, "", fmt.Errorf("store audit signing key: %w", err)
	}
	if err := pool.QueryRow(ctx, `SELECT skey FROM `+table).Scan(&skey); err != nil {
		return nil, "", fmt.Errorf("read audit signing key: %w", err)
	}
	return ParseKey(skey)
}
