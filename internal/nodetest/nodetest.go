// Package nodetest runs the tests' JavaScript oracles: npm packages that are not ours (@stellar/stellar-base,
// standardwebhooks), installed with npm ci in a testdata directory (.ci/run does it) and run by node.
package nodetest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Run runs script in dir with node, stdin as its input, and returns its output. pkg is the npm package the script
// needs: without node or the package the test is skipped, and under CI=true it fails.
func Run(tb testing.TB, dir, pkg, script string, stdin []byte) []byte {
	tb.Helper()
	missing := func(why string) {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("the %s oracle is missing: %s", pkg, why)
		}
		tb.Skipf("the %s oracle is missing: %s (npm ci in %s)", pkg, why, dir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("no node")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(pkg), "package.json")); err != nil {
		missing("the package is not installed")
	}
	cmd := exec.Command(node, script)
	cmd.Dir, cmd.Stdin = dir, bytes.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("node %s: %v", script, err)
	}
	return out
}
