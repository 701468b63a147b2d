// Package config reads streamledger's configuration from flags and environment variables.
//
// Every setting has a kebab-case flag and an UPPER_SNAKE environment variable (DESIGN §10); a flag given on the
// command line wins over the environment. Validation happens once, at start, and every error names the setting
// (flag and variable) so an operator can fix it without reading code. Secrets are never echoed back.
package config

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/streamledger/streamledger/domain"
)

// Setting errors.
var ErrInvalid = errors.New("invalid configuration")

// Stores and sources.
const (
	StoreEmbedded = "embedded"
	StorePostgres = "postgres"
	StoreESDB     = "esdb"

	SourceSim  = "sim"
	SourceRPC  = "rpc"
	SourcePush = "push"
	SourceLake = "lake"

	TestnetPassphrase = "Test SDF Network ; September 2015"
)

// APIKey is one entry of API_KEYS.
type APIKey struct {
	Key      string   `json:"key"`
	ClientID string   `json:"clientId"`
	Scopes   []string `json:"scopes"`
}

// Config is the whole configuration of `streamledger serve` and the commands that share its settings.
type Config struct {
	ListenAddr        string
	Store             string
	DataDir           string
	DatabaseURL       string
	EventStoreURL     string
	Source            string
	RPCURL            string
	RPCURLs           []string
	RPCMaxLag         uint32
	LakeURL           string
	EndLedger         uint32
	NetworkPassphrase string
	// Contracts are the followed contracts with their modules; ContractIDs the stream contracts (fluxora) among them.
	Contracts           []Contract
	ContractIDs         []domain.Address
	StartLedger         uint32
	SafetyMargin        uint32
	SimSeed             uint64
	SimStreams          int
	SimEscrows          int
	SimLedgers          uint32
	SimLedgerInterval   time.Duration
	SimReorgs           bool
	SimFlips            bool
	SimReorgEvery       uint32
	SimReorgDepth       uint32
	SimDeepReorgAt      uint32
	APIKeys             []APIKey
	RateLimit           int
	TrustedProxies      []netip.Prefix
	PublicReads         bool
	MetricsToken        string
	WSAuthRequired      bool
	WSOrigins           []string
	WebhookAllowPrivate bool
	CursorSecret        string
	AuditSigningKey     string
	// WitnessURLs are the C2SP tlog-witnesses the audit checkpoints go to, every WitnessEvery.
	WitnessURLs  []string
	WitnessEvery time.Duration
	// TokenDecimals are the decimal places of funding tokens that are not Stellar Asset Contracts (7), by address.
	TokenDecimals map[domain.Address]int
	// ReconcileEvery is how often serve compares the projections with the contracts' storage (0: never);
	// ReconcileEveryGiven tells whether it was set (flag or environment) rather than left at its default, which
	// asks for reconciliation only where the storage can be read.
	ReconcileEvery      time.Duration
	ReconcileEveryGiven bool
	LogLevel            slog.Level
}

// Settings binds a Config to a FlagSet, each flag paired with its environment variable.
type Settings struct {
	fs  *flag.FlagSet
	cfg *Config

	contractIDs, contracts, apiKeys, logLevel, wsOrigins, trustedProxies, witnessURLs, tokenDecimals string
	simReorgDepth                                                                                    int64
	env                                                                                              map[string]string // flag name → env var
	secret                                                                                           map[string]bool
}

