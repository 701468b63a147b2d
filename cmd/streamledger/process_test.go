package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamledger/streamledger/internal/syncbuf"
)

// TestServeAsAProcess builds the binary, starts `streamledger serve` with the defaults (embedded store, simulator
// at one ledger a second) on an ephemeral port, waits for /health, reads streams the simulator produced, and stops
// it with SIGTERM: exit status 0.
func TestServeAsAProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "streamledger")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = append(cmd.Environ(), "LISTEN_ADDR=127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := make(chan string, 1)
	logs := &syncbuf.Buffer{}
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`"msg":"serving HTTP","addr":"([^"]+)"`)
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- "http://" + m[1]
			}
		}
	}()
	var base string
	select {
	case base = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start: %s", logs.String())
	}
	var health struct {
		Status  string `json:"status"`
		Indexer struct {
			Status    string `json:"status"`
			TipLedger uint32 `json:"tipLedger"`
			LagMs     int64  `json:"lagMs"`
		} `json:"indexer"`
	}
	for deadline := time.Now().Add(30 * time.Second); health.Status != "ok" || health.Indexer.TipLedger < 4; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never healthy: %+v\n%s", health, logs.String())
		}
		getJSON(t, base+"/health", 200, &health)
	}
	// Paced by the clock, the simulated chain's close times follow it: the lag is a few seconds, not months.
	if health.Indexer.LagMs < 0 || health.Indexer.LagMs > 10_000 {
		t.Fatalf("lag %d ms", health.Indexer.LagMs)
	}
	var streams struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	getJSON(t, base+"/api/streams", 200, &streams)
	if len(streams.Data) == 0 {
		t.Fatalf("no stream after %d ledgers", health.Indexer.TipLedger)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if !strings.Contains(logs.String(), `"msg":"stopping"`) {
		t.Fatalf("no stopping log: %s", logs.String())
	}
}
