// Package fscktest runs Tessera's fsck, a C2SP tlog-tiles client we did not write, against a log the tests serve.
package fscktest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Path finds fsck (go install github.com/transparency-dev/tessera/cmd/fsck@v1.0.4; .ci/run does). Without it the
// test is skipped, and under CI=true it fails.
func Path(tb testing.TB) string {
	tb.Helper()
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "fsck")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("Tessera's fsck is missing (%s)", p)
		}
		tb.Skipf("Tessera's fsck is missing: go install github.com/transparency-dev/tessera/cmd/fsck@v1.0.4")
	}
	return p
}

// Run checks the tlog-tiles log at url (its prefix, ending in /) with the verifier key vkey, the origin and a bearer
// token. fsck v1.0.4 exits 0 whatever it finds, so it is judged by its log: it must say it checked the log at size
// successfully, with no "fsck failed", and report its completed ranges. out is its log.
func Run(tb testing.TB, url, vkey, origin, token string, size int64) (ok bool, out string) {
	tb.Helper()
	key := filepath.Join(tb.TempDir(), "log.vkey")
	if err := os.WriteFile(key, []byte(vkey), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(Path(tb), "--storage_url="+url, "--public_key="+key, "--origin="+origin, "--bearer_token="+token,
		"--ui=false", "-v=1", "--N=4")
	raw, err := cmd.CombinedOutput()
	out = string(raw)
	if err != nil {
		tb.Fatalf("fsck: %v\n%s", err, out)
	}
	ok = strings.Contains(out, fmt.Sprintf("Successfully fsck'd log with size %d ", size)) && strings.Contains(out, "Completed ranges") &&
		!strings.Contains(out, "fsck failed")
	return ok, out
}
