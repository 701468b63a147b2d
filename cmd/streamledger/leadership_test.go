package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamledger/streamledger/internal/pgtest"
)

type roleHealth struct {
	Role    string `json:"role"`
	Status  string `json:"status"`
	Indexer struct {
		Status    string `json:"status"`
		TipLedger uint32 `json:"tipLedger"`
	} `json:"indexer"`
	Projections []struct {
		Name     string `json:"name"`
		Position uint64 `json:"position"`
	} `json:"projections"`
}

func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(raw)
}

// allProjected: /health reports every projection, each past the start of the log.
func allProjected(h roleHealth) bool {
	if len(h.Projections) != len(projectionNames) {
		return false
	}
	for _, p := range h.Projections {
		if p.Position == 0 {
			return false
		}
	}
	return true
}

func healthOf(t *testing.T, base string) roleHealth {
	t.Helper()
	var h roleHealth
	getJSON(t, base+"/health", 200, &h)
	return h
}

func waitHealth(t *testing.T, base, what string, ok func(roleHealth) bool) roleHealth {
	t.Helper()
	var h roleHealth
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if h = healthOf(t, base); ok(h) {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never came: %+v", what, h)
		}
	}
}

// TestServesShareOneDatabase: two serves on one PostgreSQL database, as during a rolling deploy. One leads (it
// ingests and projects); the other stands by, serving reads and reporting the chain and the projections the leader
// stores. When the leader stops, the standby takes over and goes on from where the leader was; neither logs a
// failure, and a replay afterwards finds every projection equal to what they projected live.
func TestServesShareOneDatabase(t *testing.T) {
	env := map[string]string{"STORE": "postgres", "DATABASE_URL": pgtest.Database(t, pgtest.URL(t)), "LISTEN_ADDR": "127.0.0.1:0",
		"SIM_LEDGER_INTERVAL": "50ms", "SIM_STREAMS": "5", "SIM_REORG_EVERY": "7", "SAFETY_MARGIN": "2", "SIM_REORG_DEPTH": "2"}
	first, stopFirst := startServe(t, env)
	waitHealth(t, first, "the first serve leading", func(h roleHealth) bool { return h.Role == "leader" && h.Indexer.TipLedger > 5 })
	second, stopSecond := startServe(t, env)
	h := healthOf(t, second)
	tip := h.Indexer.TipLedger
	if h.Role != "standby" {
		t.Fatalf("the second serve: %+v", h)
	}
	waitHealth(t, second, "the standby following the stored chain and the leader's projections", func(h roleHealth) bool {
		return h.Role == "standby" && h.Status == "ok" && h.Indexer.Status == "healthy" && h.Indexer.TipLedger > tip &&
			allProjected(h)
	})
	var stream json.RawMessage
	getJSON(t, second+"/api/streams/1", 200, &stream) // reads are served by the standby
	for base, want := range map[string]string{first: "streamledger_leader 1\n", second: "streamledger_leader 0\n"} {
		if metrics := getText(t, base+"/metrics"); !strings.Contains(metrics, want) {
			t.Fatalf("%s/metrics lacks %q", base, want)
		}
	}

	code, firstLogs := stopFirst()
	if code != exitOK {
		t.Fatalf("the first serve: exit %d: %s", code, firstLogs)
	}
	tip = healthOf(t, second).Indexer.TipLedger
	waitHealth(t, second, "the standby taking over", func(h roleHealth) bool {
		return h.Role == "leader" && h.Indexer.TipLedger >= tip+10 && allProjected(h)
	})
	code, secondLogs := stopSecond()
	if code != exitOK {
		t.Fatalf("the second serve: exit %d: %s", code, secondLogs)
	}
	for name, logs := range map[string]string{"first": firstLogs, "second": secondLogs} {
		for _, line := range strings.Split(logs, "\n") {
			if (strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`)) &&
				!strings.Contains(line, `"msg":"chain reorganised"`) {
				t.Fatalf("the %s serve logged: %s", name, line)
			}
		}
	}
	if !strings.Contains(secondLogs, `"msg":"leading: this process ingests and projects"`) {
		t.Fatalf("the second serve never led: %s", secondLogs)
	}
	replayMatchesLive(t, env)
}

// TestRewindRefusesBesideAServe: on PostgreSQL, rewind takes the serves' leadership for its run, so it refuses
// while a serve runs (its ingester would go on from a chain the rewind is changing) and proceeds once none does.
func TestRewindRefusesBesideAServe(t *testing.T) {
	env := map[string]string{"STORE": "postgres", "DATABASE_URL": pgtest.Database(t, pgtest.URL(t)), "LISTEN_ADDR": "127.0.0.1:0",
		"SIM_LEDGERS": "20", "SIM_LEDGER_INTERVAL": "0s", "SIM_STREAMS": "5", "SIM_REORGS": "false"}
	base, stop := startServe(t, env)
	waitHealth(t, base, "the serve leading at the last ledger", func(h roleHealth) bool { return h.Role == "leader" && h.Indexer.TipLedger == 20 })
	rewind := []string{"rewind", "--to", "15", "--operator", "ops", "--reason", "test", "--confirm"}
	if code, _, stderr := runCLI(rewind, env); code == exitOK || !strings.Contains(stderr, "stop every serve") {
		t.Fatalf("rewind beside a serve: exit %d: %s", code, stderr)
	}
	if code, logs := stop(); code != exitOK {
		t.Fatalf("serve: exit %d: %s", code, logs)
	}
	if code, stdout, stderr := runCLI(rewind, env); code != exitOK || !strings.Contains(stdout, "to 15") {
		t.Fatalf("rewind with no serve: exit %d: %s %s", code, stdout, stderr)
	}
}
