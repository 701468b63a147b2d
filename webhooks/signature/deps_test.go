package signature

import (
	"os/exec"
	"strings"
	"testing"
)

// A consumer that verifies our webhooks imports this package and nothing heavy: its dependencies are the standard
// library's (go list is the oracle).
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if deps := strings.Fields(string(out)); len(deps) != 1 || deps[0] != "github.com/streamledger/streamledger/webhooks/signature" {
		t.Fatalf("imports beyond the standard library: %v", deps)
	}
}
