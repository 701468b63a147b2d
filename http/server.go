package http

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/limiter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/projections"
)

// MaxBodySize bounds request bodies (DESIGN §6), but for pushed ledgers.
const MaxBodySize = 256 << 10

// MaxPushBodySize bounds a push of ledgers (DESIGN §13): real ledgers are large (a pubnet ledger is 1.3 MB of XDR,
// 1.7 MB as base64), so this route takes up to 16 MiB, read as a stream.
const MaxPushBodySize = 16 << 20

// pushPath is the route of pushed ledgers, the one route with a larger body limit.
const pushPath = "/internal/ingest/ledgers"

// EventReader reads the event store.
type EventReader interface {
	ReadStream(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error)
	ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error)
}

// Module is a contract module's API (DESIGN §12): Mount adds its routes with what the core lends them; OpenAPI is
// its fragment of the document (see LoadOpenAPI).
type Module interface {
	Mount(r fiber.Router, kit apikit.Kit)
	OpenAPI() []byte
}

// Check is one dependency of /readyz.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Config is what the API serves and how.
type Config struct {
	Version           string
	NetworkPassphrase string
	// Contracts are the stream contracts: / lists them, and an audit filter's bare stream id means the only one's.
	Contracts    []domain.Address
	APIKeys      []APIKey
	PublicReads  bool
	MetricsToken string
	Logger       *slog.Logger
	Gatherer     prometheus.Gatherer
	// Events reads the event store (stream histories, ledgers' events, point in time).
	Events EventReader
	// Ledgers is the ledger index.
	Ledgers LedgerReader
	// SafetyMargin is how many ledgers behind the tip events become final.
	SafetyMargin uint32
	// CursorSecret signs pagination cursors; empty generates one per start (cursors then die with the process).
	CursorSecret []byte
	// Ingestion reports the ingester's status; nil when this process does not ingest.
	Ingestion func() chain.Status
	// Role is this process's part among serves sharing a database ("leader" ingests and projects, "standby" serves
	// reads); nil when it is alone, and /health then says nothing of it.
	Role func() string
	// Projections report the runners' status.
	Projections func() []projections.Status
	// ReconciliationRuns lists the last reconciliation runs, newest first; nil answers with none.
	ReconciliationRuns func(ctx context.Context, limit int) ([]domain.ReconciliationRan, error)
	// Modules are the bound modules' routes; Feeds their side of the WebSocket feed.
	Modules []Module
	Feeds   []Feed
	// Live feeds the WebSocket hub (the event store); nil disables /ws/streams.
	Live LiveSource
	// Codec decodes the events the hub sends (the bound modules' registry, today's decoders: DESIGN §12).
	Codec          projections.Codec
	WSAuthRequired bool
	// NoticeInterval is how often WebSocket clients' service.degraded notices are checked (default 2 s).
	NoticeInterval time.Duration
	// StatusInterval is how often the WebSocket status feed sends the service's health (default 1 s).
	StatusInterval time.Duration
	// WSOrigins, when set, are the only browser origins allowed to open WebSockets.
	WSOrigins []string
	// ProjectionNames are the projections the admin routes know; Rebuild rebuilds one (nil: not supported here).
	ProjectionNames []string
	Rebuild         RebuildFunc
	// Push ingests pushed ledgers (JSON), PushBatch a raw LedgerCloseMetaBatch; nil refuses the route.
	Push      func(ctx context.Context, ledgers []chain.PushedLedger) (chain.PushResult, error)
	PushBatch func(ctx context.Context, raw []byte) (chain.PushResult, error)
	// Audit is the audit log (exports, checkpoints, proofs); a nil Log answers its routes with 404.
	Audit AuditConfig
	// Webhooks administers endpoints and deliveries; nil answers its routes with 404.
	Webhooks WebhookService
	Checks   []Check
	// RateLimit is how many requests a client (a valid API key's client, or else the client's address) may make per
	// RateWindow (defaults 1200 per minute; negative: no limit); health, readiness and metrics are not limited.
	RateLimit  int
	RateWindow time.Duration
	// RateLimitStorage keeps the rate limiter's counters; nil keeps them in memory, where expired ones are dropped
	// every second. A store shared by the replicas (fiber.Storage: Redis, …) makes the limits hold across them.
	RateLimitStorage fiber.Storage
	// TrustedProxies are the peers whose X-Forwarded-For is believed when telling a request's client address (for
	// the rate limit and /metrics' loopback rule).
	TrustedProxies []netip.Prefix
	Now            func() time.Time
}

