package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serve reconciles the simulator's stream contract and escrows every RECONCILE_EVERY while it leads, the escrows discovered from their
// executable as they are created: the runs are listed to an admin, each at a ledger of the chain, and on the
// simulator's clean storage they find no drift.
func TestServeReconcilesTheSimulatedEscrows(t *testing.T) {
	const key = "ops-key-0123456789abcdef"
	d := newDeployment(t, "embedded")
	env := d.simEnv(0, false)
	env["SIM_LEDGER_INTERVAL"], env["RECONCILE_EVERY"], env["SIM_ESCROWS"] = "100ms", "1s", "4"
	env["API_KEYS"] = `[{"key":"` + key + `","clientId":"ops","scopes":["admin"]}]`
	base, stop := startServe(t, env)
	defer stop()
	var runs struct {
		Data []struct {
			Ledger    uint32   `json:"ledger"`
			Contracts int      `json:"contracts"`
			Drifts    int      `json:"drifts"`
			Errors    []string `json:"errors"`
		} `json:"data"`
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequest("GET", base+"/api/admin/reconciliation/runs", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&runs)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("runs: %d %v", resp.StatusCode, err)
		}
		// The escrows are discovered as the simulator creates them: runs cover more of them as time goes, beside
		// the stream contract.
		if len(runs.Data) > 0 && runs.Data[0].Contracts == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reconciliation run of the stream contract and the 4 escrows in 20 s: %+v", runs.Data)
		}
	}
	// The metrics are exported.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"streamledger_reconcile_runs_total", "streamledger_reconcile_last_run_timestamp_seconds",
		"streamledger_reconcile_drift_magnitude"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// The storage is read at the simulator's tip and compared once the log holds that ledger: they agree, every run.
	for _, r := range runs.Data {
		if r.Ledger == 0 || len(r.Errors) > 0 || r.Drifts != 0 {
			t.Fatalf("run: %+v", r)
		}
	}
}

// reconcile needs the storage's RPC and contracts with a hook, and says which setting is missing.
func TestReconcileCommandNamesWhatIsMissing(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"DATA_DIR": t.TempDir()}, "RPC_URL"},
		{map[string]string{"DATA_DIR": t.TempDir(), "RPC_URL": "http://127.0.0.1:1"}, "CONTRACTS"},
		{map[string]string{"DATA_DIR": t.TempDir(), "RPC_URL": "http://127.0.0.1:1",
			"CONTRACTS": "fluxora-factory:CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP"}, "reconciliation hook"},
	} {
		if code, _, stderr := runCLI([]string{"reconcile"}, c.env); code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %s", c.env, code, stderr)
		}
	}
}

// Without a storage to read, reconciliation left at its default is off (said in the log) and serve starts; asked
// for explicitly, it refuses to start, naming the settings.
func TestReconciliationNeedsStorageOnlyWhenAskedFor(t *testing.T) {
	const contract = "CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP"
	env := map[string]string{"DATA_DIR": t.TempDir(), "SOURCE": "push", "CONTRACTS": "fluxora:" + contract,
		"LISTEN_ADDR": "127.0.0.1:0"}
	_, stop := startServe(t, env)
	if code, logs := stop(); code != exitOK || !strings.Contains(logs, "reconciliation is off") {
		t.Fatalf("default: exit %d: %.2000s", code, logs)
	}
	env["RECONCILE_EVERY"] = "1h"
	env["DATA_DIR"] = t.TempDir()
	if code, _, stderr := runCLI([]string{"serve"}, env); code != exitUsage || !strings.Contains(stderr, "RECONCILE_EVERY") ||
		!strings.Contains(stderr, "RPC_URL") {
		t.Fatalf("asked for: exit %d: %s", code, stderr)
	}
}