// Register adds every setting of Config to fs.
func Register(fs *flag.FlagSet) *Settings {
	s := &Settings{fs: fs, cfg: &Config{}, env: map[string]string{}, secret: map[string]bool{}}
	c := s.cfg
	s.str(&c.ListenAddr, "listen-addr", ":3000", "HTTP and WebSocket listen address", false)
	s.str(&c.Store, "store", StoreEmbedded, "event store: embedded, postgres or esdb", false)
	s.str(&c.DataDir, "data-dir", "./data", "directory of the embedded store and the audit signing key", false)
	s.str(&c.DatabaseURL, "database-url", "", "PostgreSQL URL (events with --store postgres, read models with postgres and esdb)", true)
	s.str(&c.EventStoreURL, "eventstore-url", "", "EventStoreDB connection string (esdb://…)", true)
	s.str(&c.Source, "source", SourceSim, "ledger source: sim, rpc, lake or push", false)
	s.str(&c.RPCURL, "rpc-url", "", "Stellar RPC URLs, comma-separated (with --source rpc; with --source lake, where ingestion goes on after the lake)", false)
	s.uint32(&c.RPCMaxLag, "rpc-max-lag", 10, "an RPC endpoint this many ledgers behind the others is set aside for a while")
	s.str(&c.LakeURL, "lake-url", "", "SEP-54 data lake (with --source lake): file:///dir, s3://bucket/prefix?region=…[&endpoint=…], gs://bucket/prefix", false)
	s.str(&c.NetworkPassphrase, "network-passphrase", TestnetPassphrase, "network passphrase", false)
	s.str(&s.tokenDecimals, "token-decimals", "", "decimal places of funding tokens that are not Stellar Asset Contracts (7), comma-separated C…:N", false)
	s.str(&s.contracts, "contracts", "", "contracts and the modules that read them, comma-separated: fluxora:C… (stream contracts), fluxora-factory:C…, fluxora-governance:C…", false)
	s.str(&s.contractIDs, "contract-ids", "", "Fluxora contract ids (C…), comma-separated (the same as --contracts fluxora:C…)", false)
	// --contract C… is the short form DESIGN's examples use; it adds to --contract-ids and may repeat.
	fs.Func("contract", "a Fluxora contract id (C…); repeatable, adds to --contract-ids", func(v string) error {
		if s.contractIDs != "" {
			s.contractIDs += ","
		}
		s.contractIDs += v
		return nil
	})
	s.uint32(&c.StartLedger, "start-ledger", 0, "first ledger to ingest with --source rpc or lake (lake: default its first)")
	s.uint32(&c.EndLedger, "end-ledger", 0, "last ledger to read from the lake (default: its last)")
	s.uint32(&c.SafetyMargin, "safety-margin", 1, "ledgers behind the tip before an event is final")
	fs.Uint64Var(&c.SimSeed, "sim-seed", 1, "simulator seed")
	s.bind("sim-seed", false)
	fs.IntVar(&c.SimStreams, "sim-streams", 50, "simulated payment streams")
	s.bind("sim-streams", false)
	fs.IntVar(&c.SimEscrows, "sim-escrows", 10, "simulated LiquiFact invoice escrows (0: none)")
	s.bind("sim-escrows", false)
	s.uint32(&c.SimLedgers, "sim-ledgers", 0, "stop producing after this ledger (0: endless)")
	fs.DurationVar(&c.SimLedgerInterval, "sim-ledger-interval", time.Second, "simulated ledger close interval")
	s.bind("sim-ledger-interval", false)
	fs.BoolVar(&c.SimReorgs, "sim-reorgs", true, "simulate reorgs (false: only the final canonical chain)")
	s.bind("sim-reorgs", false)
	fs.BoolVar(&c.SimFlips, "sim-flips", false, "the simulated source returns to branches it left (A→B→A, A→B→A→B), within the margin")
	s.bind("sim-flips", false)
	s.uint32(&c.SimReorgEvery, "sim-reorg-every", 25, "a simulated reorg every N ledgers")
	fs.Int64Var(&s.simReorgDepth, "sim-reorg-depth", -1, "deepest simulated reorg (default: the safety margin)")
	s.bind("sim-reorg-depth", false)
	s.uint32(&c.SimDeepReorgAt, "sim-deep-reorg-at", 0, "simulate one reorg deeper than the margin at this ledger")
	s.str(&s.apiKeys, "api-keys", "", `API keys, JSON: [{"key","clientId","scopes":[…]}]`, true)
	fs.IntVar(&c.RateLimit, "rate-limit", 1200, "requests per minute per client (a valid API key's, or else its address); 0: no limit")
	s.bind("rate-limit", false)
	s.str(&s.trustedProxies, "trusted-proxies", "", "proxies (CIDRs or addresses, comma-separated) whose X-Forwarded-For names the client", false)
	fs.BoolVar(&c.PublicReads, "public-reads", true, "stream reads without an API key")
	s.bind("public-reads", false)
	s.str(&c.MetricsToken, "metrics-token", "", "bearer token for /metrics (otherwise loopback only)", true)
	fs.BoolVar(&c.WSAuthRequired, "ws-auth-required", false, "require an API key on /ws/streams")
	s.bind("ws-auth-required", false)
	s.str(&s.wsOrigins, "ws-origins", "", "browser origins allowed to open /ws/streams, comma-separated (default: any)", false)
	fs.BoolVar(&c.WebhookAllowPrivate, "webhook-allow-private", false, "allow webhooks to private and loopback addresses")
	s.bind("webhook-allow-private", false)
	s.str(&c.CursorSecret, "cursor-secret", "", "HMAC key of pagination cursors (default: generated per start)", true)
	s.str(&c.AuditSigningKey, "audit-signing-key", "", "audit checkpoint signing key (default: generated once in the data dir)", true)
	s.str(&s.witnessURLs, "witness-urls", "", "C2SP tlog-witnesses to send the audit checkpoints to (their submission prefixes, comma-separated)", false)
	fs.DurationVar(&c.WitnessEvery, "witness-every", time.Minute, "how often a new audit checkpoint goes to the witnesses")
	fs.DurationVar(&c.ReconcileEvery, "reconcile-every", 24*time.Hour, "how often serve reconciles the projections with the contracts' storage (0: never)")
	s.bind("reconcile-every", false)
	s.bind("witness-every", false)
	s.str(&s.logLevel, "log-level", "info", "log level: debug, info, warn or error", false)
	return s
}