// Server is the HTTP API.
type Server struct {
	cfg         Config
	keys        *keyring
	cursors     apikit.Cursors
	rebuilds    rebuilds
	hub         hub
	app         *fiber.App
	promHandler fiber.Handler
	docs        apiDocs
	// background is the context of work that outlives its handler (streamed exports); Shutdown cancels it.
	background context.Context
	stop       context.CancelFunc
}

// New builds the API.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NoticeInterval == 0 {
		cfg.NoticeInterval = 2 * time.Second
	}
	if cfg.StatusInterval == 0 {
		cfg.StatusInterval = time.Second
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 1200
	}
	if cfg.RateWindow == 0 {
		cfg.RateWindow = time.Minute
	}
	s := &Server{cfg: cfg, keys: newKeyring(cfg.APIKeys), cursors: apikit.Cursors{Key: cfg.CursorSecret}}
	s.rebuilds.ctx, s.rebuilds.stop = context.WithCancel(context.Background())
	s.background, s.stop = context.WithCancel(context.Background())
	if len(s.cursors.Key) == 0 {
		s.cursors.Key = make([]byte, 32)
		rand.Read(s.cursors.Key) // never fails: crypto/rand crashes the program rather than return an error
	}
	if cfg.Gatherer != nil {
		s.promHandler = adaptor.HTTPHandler(promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	s.app = fiber.New(fiber.Config{
		AppName:   "streamledger",
		BodyLimit: MaxBodySize,
		// Bodies over BodyLimit (and chunked ones) reach the handlers as streams instead of a refusal, so that the
		// push route can take real ledgers; limitBodies refuses them on every other route before anything reads.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		ReadTimeout:                  10 * time.Second,
		WriteTimeout:                 30 * time.Second,
		IdleTimeout:                  2 * time.Minute,
		DisableStartupMessage:        true,
		ErrorHandler:                 errorHandler(cfg.Logger),
	})
	s.app.Use(withRequestID, withSecurityHeaders, s.rateLimiter(), limitBodies)
	s.app.Get("/", s.root)
	s.app.Get("/health", s.health)
	s.app.Get("/readyz", s.readyz)
	s.app.Get("/metrics", s.metrics)
	var fragments [][]byte
	for _, m := range cfg.Modules {
		fragments = append(fragments, m.OpenAPI())
	}
	s.docs = newAPIDocs(fragments)
	if s.docs.err != nil {
		cfg.Logger.Error("the OpenAPI document does not load; /openapi.json and /docs answer 500", "err", s.docs.err)
	}
	s.app.Get("/openapi.json", s.openAPI)
	s.app.Get("/docs", s.apiReference)
	s.app.Get("/api/ledgers/:seq", s.require(ScopeStreamsRead), s.ledger)
	kit := apikit.Kit{Require: s.require, Cursors: s.cursors, Now: cfg.Now}
	for _, m := range cfg.Modules {
		m.Mount(s.app, kit)
	}
	s.app.Post(pushPath, s.require(ScopeIngestWrite), s.push)
	s.app.Get("/api/admin/projections", s.require(ScopeAdmin), s.projectionsStatus)
	s.app.Get("/api/admin/reconciliation/runs", s.require(ScopeAdmin), s.reconciliationRuns)
	s.hub.s = s
	s.hub.start()
	if cfg.Live != nil {
		s.app.Get("/ws/streams", s.wsUpgrade, websocket.New(s.serveWS, websocket.Config{Origins: cfg.WSOrigins,
			Subprotocols: []string{wsProtocol}}))
	}
	s.app.Post("/api/admin/projections/:name/rebuild", s.require(ScopeAdmin), s.rebuild)
	s.routeWebhooks()
	s.routeAudit()
	return s
}

// App is the Fiber app, for tests and for Listen.
func (s *Server) App() *fiber.App { return s.app }

// Listen serves on addr until Shutdown.
func (s *Server) Listen(addr string) error { return s.app.Listen(addr) }

// Shutdown stops accepting connections, waits for the running requests (at most timeout) and stops a running
// rebuild (its new generation is left unswitched; the next rebuild starts another).
func (s *Server) Shutdown(timeout time.Duration) error {
	s.hub.stop() // WebSocket clients get a 1001 close first
	s.hub.wg.Wait()
	err := s.app.ShutdownWithTimeout(timeout)
	s.stop() // exports still streaming after the timeout
	s.rebuilds.stop()
	s.rebuilds.wg.Wait()
	return err
}

// rateLimiter limits each client: its API key when it presents one (so a key's quota follows it across
// addresses), its socket address otherwise. Over the limit: 429 with Retry-After.
func (s *Server) rateLimiter() fiber.Handler {
	if s.cfg.RateLimit < 0 {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	return limiter.New(limiter.Config{
		Max:        s.cfg.RateLimit,
		Expiration: s.cfg.RateWindow,
		Storage:    s.cfg.RateLimitStorage,
		Next: func(c *fiber.Ctx) bool {
			switch c.Path() {
			case "/health", "/readyz", "/metrics":
				return true
			}
			return false
		},
		KeyGenerator: s.rateKey,
		LimitReached: func(c *fiber.Ctx) error {
			return &APIError{Status: fiber.StatusTooManyRequests, Code: apikit.CodeRateLimited,
				Message: "too many requests; retry after the number of seconds in Retry-After", Retryable: true}
		},
	})
}

func (s *Server) root(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"data": fiber.Map{
		"service":   "streamledger",
		"version":   s.cfg.Version,
		"networkId": domain.NetworkID(s.cfg.NetworkPassphrase),
		"network":   s.cfg.NetworkPassphrase,
		"contracts": s.cfg.Contracts,
	}})
}

