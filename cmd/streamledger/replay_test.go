package main

import (
	"strings"
	"testing"
	"time"

	"github.com/streamledger/streamledger/internal/pgtest"
)

// TestReplay serves a short simulated chain into PostgreSQL, then rebuilds every projection: each new generation
// equals the live one and is switched in; the next replay builds generation 3.
func TestReplay(t *testing.T) {
	url := pgtest.Database(t, pgtest.URL(t))
	env := map[string]string{"STORE": "postgres", "DATABASE_URL": url, "LISTEN_ADDR": "127.0.0.1:0", "SIM_LEDGERS": "40", "SIM_LEDGER_INTERVAL": "0s",
		"SIM_STREAMS": "5", "SIM_REORG_EVERY": "6", "SIM_REORG_DEPTH": "1"}
	if code, logs := serveFor(t, env, 4*time.Second); code != exitOK || !strings.Contains(logs, `"tip":40`) {
		t.Fatalf("serve: exit %d: %s", code, logs)
	}
	replayMatchesLive(t, env)
	code, stdout, stderr := runCLI([]string{"replay", "--projection", "audit"}, env)
	if code != exitOK || !strings.Contains(stdout, "audit: generation 2 → 3") {
		t.Fatalf("second replay: exit %d: %s %s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI([]string{"replay", "--projection", "nope"}, env); code != exitUsage || !strings.Contains(stderr, "--projection") {
		t.Fatalf("unknown projection: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI([]string{"replay"}, map[string]string{"DATA_DIR": t.TempDir()}); code != exitUsage || !strings.Contains(stderr, "embedded") {
		t.Fatalf("embedded store: exit %d: %s", code, stderr)
	}
}

// replayMatchesLive runs replay over what serve stored with env: every projection is rebuilt into generation 2 and
// found equal to the live one.
func replayMatchesLive(t *testing.T, env map[string]string) {
	t.Helper()
	code, stdout, stderr := runCLI([]string{"replay"}, env)
	if code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	for _, name := range projectionNames {
		if !strings.Contains(stdout, name+": generation 1 → 2") || !strings.Contains(stdout, "matches the live projection") {
			t.Fatalf("replay output: %s", stdout)
		}
	}
}
