package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const contract = "CA3D5KRYM6CB7OWQ6TWYRR3Z4T7GNZLKERYNZGGA5SOAOPIFY6YQGAXE"

func load(t *testing.T, args []string, env map[string]string) (*Config, *Settings, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := Register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, s, err
	}
	cfg, err := s.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return cfg, s, err
}

func TestDefaults(t *testing.T) {
	cfg, _, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddr != ":3000" || cfg.Store != StoreEmbedded || cfg.DataDir != "./data" || cfg.Source != SourceSim ||
		cfg.SafetyMargin != 1 || cfg.SimSeed != 1 || cfg.SimStreams != 50 || cfg.SimEscrows != 10 || cfg.SimLedgers != 0 ||
		cfg.SimLedgerInterval != time.Second || !cfg.SimReorgs || cfg.SimReorgEvery != 25 || cfg.SimReorgDepth != 1 ||
		!cfg.PublicReads || cfg.NetworkPassphrase != TestnetPassphrase || cfg.LogLevel != slog.LevelInfo {
		t.Fatalf("defaults %+v", cfg)
	}
}

func TestEnvironmentAndFlagPrecedence(t *testing.T) {
	cfg, _, err := load(t, []string{"--safety-margin", "4"}, map[string]string{
		"SAFETY_MARGIN": "9", "STORE": "postgres", "DATABASE_URL": "postgres://u:p@h/db", "SIM_REORGS": "false",
		"CONTRACT_IDS": contract + ", " + contract, "LOG_LEVEL": "debug", "SIM_LEDGER_INTERVAL": "250ms",
		"API_KEYS": `[{"key":"0123456789abcdef","clientId":"ops","scopes":["admin","audit:read"]}]`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SafetyMargin != 4 {
		t.Errorf("the flag must win over the environment: %d", cfg.SafetyMargin)
	}
	if cfg.SimReorgDepth != 4 {
		t.Errorf("reorg depth defaults to the margin: %d", cfg.SimReorgDepth)
	}
	// A contract listed twice is followed once.
	if cfg.Store != StorePostgres || cfg.SimReorgs || len(cfg.ContractIDs) != 1 || cfg.LogLevel != slog.LevelDebug ||
		cfg.SimLedgerInterval != 250*time.Millisecond || len(cfg.APIKeys) != 1 || cfg.APIKeys[0].ClientID != "ops" {
		t.Errorf("config %+v", cfg)
	}
}

func TestInvalidSettingsAreNamed(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"STORE": "mysql"}, []string{"--store / STORE", `"mysql"`}},
		{map[string]string{"STORE": "postgres"}, []string{"--database-url / DATABASE_URL", "required"}},
		{map[string]string{"STORE": "esdb"}, []string{"EVENTSTORE_URL", "DATABASE_URL"}},
		{map[string]string{"STORE": "esdb", "EVENTSTORE_URL": "http://x", "DATABASE_URL": "mysql://secret@x"}, []string{"esdb://", "(redacted)"}},
		{map[string]string{"SOURCE": "rpc"}, []string{"RPC_URL", "CONTRACT_IDS"}},
		{map[string]string{"SOURCE": "rpc", "RPC_URL": "ftp://x", "CONTRACT_IDS": contract}, []string{"RPC_URL", "http"}},
		{map[string]string{"SOURCE": "carrier-pigeon"}, []string{"--source / SOURCE"}},
		{map[string]string{"CONTRACT_IDS": "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"}, []string{"CONTRACT_IDS", "wrong kind"}},
		{map[string]string{"SAFETY_MARGIN": "-1"}, []string{"--safety-margin / SAFETY_MARGIN", "whole number"}},
		{map[string]string{"WS_ORIGINS": "console.example.com"}, []string{"--ws-origins / WS_ORIGINS", "https://"}},
		{map[string]string{"SIM_STREAMS": "0"}, []string{"SIM_STREAMS"}},
		{map[string]string{"SIM_ESCROWS": "-1"}, []string{"--sim-escrows / SIM_ESCROWS"}},
		{map[string]string{"TOKEN_DECIMALS": "CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP:99"}, []string{"--token-decimals / TOKEN_DECIMALS"}},
		{map[string]string{"SIM_STREAMS": "many"}, []string{"SIM_STREAMS"}},
		{map[string]string{"SIM_LEDGER_INTERVAL": "-1s"}, []string{"SIM_LEDGER_INTERVAL"}},
		{map[string]string{"SIM_REORG_EVERY": "0"}, []string{"SIM_REORG_EVERY"}},
		{map[string]string{"SIM_REORG_DEPTH": "99999999999"}, []string{"SIM_REORG_DEPTH"}},
		{map[string]string{"SIM_REORGS": "maybe"}, []string{"SIM_REORGS"}},
		{map[string]string{"NETWORK_PASSPHRASE": ""}, []string{"NETWORK_PASSPHRASE"}},
		{map[string]string{"DATA_DIR": ""}, []string{"DATA_DIR"}},
		{map[string]string{"API_KEYS": "[{"}, []string{"API_KEYS", "(redacted)"}},
		{map[string]string{"API_KEYS": `[{"key":"short","clientId":"a"}]`}, []string{"API_KEYS", "16 characters"}},
		{map[string]string{"API_KEYS": `[{"key":"0123456789abcdef","clientId":"a","scopes":["root"]}]`}, []string{"API_KEYS", `"root"`}},
		{map[string]string{"LOG_LEVEL": "loud"}, []string{"LOG_LEVEL"}},
		{map[string]string{"SOURCE": "push"}, []string{"--contract-ids / CONTRACT_IDS", "--source push"}},
		{map[string]string{"SOURCE": "lake"}, []string{"--lake-url / LAKE_URL", "CONTRACT_IDS"}},
		{map[string]string{"SOURCE": "lake", "LAKE_URL": "ftp://x", "CONTRACT_IDS": contract}, []string{"LAKE_URL", "file:///dir"}},
		{map[string]string{"SOURCE": "lake", "LAKE_URL": "file:///x", "CONTRACT_IDS": contract, "RPC_URL": "ws://x"}, []string{"RPC_URL"}},
		{map[string]string{"SOURCE": "lake", "LAKE_URL": "file:///x", "CONTRACT_IDS": contract, "START_LEDGER": "9", "END_LEDGER": "8"}, []string{"END_LEDGER", "START_LEDGER"}},
		{map[string]string{"END_LEDGER": "8"}, []string{"--end-ledger / END_LEDGER", "only with --source lake"}},
		{map[string]string{"RATE_LIMIT": "-1"}, []string{"--rate-limit / RATE_LIMIT"}},
		{map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, proxy.example.com"}, []string{"--trusted-proxies / TRUSTED_PROXIES", "proxy.example.com"}},
		{map[string]string{"CONTRACTS": contract}, []string{"--contracts / CONTRACTS", "module:C…"}},
		{map[string]string{"CONTRACTS": "liquifact:wasm:" + strings.Repeat("ab", 31)}, []string{"--contracts / CONTRACTS", "64 hex digits"}},
		{map[string]string{"CONTRACTS": "fluxora:wasm:" + strings.Repeat("ab", 32)}, []string{"--contracts / CONTRACTS", "not by WASM hash"}},
		{map[string]string{"CONTRACTS": "streams:" + contract}, []string{"--contracts / CONTRACTS", `unknown module "streams"`}},
		{map[string]string{"CONTRACTS": "fluxora:GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"}, []string{"--contracts / CONTRACTS", "wrong kind"}},
	}
	for _, tt := range tests {
		_, _, err := load(t, nil, tt.env)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: error %v is not ErrInvalid", tt.env, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not mention %q", tt.env, err, w)
			}
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "0123456789abcdef") {
			t.Errorf("%v: error leaks a secret: %v", tt.env, err)
		}
	}
}

