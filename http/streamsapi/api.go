// Package streamsapi is the Fluxora stream contract's API (DESIGN §12): streams (list, one, point in time,
// history) and the followed contracts' state. The core mounts it as a module (http.Module) and names nothing here.
package streamsapi

import (
	"context"
	_ "embed"

	"github.com/gofiber/fiber/v2"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/ledgers"
	"github.com/streamledger/streamledger/projections/streams"
)

// StreamReader reads the live stream projection.
type StreamReader interface {
	Get(ctx context.Context, ref fluxora.StreamRef) (fluxora.Stream, bool, error)
	List(ctx context.Context, f streams.Filter, p streams.Page) ([]fluxora.Stream, bool, error)
}

// EventReader reads the event store.
type EventReader interface {
	ReadStream(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error)
	ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error)
}

// LedgerReader reads the ledger index (the close time of a point in time by ledger).
type LedgerReader interface {
	Get(ctx context.Context, seq uint32) (ledgers.Ledger, uint32, bool, error)
}

// Config is what the routes read.
type Config struct {
	// Contracts are the stream contracts (a bare stream id means the only one's); Followed every followed
	// contract (factory and governance ones too), which GET /api/contracts/:id serves.
	Contracts []domain.Address
	Followed  []domain.Address
	Decimals  int // of the token's amounts (7 when zero)
	Streams   StreamReader
	Events    EventReader
	Ledgers   LedgerReader
	// Codec decodes the contracts' stored events (the bound modules' registry, today's decoders).
	Codec projections.Codec
}

// API is the module's routes.
type API struct {
	cfg Config
	kit apikit.Kit
}

// New builds the routes.
func New(cfg Config) *API {
	if cfg.Decimals == 0 {
		cfg.Decimals = 7
	}
	return &API{cfg: cfg}
}

// openAPIFragment is the module's part of the API's OpenAPI document.
//
//go:embed openapi.yaml
var openAPIFragment []byte

// OpenAPI is the module's fragment of the API's OpenAPI document (http.LoadOpenAPI merges it).
func (a *API) OpenAPI() []byte { return OpenAPI() }

// OpenAPI is the module's fragment, for tools and tests that have no API to ask.
func OpenAPI() []byte { return openAPIFragment }

// Mount adds the routes, reads needing streams:read.
func (a *API) Mount(r fiber.Router, kit apikit.Kit) {
	a.kit = kit
	read := kit.Require(apikit.ScopeStreamsRead)
	r.Get("/api/streams", read, a.listStreams)
	r.Get("/api/streams/:id", read, a.stream)
	r.Get("/api/streams/:id/events", read, a.streamEvents)
	r.Get("/api/contracts/:id", read, a.contract)
	routeConsole(r)
}