// health reports liveness and ingestion freshness (DESIGN §6).
func (s *Server) health(c *fiber.Ctx) error { return c.JSON(s.healthView()) }

// healthView is what /health answers and the WebSocket status feed sends.
func (s *Server) healthView() fiber.Map {
	now := s.cfg.Now()
	indexer := fiber.Map{"status": chain.HealthNotConfigured}
	status := "ok"
	if s.cfg.Ingestion != nil {
		st := s.cfg.Ingestion()
		health := st.Health
		lagMs := int64(0)
		if !st.TipClosedAt.IsZero() {
			lagMs = now.Sub(st.TipClosedAt).Milliseconds()
		}
		indexer = fiber.Map{"status": health, "tipLedger": st.Tip, "lastSafeLedger": st.LastSafeLedger,
			"lagLedgers": st.Tip - st.LastSafeLedger, "lagMs": lagMs, "reorgDetected": st.Reorgs > 0, "lastReorg": st.LastReorg}
		if st.HaltReason != "" {
			indexer["haltReason"] = st.HaltReason
		}
		if st.TargetLedger > 0 {
			indexer["targetLedger"] = st.TargetLedger
			indexer["ledgersIngested"], indexer["eventsIngested"] = st.Ledgers, st.Events
		}
		if st.Endpoints != nil {
			indexer["endpoints"] = st.Endpoints
		}
		switch health {
		case chain.HealthHalted:
			status = "halted"
		case chain.HealthStalled:
			status = "degraded"
		}
	}
	var projs []projections.Status
	if s.cfg.Projections != nil {
		projs = s.cfg.Projections()
	}
	for _, p := range projs {
		if p.LastError != "" && status == "ok" {
			status = "degraded"
		}
	}
	if projs == nil {
		projs = []projections.Status{}
	}
	view := fiber.Map{"status": status, "indexer": indexer, "projections": projs, "wsConnections": s.hub.count.Load()}
	if s.cfg.Role != nil {
		view["role"] = s.cfg.Role()
	}
	return view
}

