package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/bolt"
	"github.com/streamledger/streamledger/eventstore/postgres"
	"github.com/streamledger/streamledger/internal/config"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/projections/outbox"
	"github.com/streamledger/streamledger/webhooks/webhookstest"
)

// receivedEvents are the ids of the events a receiver was sent, sorted.
func receivedEvents(r *webhookstest.Receiver) []string {
	var out []string
	for _, p := range r.Payloads() {
		out = append(out, p.Data.EventID)
	}
	slices.Sort(out)
	return out
}

const webhookKey = "e2e-webhooks-key-0123456789"

// deployment is where a test's serve keeps its data: a data directory, and a database with STORE=postgres.
type deployment struct {
	dir, databaseURL string
}

func newDeployment(t *testing.T, store string) deployment {
	d := deployment{dir: t.TempDir()}
	if store == "postgres" {
		d.databaseURL = pgtest.Database(t, pgtest.URL(t))
	}
	return d
}

// simEnv is a short simulated network; reorgs every 7 ledgers, within the margin.
func (d deployment) simEnv(ledgers int, reorgs bool) map[string]string {
	env := map[string]string{"DATA_DIR": d.dir, "LISTEN_ADDR": "127.0.0.1:0", "SIM_LEDGERS": strconv.Itoa(ledgers),
		"SIM_LEDGER_INTERVAL": "0s", "SIM_STREAMS": "6", "SIM_REORGS": strconv.FormatBool(reorgs), "SIM_REORG_EVERY": "7",
		"SAFETY_MARGIN": "2", "SIM_REORG_DEPTH": "2", "WEBHOOK_ALLOW_PRIVATE": "true",
		"API_KEYS": `[{"key":"` + webhookKey + `","clientId":"ops","scopes":["webhooks:admin"]}]`}
	if d.databaseURL != "" {
		env["STORE"], env["DATABASE_URL"] = "postgres", d.databaseURL
	}
	return env
}

// finalEvents are the events of a stopped embedded store that a webhook receiver of every type must get: the final
// ones that were not reverted.
func (d deployment) finalEvents(t *testing.T) []string {
	t.Helper()
	var store eventstore.Store
	var err error
	if d.databaseURL != "" {
		store, err = postgres.Open(context.Background(), d.databaseURL, postgres.Config{})
	} else {
		store, err = bolt.Open(filepath.Join(d.dir, "events.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var out []string
	codec, err := codecOf(&config.Config{}) // every module of the build: the simulated network has escrows too
	if err != nil {
		t.Fatal(err)
	}
	err = outbox.Matching(context.Background(), store, codec, 2, outbox.Endpoint{ID: "all"}, 0, func(m outbox.Message) error {
		out = append(out, m.EventID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// End to end: a consumer registers an endpoint with serve, the simulated network reorganises as it goes, and the
// consumer receives exactly the final events of the canonical chain — those a clean run of the same network without
// its abandoned branches makes final — each once, every one verified by signature.Verify.
func TestServeDeliversFinalCanonicalEventsToAConsumer(t *testing.T) {
	for _, store := range []string{"embedded", "postgres"} {
		t.Run(store, func(t *testing.T) { deliversFinalCanonicalEvents(t, store) })
	}
}

func deliversFinalCanonicalEvents(t *testing.T, store string) {
	const ledgers = 80
	clean := newDeployment(t, store)
	base, stop := startServe(t, clean.simEnv(ledgers, false))
	waitForTip(t, base, ledgers)
	if code, logs := stop(); code != exitOK {
		t.Fatalf("clean run: exit %d: %s", code, logs)
	}
	want := clean.finalEvents(t)
	if len(want) < 50 {
		t.Fatalf("the clean run made only %d events final", len(want))
	}

	receiver := webhookstest.NewReceiver()
	defer receiver.Close()
	d := newDeployment(t, store)
	// The endpoint is registered while the network has produced its first ledger only, none of it final yet.
	base, stop = startServe(t, d.simEnv(2, true))
	req, _ := http.NewRequest("POST", base+"/api/webhooks/endpoints",
		strings.NewReader(`{"url":"`+receiver.URL()+`/hooks","description":"treasury payouts"}`))
	req.Header.Set("Authorization", "Bearer "+webhookKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Data struct {
			ID     string `json:"id"`
			Secret string `json:"secret"`
		} `json:"data"`
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(raw, &created); err != nil || resp.StatusCode != 201 {
		t.Fatalf("register: %d %s", resp.StatusCode, raw)
	}
	receiver.SetSecret(created.Data.Secret)
	if code, logs := stop(); code != exitOK {
		t.Fatalf("registration run: exit %d: %s", code, logs)
	}

	base, stop = startServe(t, d.simEnv(ledgers, true))
	waitForTip(t, base, ledgers)
	for deadline := time.Now().Add(30 * time.Second); len(receivedEvents(receiver)) < len(want); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the consumer received %d of %d events", len(receivedEvents(receiver)), len(want))
		}
	}
	time.Sleep(500 * time.Millisecond) // anything extra would arrive now
	code, logs := stop()
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, logs)
	}
	reorgs := regexp.MustCompile(`"msg":"ingestion stopped".*"reorgs":(\d+)`).FindStringSubmatch(logs)
	if reorgs == nil || reorgs[1] == "0" {
		t.Fatalf("the network did not reorganise: %v", reorgs)
	}
	if got := receivedEvents(receiver); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the consumer received %d events, want the %d final canonical ones", len(got), len(want))
	}
	if n := receiver.Refused(); n != 0 {
		t.Fatalf("%d deliveries failed verification", n)
	}
	if off := receiver.OffSchema(); len(off) != 0 {
		t.Fatalf("%d deliveries are off the OpenAPI webhook schema: %s", len(off), off[0])
	}
	if repeated := receiver.Repeated(); len(repeated) != 0 {
		t.Fatalf("deliveries arrived more than once: %v", repeated)
	}
}