// EnvName is the environment variable of a flag: listen-addr → LISTEN_ADDR.
func EnvName(flagName string) string {
	return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (s *Settings) bind(name string, secret bool) {
	s.env[name] = EnvName(name)
	if secret {
		s.secret[name] = true
	}
	f := s.fs.Lookup(name)
	f.Usage += " [$" + EnvName(name) + "]"
}

func (s *Settings) str(p *string, name, def, usage string, secret bool) {
	s.fs.StringVar(p, name, def, usage)
	s.bind(name, secret)
}

func (s *Settings) uint32(p *uint32, name string, def uint32, usage string) {
	*p = def
	s.fs.Var(uint32Value{p}, name, usage)
	s.bind(name, false)
}

// uint32Value is a uint32 flag; unlike a flag.Func it reports its value, for the configuration summary.
type uint32Value struct{ p *uint32 }

func (v uint32Value) String() string {
	if v.p == nil { // the flag package asks a zero Value for its default
		return "0"
	}
	return strconv.FormatUint(uint64(*v.p), 10)
}

func (v uint32Value) Set(raw string) error {
	n, err := strconv.ParseUint(raw, 10, 32)
	if err != nil {
		return fmt.Errorf("want a whole number from 0 to %d", uint32(math.MaxUint32))
	}
	*v.p = uint32(n)
	return nil
}

// Load fills the Config: flags already parsed by fs.Parse win; the environment fills the rest; then it validates.
func (s *Settings) Load(lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	given := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	for name, env := range s.env {
		if given[name] {
			continue
		}
		if v, ok := lookupEnv(env); ok {
			if err := s.fs.Set(name, v); err != nil {
				errs = append(errs, s.settingError(name, v, unwrapFlagErr(err)))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s.fs.Visit(func(f *flag.Flag) {
		s.cfg.ReconcileEveryGiven = s.cfg.ReconcileEveryGiven || f.Name == "reconcile-every"
	})
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s.cfg, nil
}

func unwrapFlagErr(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

func (s *Settings) settingError(name, value string, reason error) error {
	shown := fmt.Sprintf("%q", value)
	if s.secret[name] && value != "" {
		shown = "(redacted)"
	}
	return fmt.Errorf("%w: --%s / %s = %s: %v", ErrInvalid, name, EnvName(name), shown, reason)
}

// Modules this build has, by their name in --contracts (DESIGN §12).
const (
	ModuleFluxora           = "fluxora"
	ModuleFluxoraFactory    = "fluxora-factory"
	ModuleFluxoraGovernance = "fluxora-governance"
	ModuleLiquiFact         = "liquifact"
)

// Modules are the modules this build has, by name.
func Modules() []string {
	return []string{ModuleFluxora, ModuleFluxoraFactory, ModuleFluxoraGovernance, ModuleLiquiFact}
}

// Contract is one followed contract and the module that reads it.
type Contract struct {
	Module string
	ID     domain.Address
	// WasmHash (64 hex digits), instead of ID, binds every instance created from that executable (module:wasm:<hash>).
	WasmHash string
}

// parseContract reads one --contracts entry, module:C…, for the modules this build has: fluxora (a stream
// contract), fluxora-factory, fluxora-governance, liquifact (an invoice escrow; liquifact:wasm:<64 hex> binds every
// instance of that executable, discovered as each is created).
func parseContract(entry string) (Contract, error) {
	module, rest, ok := strings.Cut(entry, ":")
	if !ok {
		return Contract{}, errors.New("want module:C…, e.g. fluxora:C…")
	}
	switch module {
	case ModuleFluxora, ModuleFluxoraFactory, ModuleFluxoraGovernance:
		if strings.HasPrefix(rest, "wasm:") {
			return Contract{}, fmt.Errorf("the %s module indexes contracts by id (C…), not by WASM hash", module)
		}
		id, err := domain.ParseAddressOf(rest, domain.ContractAddress)
		return Contract{Module: module, ID: id}, err
	case ModuleLiquiFact:
		if hash, ok := strings.CutPrefix(rest, "wasm:"); ok {
			raw, err := hex.DecodeString(hash)
			if err != nil || len(raw) != 32 {
				return Contract{}, fmt.Errorf("wasm:%s: want the executable's hash, 64 hex digits", hash)
			}
			return Contract{Module: module, WasmHash: strings.ToLower(hash)}, nil
		}
		id, err := domain.ParseAddressOf(rest, domain.ContractAddress)
		return Contract{Module: module, ID: id}, err
	default:
		return Contract{}, fmt.Errorf("unknown module %q (this build has %s)", module, strings.Join(Modules(), ", "))
	}
}

// httpURLs reads a comma-separated list of http(s) URLs; refused is told about each entry that is not one.
func httpURLs(list string, refused func(string)) []string {
	var out []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			refused(u)
			continue
		}
		out = append(out, u)
	}
	return out
}

func (s *Settings) validate() error {
	c := s.cfg
	var errs []error
	bad := func(name string, value string, format string, args ...any) {
		errs = append(errs, s.settingError(name, value, fmt.Errorf(format, args...)))
	}
	switch c.Store {
	case StoreEmbedded:
	case StorePostgres:
		if c.DatabaseURL == "" {
			bad("database-url", "", "required with --store postgres")
		}
	case StoreESDB:
		if c.EventStoreURL == "" {
			bad("eventstore-url", "", "required with --store esdb")
		}
		if c.DatabaseURL == "" {
			bad("database-url", "", "required with --store esdb (read models live in PostgreSQL)")
		}
	default:
		bad("store", c.Store, "want embedded, postgres or esdb")
	}
	if c.Store == StoreEmbedded && c.DataDir == "" {
		bad("data-dir", "", "required with the embedded store")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		bad("database-url", c.DatabaseURL, "want a postgres:// URL")
	}
	if c.EventStoreURL != "" && !strings.HasPrefix(c.EventStoreURL, "esdb://") && !strings.HasPrefix(c.EventStoreURL, "esdb+discover://") {
		bad("eventstore-url", c.EventStoreURL, "want an esdb:// connection string")
	}
	for _, o := range strings.Split(s.wsOrigins, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			bad("ws-origins", s.wsOrigins, "want origins such as https://console.example.com")
			continue
		}
		c.WSOrigins = append(c.WSOrigins, strings.TrimSuffix(o, "/"))
	}
	for _, id := range strings.Split(s.contractIDs, ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		a, err := domain.ParseAddressOf(id, domain.ContractAddress)
		if err != nil {
			bad("contract-ids", s.contractIDs, "%v", err)
			continue
		}
		if !slices.Contains(c.ContractIDs, a) {
			c.ContractIDs = append(c.ContractIDs, a)
			c.Contracts = append(c.Contracts, Contract{Module: ModuleFluxora, ID: a})
		}
	}
	for _, entry := range strings.Split(s.tokenDecimals, ",") {
		if entry = strings.TrimSpace(entry); entry == "" {
			continue
		}
		token, places, ok := strings.Cut(entry, ":")
		addr, err := domain.ParseAddressOf(token, domain.ContractAddress)
		n, nerr := strconv.Atoi(places)
		if !ok || err != nil || nerr != nil || n < 0 || n > 38 {
			bad("token-decimals", s.tokenDecimals, "%q: want C…:N, N from 0 to 38", entry)
			continue
		}
		if c.TokenDecimals == nil {
			c.TokenDecimals = map[domain.Address]int{}
		}
		c.TokenDecimals[addr] = n
	}
	for _, entry := range strings.Split(s.contracts, ",") {
		if entry = strings.TrimSpace(entry); entry == "" {
			continue
		}
		ct, err := parseContract(entry)
		if err != nil {
			bad("contracts", s.contracts, "%q: %v", entry, err)
			continue
		}
		if i := slices.IndexFunc(c.Contracts, func(o Contract) bool { return o.ID == ct.ID && o.WasmHash == ct.WasmHash }); i >= 0 {
			if c.Contracts[i].Module != ct.Module {
				bad("contracts", s.contracts, "%s is bound to both %s and %s", ct.ID, c.Contracts[i].Module, ct.Module)
			}
			continue
		}
		c.Contracts = append(c.Contracts, ct)
		if ct.Module == ModuleFluxora {
			c.ContractIDs = append(c.ContractIDs, ct.ID)
		}
	}
	switch c.Source {
	case SourceSim:
	case SourcePush:
		// Without contracts nothing would be decoded.
		if len(c.Contracts) == 0 {
			bad("contract-ids", s.contractIDs, "at least one contract is required with --source push (or --contracts / CONTRACTS = fluxora:C…)")
		}
	case SourceRPC:
		if c.RPCURL == "" {
			bad("rpc-url", "", "required with --source rpc")
		}
		if len(c.Contracts) == 0 {
			bad("contract-ids", s.contractIDs, "at least one contract is required with --source rpc (or --contracts / CONTRACTS = fluxora:C…)")
		}
	case SourceLake:
		switch {
		case c.LakeURL == "":
			bad("lake-url", "", "required with --source lake")
		case !strings.HasPrefix(c.LakeURL, "file://") && !strings.HasPrefix(c.LakeURL, "s3://") && !strings.HasPrefix(c.LakeURL, "gs://"):
			bad("lake-url", c.LakeURL, "want file:///dir, s3://bucket/prefix?region=… or gs://bucket/prefix")
		}
		if len(c.Contracts) == 0 {
			bad("contract-ids", s.contractIDs, "at least one contract is required with --source lake (or --contracts / CONTRACTS = fluxora:C…)")
		}
		if c.EndLedger != 0 && c.EndLedger < c.StartLedger {
			bad("end-ledger", fmt.Sprint(c.EndLedger), "before --start-ledger / START_LEDGER (%d)", c.StartLedger)
		}
	default:
		bad("source", c.Source, "want sim, rpc, lake or push")
	}
	c.WitnessURLs = httpURLs(s.witnessURLs, func(u string) {
		bad("witness-urls", s.witnessURLs, "want http:// or https:// URLs, comma-separated (%q is not one)", u)
	})
	if c.ReconcileEvery != 0 && c.ReconcileEvery < time.Second {
		bad("reconcile-every", c.ReconcileEvery.String(), "want 0 (never) or at least 1s")
	}
	if len(c.WitnessURLs) > 0 && c.WitnessEvery < time.Second {
		bad("witness-every", c.WitnessEvery.String(), "want at least 1s")
	}
	c.RPCURLs = httpURLs(c.RPCURL, func(u string) {
		bad("rpc-url", c.RPCURL, "want http:// or https:// URLs, comma-separated (%q is not one)", u)
	})
	if c.RPCMaxLag == 0 {
		bad("rpc-max-lag", "0", "want at least 1 ledger")
	}
	if c.EndLedger != 0 && c.Source != SourceLake {
		bad("end-ledger", fmt.Sprint(c.EndLedger), "only with --source lake")
	}
	if c.NetworkPassphrase == "" {
		bad("network-passphrase", "", "must not be empty")
	}
	if c.SimEscrows < 0 || c.SimEscrows > 1000 {
		bad("sim-escrows", fmt.Sprint(c.SimEscrows), "want 0 to 1000")
	}
	if c.SimStreams < 1 {
		bad("sim-streams", fmt.Sprint(c.SimStreams), "want at least 1")
	}
	if c.SimLedgerInterval < 0 {
		bad("sim-ledger-interval", c.SimLedgerInterval.String(), "must not be negative")
	}
	if c.SimReorgEvery == 0 {
		bad("sim-reorg-every", "0", "want at least 1")
	}
	switch {
	case s.simReorgDepth < 0:
		c.SimReorgDepth = c.SafetyMargin // deeper would halt ingestion, which only SIM_DEEP_REORG_AT asks for
	case s.simReorgDepth > math.MaxUint32:
		bad("sim-reorg-depth", fmt.Sprint(s.simReorgDepth), "too large")
	default:
		c.SimReorgDepth = uint32(s.simReorgDepth)
	}
	if s.apiKeys != "" {
		if err := json.Unmarshal([]byte(s.apiKeys), &c.APIKeys); err != nil {
			bad("api-keys", s.apiKeys, "want a JSON list of {key, clientId, scopes}: %v", err)
		}
		for i, k := range c.APIKeys {
			if len(k.Key) < 16 || k.ClientID == "" {
				bad("api-keys", s.apiKeys, "entry %d needs a key of at least 16 characters and a clientId", i)
			}
			for _, scope := range k.Scopes {
				if !validScope(scope) {
					bad("api-keys", s.apiKeys, "entry %d (%s) has unknown scope %q", i, k.ClientID, scope)
				}
			}
		}
	}
	if c.RateLimit < 0 {
		bad("rate-limit", fmt.Sprint(c.RateLimit), "want 0 (no limit) or more requests per minute")
	}
	for _, p := range strings.Split(s.trustedProxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				bad("trusted-proxies", s.trustedProxies, "%q is neither a CIDR nor an address", p)
				continue
			}
			prefix = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix.Masked())
	}
	if err := c.LogLevel.UnmarshalText([]byte(s.logLevel)); err != nil {
		bad("log-level", s.logLevel, "want debug, info, warn or error")
	}
	return errors.Join(errs...)
}

// Scopes lists what an API key may be allowed to do (DESIGN §6).
func Scopes() []string {
	return []string{"streams:read", "audit:read", "webhooks:admin", "ingest:write", "admin"}
}

func validScope(s string) bool { return slices.Contains(Scopes(), s) }

// Summary lists every setting as the program sees it, secrets redacted, for the start-up log.
func (s *Settings) Summary() []slog.Attr {
	var attrs []slog.Attr
	s.fs.VisitAll(func(f *flag.Flag) {
		if _, ok := s.env[f.Name]; !ok {
			return
		}
		v := f.Value.String()
		if s.secret[f.Name] && v != "" {
			v = "(redacted)"
		}
		attrs = append(attrs, slog.String(EnvName(f.Name), v))
	})
	return attrs
}
