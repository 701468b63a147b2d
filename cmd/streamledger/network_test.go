package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNetworkMismatchRefusesToStart: an RPC endpoint of another network stops serve at start, naming both
// passphrases and the settings.
func TestNetworkMismatchRefusesToStart(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID,
			"result": map[string]any{"passphrase": "Public Global Stellar Network ; September 2015", "protocolVersion": 23}})
	}))
	defer srv.Close()
	env := map[string]string{"SOURCE": "rpc", "RPC_URL": srv.URL, "CONTRACT_IDS": "CA3D5KRYM6CB7OWQ6TWYRR3Z4T7GNZLKERYNZGGA5SOAOPIFY6YQGAXE",
		"DATA_DIR": t.TempDir(), "LISTEN_ADDR": "127.0.0.1:0"}
	code, _, stderr := runCLI([]string{"serve"}, env)
	if code != exitUsage || !strings.Contains(stderr, "Public Global Stellar Network") || !strings.Contains(stderr, "Test SDF Network") ||
		!strings.Contains(stderr, "NETWORK_PASSPHRASE") || !strings.Contains(stderr, "RPC_URL") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