// CONTRACTS maps contracts to modules (DESIGN §12); fluxora's join CONTRACT_IDS, which keeps meaning Fluxora, and
// satisfy a real source's need for contracts.
func TestContractsMapToModules(t *testing.T) {
	const other = "CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP"
	cfg, _, err := load(t, nil, map[string]string{"SOURCE": "push", "CONTRACTS": " fluxora:" + other + ", fluxora:" + contract,
		"CONTRACT_IDS": contract})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cfg.ContractIDs) != fmt.Sprint([]string{contract, other}) {
		t.Fatalf("contracts %v", cfg.ContractIDs)
	}
}

// The factory and governance contracts have modules of their own; they are followed, not stream contracts, and a
// contract bound to two modules is refused, naming both.
func TestFactoryAndGovernanceContracts(t *testing.T) {
	const factory, governance = "CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP", "CAOPNR76354QDB5YXT3H6F5FDO6KHLUCIDUJB6LW322BD7JFMBRB6GER"
	cfg, _, err := load(t, nil, map[string]string{"SOURCE": "push", "CONTRACTS": "fluxora-factory:" + factory +
		",fluxora-governance:" + governance + ",fluxora:" + contract})
	if err != nil {
		t.Fatal(err)
	}
	want := []Contract{{Module: ModuleFluxoraFactory, ID: factory}, {Module: ModuleFluxoraGovernance, ID: governance},
		{Module: ModuleFluxora, ID: contract}}
	if fmt.Sprint(cfg.Contracts) != fmt.Sprint(want) || fmt.Sprint(cfg.ContractIDs) != fmt.Sprint([]string{contract}) {
		t.Fatalf("contracts %v, stream contracts %v", cfg.Contracts, cfg.ContractIDs)
	}
	// An executable binds every instance created from it.
	wasm := strings.Repeat("Ab", 32)
	cfg, _, err = load(t, nil, map[string]string{"SOURCE": "push", "CONTRACTS": "liquifact:wasm:" + wasm})
	if err != nil || len(cfg.Contracts) != 1 || cfg.Contracts[0].WasmHash != strings.ToLower(wasm) || cfg.Contracts[0].ID != "" {
		t.Fatalf("liquifact:wasm: %+v %v", cfg.Contracts, err)
	}
	// A factory alone satisfies a real source: something is followed.
	if _, _, err := load(t, nil, map[string]string{"SOURCE": "push", "CONTRACTS": "fluxora-factory:" + factory}); err != nil {
		t.Fatal(err)
	}
	_, _, err = load(t, nil, map[string]string{"SOURCE": "push", "CONTRACTS": "fluxora-factory:" + factory + ",fluxora:" + factory})
	if err == nil || !strings.Contains(err.Error(), "bound to both fluxora-factory and fluxora") {
		t.Fatalf("a contract bound twice: %v", err)
	}
}

