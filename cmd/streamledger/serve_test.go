package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streamledger/streamledger/eventstore/esdb/esdbtest"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/syncbuf"
)

// serveUntilReady runs serve with env until it logs that the store is ready, then cancels it as SIGTERM would.
func serveUntilReady(t *testing.T, env map[string]string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	errOut := &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, &out, errOut, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	}()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(errOut.String(), "event store ready") {
		select {
		case code := <-done:
			return code, errOut.String()
		case <-deadline:
			t.Fatalf("serve did not become ready: %s", errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	select {
	case code := <-done:
		return code, errOut.String()
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after cancel")
		return 0, ""
	}
}

func TestServeEmbedded(t *testing.T) {
	dir := t.TempDir()
	code, logs := serveUntilReady(t, map[string]string{"DATA_DIR": dir, "LISTEN_ADDR": "127.0.0.1:0"})
	if code != exitOK || !strings.Contains(logs, `"store":"embedded"`) || !strings.Contains(logs, `"stopping"`) {
		t.Fatalf("exit %d: %s", code, logs)
	}
	if _, err := os.Stat(filepath.Join(dir, "events.db")); err != nil {
		t.Fatalf("embedded store file: %v", err)
	}
}

func TestServePostgresMigratesAtStart(t *testing.T) {
	url := pgtest.Database(t, pgtest.URL(t))
	code, logs := serveUntilReady(t, map[string]string{"STORE": "postgres", "DATABASE_URL": url, "LISTEN_ADDR": "127.0.0.1:0"})
	if code != exitOK || !strings.Contains(logs, `"store":"postgres"`) || strings.Contains(logs, url) {
		t.Fatalf("exit %d (the log must not contain the URL): %s", code, logs)
	}
}

// TestServeEventStoreDB runs serve with the events in EventStoreDB (the in-process server) and the read models in
// PostgreSQL, twice: the second run resumes where the first stopped. Then replay rebuilds every projection from
// the EventStoreDB log and finds it equal to what serve projected live.
func TestServeEventStoreDB(t *testing.T) {
	srv, err := esdbtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	env := map[string]string{"STORE": "esdb", "EVENTSTORE_URL": srv.URL(), "DATABASE_URL": pgtest.Database(t, pgtest.URL(t)),
		"LISTEN_ADDR": "127.0.0.1:0", "SIM_LEDGERS": "30", "SIM_LEDGER_INTERVAL": "0s", "SIM_STREAMS": "5",
		"SIM_REORG_EVERY": "7", "SAFETY_MARGIN": "2", "SIM_REORG_DEPTH": "2"}
	for run := 0; run < 2; run++ {
		code, logs := serveFor(t, env, 4*time.Second)
		if code != exitOK || !strings.Contains(logs, `"store":"esdb"`) || !strings.Contains(logs, `"msg":"ingestion stopped","status":"healthy","tip":30`) {
			t.Fatalf("run %d: exit %d: %s", run, code, logs)
		}
		if run == 1 && !strings.Contains(logs, `"reorgs":0`) {
			t.Fatalf("the second run reorganised: %s", logs)
		}
	}
	replayMatchesLive(t, env)
}

func TestServeUnreachableEventStoreDB(t *testing.T) {
	srv, err := esdbtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL()
	srv.Close()
	code, _, stderr := runCLI([]string{"serve"}, map[string]string{"STORE": "esdb", "EVENTSTORE_URL": url,
		"DATABASE_URL": pgtest.Database(t, pgtest.URL(t)), "LISTEN_ADDR": "127.0.0.1:0"})
	if code == exitOK || !strings.Contains(stderr, "eventstoredb") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// TestServeIngestsTheSimulatorAndResumes runs serve on the simulator twice over one data directory: the first
// run ingests the whole (short) chain, the second finds it stored and appends nothing.
func TestServeIngestsTheSimulatorAndResumes(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "LISTEN_ADDR": "127.0.0.1:0", "SIM_LEDGERS": "30", "SIM_LEDGER_INTERVAL": "0s", "SIM_STREAMS": "5",
		"SIM_REORG_EVERY": "7", "SAFETY_MARGIN": "2", "SIM_REORG_DEPTH": "2"}
	for run := 0; run < 2; run++ {
		code, logs := serveFor(t, env, 2*time.Second)
		if code != exitOK || !strings.Contains(logs, `"msg":"ingestion stopped","status":"healthy","tip":30`) {
			t.Fatalf("run %d: exit %d: %s", run, code, logs)
		}
		if run == 1 && !strings.Contains(logs, `"reorgs":0`) {
			t.Fatalf("the second run reorganised: %s", logs)
		}
		// The second start rebuilds the in-memory projections from what the first stored.
		if run == 1 && !regexp.MustCompile(`"msg":"projection rebuilt from the event log","projection":"streams","events":[1-9]`).MatchString(logs) {
			t.Fatalf("the second run did not rebuild the projections: %s", logs)
		}
	}
}

// serveFor runs serve with env for d, then cancels it as SIGTERM would.
func serveFor(t *testing.T, env map[string]string, d time.Duration) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out bytes.Buffer
	errOut := &syncbuf.Buffer{}
	code := run(ctx, []string{"serve"}, &out, errOut, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return code, errOut.String()
}

// startServe runs serve with env in the background until it listens, and returns its base URL and a stop that
// cancels it as SIGTERM would and returns its exit code and log.
func startServe(t *testing.T, env map[string]string) (string, func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errOut := &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, io.Discard, errOut, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	}()
	stop := func() (int, string) {
		cancel()
		select {
		case code := <-done:
			return code, errOut.String()
		case <-time.After(20 * time.Second):
			t.Fatalf("serve did not stop: %s", errOut.String())
			return 0, ""
		}
	}
	t.Cleanup(func() { cancel() })
	addr := regexp.MustCompile(`"msg":"serving HTTP","addr":"([^"]+)"`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := addr.FindStringSubmatch(errOut.String()); m != nil {
			return "http://" + m[1], stop
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before listening: %s", code, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not listen: %s", errOut.String())
		}
	}
}

