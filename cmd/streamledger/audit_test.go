package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/projections/audit"
)

// An auditor exports the audit log with the CLI and verifies the file; a changed amount, a deleted row and a
// checkpoint signed by another key are each caught, with exit status 1 and the row named.
func TestAuditExportAndVerifyCommands(t *testing.T) {
	for _, store := range []string{"embedded", "postgres"} {
		t.Run(store, func(t *testing.T) {
			d := newDeployment(t, store)
			env := d.simEnv(40, true)
			base, stop := startServe(t, env)
			waitForTip(t, base, 40)
			if code, logs := stop(); code != exitOK {
				t.Fatalf("serve: exit %d: %s", code, logs)
			}
			out := filepath.Join(t.TempDir(), "audit.csv")
			code, stdout, stderr := runCLI([]string{"audit", "export", "--out", out, "--from", "5"}, env)
			if code != exitOK || !strings.Contains(stdout, "exported") {
				t.Fatalf("export: exit %d: %s %s", code, stdout, stderr)
			}
			var key struct {
				VerifierKey string `json:"verifierKey"`
			}
			raw, err := os.ReadFile(out + ".manifest.json")
			if err != nil || json.Unmarshal(raw, &key) != nil {
				t.Fatalf("manifest: %v", err)
			}
			code, stdout, stderr = runCLI([]string{"audit", "verify", out, "--key", key.VerifierKey}, nil)
			if code != exitOK || !strings.HasPrefix(stdout, "OK: ") {
				t.Fatalf("verify: exit %d: %s %s", code, stdout, stderr)
			}
			// With a tlog-proof in every row, which verify checks too.
			proven := filepath.Join(t.TempDir(), "audit.jsonl")
			if code, stdout, stderr := runCLI([]string{"audit", "export", "--out", proven, "--format", "jsonl", "--proofs"}, env); code != exitOK {
				t.Fatalf("export with proofs: exit %d: %s %s", code, stdout, stderr)
			}
			if !strings.Contains(string(mustRead(t, proven)), `"tlogProof":"c2sp.org/tlog-proof@v1\nindex `) {
				t.Fatal("the rows carry no tlog-proof")
			}
			if code, stdout, stderr := runCLI([]string{"audit", "verify", proven, "--key", key.VerifierKey}, nil); code != exitOK {
				t.Fatalf("verify with proofs: exit %d: %s %s", code, stdout, stderr)
			}

			file, _ := os.ReadFile(out)
			lines := strings.SplitAfter(string(file), "\r\n")
			amount := regexp.MustCompile(`,(\d+)\.(\d{7}),`)
			changed := ""
			for i, l := range lines {
				if loc := amount.FindStringSubmatchIndex(l); i > 0 && loc != nil && changed == "" {
					digit := l[loc[5]-1]
					bumped := string('0' + (digit-'0'+1)%10)
					lines[i] = l[:loc[5]-1] + bumped + l[loc[5]:]
					changed = lines[i]
				}
			}
			tampered := filepath.Join(t.TempDir(), "tampered.csv")
			os.WriteFile(tampered, []byte(strings.Join(lines, "")), 0o644)
			expectFailure(t, []string{"audit", "verify", tampered, "--manifest", out + ".manifest.json", "--key", key.VerifierKey}, "altered")

			rows := strings.SplitAfter(string(file), "\r\n")
			deleted := filepath.Join(t.TempDir(), "deleted.csv")
			os.WriteFile(deleted, []byte(strings.Join(append(rows[:3:3], rows[4:]...), "")), 0o644)
			expectFailure(t, []string{"audit", "verify", deleted, "--manifest", out + ".manifest.json", "--key", key.VerifierKey}, "missing")

			var m audit.Manifest
			json.Unmarshal(raw, &m)
			skey, vkey, _ := note.GenerateKey(nil, "streamledger")
			signer, _ := note.NewSigner(skey)
			c, _ := audit.OpenCheckpoint([]byte(m.Checkpoint), key.VerifierKey)
			forged, _ := c.Sign(signer)
			m.Checkpoint, m.VerifierKey = string(forged), vkey
			forgedManifest := filepath.Join(t.TempDir(), "forged.json")
			raw, _ = json.Marshal(m)
			os.WriteFile(forgedManifest, raw, 0o644)
			expectFailure(t, []string{"audit", "verify", out, "--manifest", forgedManifest, "--key", key.VerifierKey}, "not signed by the log's key")

			// Against a checkpoint the auditor fetched separately: the right one passes, another tree's fails.
			cp := filepath.Join(t.TempDir(), "checkpoint.txt")
			var genuine audit.Manifest
			json.Unmarshal(mustRead(t, out+".manifest.json"), &genuine)
			os.WriteFile(cp, []byte(genuine.Checkpoint), 0o644)
			if code, stdout, _ := runCLI([]string{"audit", "verify", out, "--checkpoint", cp, "--key", key.VerifierKey}, nil); code != exitOK {
				t.Fatalf("with a separate checkpoint: %d %s", code, stdout)
			}
			signerOf, _, err := audit.ParseKey(mustAuditKey(t, env))
			if err != nil {
				t.Fatal(err)
			}
			older, _ := audit.Checkpoint{Origin: audit.Origin, Size: c.Size - 1, Root: c.Root}.Sign(signerOf)
			os.WriteFile(cp, older, 0o644)
			expectFailure(t, []string{"audit", "verify", out, "--checkpoint", cp, "--key", key.VerifierKey}, "is not the signed checkpoint's")
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// mustAuditKey is the audit signing key serve kept for env (the data directory's file, or the database's).
func mustAuditKey(t *testing.T, env map[string]string) string {
	t.Helper()
	if env["STORE"] == "postgres" {
		var skey string
		conn := pgtest.Pool(t, env["DATABASE_URL"])
		if err := conn.QueryRow(context.Background(), `SELECT skey FROM streamledger.audit_signing_key`).Scan(&skey); err != nil {
			t.Fatal(err)
		}
		return skey
	}
	return strings.TrimSpace(string(mustRead(t, filepath.Join(env["DATA_DIR"], audit.KeyFile))))
}

func expectFailure(t *testing.T, args []string, want string) {
	t.Helper()
	code, stdout, stderr := runCLI(args, nil)
	if code != exitFailed || !strings.HasPrefix(stdout, "FAILED: ") || !strings.Contains(stdout, want) {
		t.Fatalf("%v: exit %d: %s %s, want a failure saying %q", args, code, stdout, stderr, want)
	}
}

func TestAuditCommandsRefuseBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "export"}, "--out"},
		{[]string{"audit", "export", "--out", "x", "--format", "xml"}, "--format"},
		{[]string{"audit", "export", "--out", "x", "--stream-id", "7"}, "--stream-id"},
		{[]string{"audit", "export", "--out", "x", "--from", "yesterday"}, "--from"},
		{[]string{"audit", "verify"}, "one FILE"},
		{[]string{"audit", "verify", "nope.csv"}, "manifest"},
	} {
		code, _, stderr := runCLI(c.args, map[string]string{"DATA_DIR": t.TempDir()})
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d: %s, want a usage error naming %s", c.args, code, stderr, c.want)
		}
	}
}