func TestRateLimitAndTrustedProxies(t *testing.T) {
	cfg, _, err := load(t, nil, map[string]string{"RATE_LIMIT": "60", "TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,::1, 10.1.2.3/16"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RateLimit != 60 || fmt.Sprint(cfg.TrustedProxies) != "[10.0.0.0/8 192.0.2.7/32 ::1/128 10.1.0.0/16]" {
		t.Fatalf("rate limit %d, trusted proxies %v", cfg.RateLimit, cfg.TrustedProxies)
	}
	if cfg, _, _ := load(t, nil, nil); cfg.RateLimit != 1200 || cfg.TrustedProxies != nil {
		t.Fatalf("defaults: %d %v", cfg.RateLimit, cfg.TrustedProxies)
	}
}

func TestSummaryRedactsSecrets(t *testing.T) {
	_, s, err := load(t, nil, map[string]string{"DATABASE_URL": "postgres://u:hunter2@h/db", "METRICS_TOKEN": "tok", "SAFETY_MARGIN": "3"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range s.Summary() {
		got[a.Key] = a.Value.String()
	}
	if got["DATABASE_URL"] != "(redacted)" || got["METRICS_TOKEN"] != "(redacted)" || got["STORE"] != "embedded" || got["CURSOR_SECRET"] != "" ||
		got["SAFETY_MARGIN"] != "3" || got["SIM_REORG_EVERY"] != "25" {
		t.Fatalf("summary %v", got)
	}
	if len(got) < 25 {
		t.Fatalf("summary lists %d settings", len(got))
	}
}

func TestWitnessURLs(t *testing.T) {
	cfg, _, err := load(t, nil, map[string]string{"WITNESS_URLS": "https://w1.example/, http://127.0.0.1:9000", "WITNESS_EVERY": "30s"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cfg.WitnessURLs) != "[https://w1.example/ http://127.0.0.1:9000]" || cfg.WitnessEvery != 30*time.Second {
		t.Fatalf("witnesses %v every %v", cfg.WitnessURLs, cfg.WitnessEvery)
	}
	for env, want := range map[string]string{"WITNESS_URLS": "w1.example", "WITNESS_EVERY": "want at least 1s"} {
		vars := map[string]string{"WITNESS_URLS": "https://w1.example", "WITNESS_EVERY": "100ms"}
		if env == "WITNESS_URLS" {
			vars = map[string]string{"WITNESS_URLS": "w1.example"}
		}
		if _, _, err := load(t, nil, vars); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), env) {
			t.Errorf("%v: %v, want an error naming %s and saying %q", vars, err, env, want)
		}
	}
}