// waitForTip polls /health until the indexer reaches ledger tip.
func waitForTip(t *testing.T, base string, tip uint32) {
	t.Helper()
	var health struct {
		Status  string `json:"status"`
		Indexer struct {
			Status    string `json:"status"`
			TipLedger uint32 `json:"tipLedger"`
		} `json:"indexer"`
		Projections []struct {
			LagEvents uint64 `json:"lagEvents"`
			Starting  bool   `json:"starting"`
		} `json:"projections"`
	}
	// The tip, and every projection listed and caught up: a test that stops serve then reads what the projections
	// wrote must not stop it before they ran.
	caughtUp := func() bool {
		if health.Indexer.TipLedger < tip || len(health.Projections) != len(projectionNames) {
			return false
		}
		for _, p := range health.Projections {
			if p.Starting || p.LagEvents > 0 {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(30 * time.Second); !caughtUp(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			var raw map[string]any
			getJSON(t, base+"/health", 200, &raw)
			t.Fatalf("health never reached ledger %d: %+v", tip, raw)
		}
		// Decoding into the last answer would keep what this one leaves out (an omitted "starting").
		health.Projections = nil
		getJSON(t, base+"/health", 200, &health)
	}
	if health.Status != "ok" || health.Indexer.Status != "healthy" {
		t.Fatalf("health %+v", health)
	}
}

// TestServeAnswersHTTP runs serve on the simulator and reads it over HTTP: health, then a stream the simulator
// created, then stops it as SIGTERM would.
func TestServeAnswersHTTP(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir(), "LISTEN_ADDR": "127.0.0.1:0", "SIM_LEDGERS": "40",
		"SIM_LEDGER_INTERVAL": "0s", "SIM_STREAMS": "5"}
	base, stop := startServe(t, env)
	waitForTip(t, base, 40)
	var stream struct {
		Data struct {
			ID            string `json:"id"`
			DepositAmount string `json:"depositAmount"`
		} `json:"data"`
	}
	getJSON(t, base+"/api/streams/1", 200, &stream)
	if !strings.HasSuffix(stream.Data.ID, ":1") || !strings.Contains(stream.Data.DepositAmount, ".") {
		t.Fatalf("stream 1: %+v", stream)
	}
	if code, logs := stop(); code != exitOK {
		t.Fatalf("exit %d: %s", code, logs)
	}
}

func getJSON(t *testing.T, url string, status int, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, raw)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestRewindCommand: a deep simulated reorg halts serve; `rewind` refuses without its audit fields and --confirm,
// then rewinds, and the next serve ingests to the end.
func TestRewindCommand(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "LISTEN_ADDR": "127.0.0.1:0", "SIM_LEDGERS": "30", "SIM_LEDGER_INTERVAL": "0s",
		"SIM_STREAMS": "5", "SIM_REORGS": "true", "SIM_REORG_EVERY": "1000", "SIM_DEEP_REORG_AT": "12"}
	code, logs := serveFor(t, env, 2*time.Second)
	if code != exitOK || !strings.Contains(logs, "reorg_below_safe_ledger") {
		t.Fatalf("first serve: exit %d: %s", code, logs)
	}
	run := func(args ...string) (int, string, string) { return runCLI(append([]string{"rewind"}, args...), env) }
	for _, args := range [][]string{{"--to", "9"}, {"--to", "9", "--operator", "ops", "--reason", "deep reorg"}, {"--operator", "ops", "--reason", "x", "--confirm"}} {
		if code, _, stderr := run(args...); code != exitUsage {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	code, stdout, stderr := run("--to", "9", "--operator", "ops", "--reason", "deep reorg at 12", "--confirm")
	if code != exitOK || !strings.Contains(stdout, "to 9") {
		t.Fatalf("rewind: exit %d: %s %s", code, stdout, stderr)
	}
	// The network has settled on its canonical chain. (A request-paced simulator started again would show the
	// abandoned branch again: its reorg windows depend on how far this process has asked.)
	env["SIM_REORGS"] = "false"
	code, logs = serveFor(t, env, 2*time.Second)
	if code != exitOK || !strings.Contains(logs, `"msg":"ingestion stopped","status":"healthy","tip":30`) {
		t.Fatalf("serve after the rewind: exit %d: %s", code, logs)
	}
}
