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

// StellarBase is the directory of the @stellar/stellar-base oracle (its scripts build the modules' contract events),
// found from the calling test's package directory by walking up to the module root.
func StellarBase(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "internal", "nodetest", "stellar-base")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("nodetest: no go.mod above the test's directory")
		}
		dir = parent
	}
}