// readyz checks every dependency; any failure is 503 with the per-check results (no error text: it may hold
// addresses or driver messages; the log has it).
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	checks := fiber.Map{}
	ready := true
	for _, ch := range s.cfg.Checks {
		if err := ch.Check(ctx); err != nil {
			ready = false
			checks[ch.Name] = "failing"
			s.cfg.Logger.Warn("readiness check failed", "check", ch.Name, "requestId", requestID(c), "err", err)
			continue
		}
		checks[ch.Name] = "ok"
	}
	code := fiber.StatusOK
	if !ready {
		code = fiber.StatusServiceUnavailable
	}
	return c.Status(code).JSON(fiber.Map{"ready": ready, "checks": checks})
}

// metrics serves Prometheus metrics to a bearer of METRICS_TOKEN, or to loopback callers when no token is set.
// The peer address is the socket's: X-Forwarded-For is never trusted for this.
func (s *Server) metrics(c *fiber.Ctx) error {
	if s.cfg.MetricsToken != "" {
		presented := sha256.Sum256([]byte(strings.TrimPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")))
		want := sha256.Sum256([]byte(s.cfg.MetricsToken))
		if presented != want {
			return apikit.New(fiber.StatusUnauthorized, apikit.CodeUnauthorized, "a metrics token is required")
		}
	} else if ip := clientAddress(c, s.cfg.TrustedProxies); !ip.IsLoopback() {
		return apikit.New(fiber.StatusForbidden, apikit.CodeForbidden, "metrics are served to loopback only unless METRICS_TOKEN is set")
	}
	if s.promHandler == nil {
		return apikit.New(fiber.StatusNotFound, apikit.CodeNotFound, "no metrics")
	}
	return s.promHandler(c)
}

// push ingests ledgers pushed by an external indexer (DESIGN §6, §13; scope ingest:write): JSON as the RPC's
// getLedgers shapes them, or a raw LedgerCloseMetaBatch (application/octet-stream, zstd-compressed or not).
func (s *Server) push(c *fiber.Ctx) error {
	if s.cfg.Push == nil {
		return apikit.New(fiber.StatusNotFound, apikit.CodeNotFound, "this server does not take pushed ledgers (SOURCE is not push)")
	}
	body, err := readPush(c.Get(fiber.HeaderContentType), requestBody(c), MaxPushBodySize)
	if err != nil {
		return err
	}
	var res chain.PushResult
	if body.raw != nil {
		if s.cfg.PushBatch == nil {
			return apikit.New(fiber.StatusUnsupportedMediaType, apikit.CodeUnsupported, "this server takes pushed ledgers as JSON only")
		}
		res, err = s.cfg.PushBatch(c.UserContext(), body.raw)
	} else {
		res, err = s.cfg.Push(c.UserContext(), body.ledgers)
	}
	var pe *chain.PushError
	switch {
	case errors.As(err, &pe) && errors.Is(err, chain.ErrPushConflict):
		return &APIError{Status: fiber.StatusConflict, Code: apikit.CodeConflict, Message: pe.Error(), Details: map[string]string{"field": pe.Field}}
	case errors.As(err, &pe):
		return apikit.Invalid(pe.Field, pe.Message)
	case errors.Is(err, chain.ErrHalted):
		return &APIError{Status: fiber.StatusServiceUnavailable, Code: apikit.CodeUnavailable,
			Message: "ingestion is halted until an operator acts", Retryable: false}
	case err != nil:
		return fmt.Errorf("push: %w", err)
	}
	return c.JSON(fiber.Map{"data": res})
}
