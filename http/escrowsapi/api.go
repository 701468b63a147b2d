// Package escrowsapi is the LiquiFact module's API (DESIGN §12): escrows (list, one, point in time, history) and
// investors' positions, and its side of the WebSocket feed. The core mounts it as a module and names nothing here.
package escrowsapi

import (
	"context"
	_ "embed"
	"fmt"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/projections/escrows"
)

// Reader reads the live escrow read model.
type Reader interface {
	Get(ctx context.Context, contract domain.Address) (liquifact.Escrow, bool, error)
	ByInvoice(ctx context.Context, invoiceID string) (liquifact.Escrow, bool, error)
	List(ctx context.Context, f escrows.Filter, p escrows.Page) ([]liquifact.Escrow, bool, error)
	Positions(ctx context.Context, investor domain.Address) ([]escrows.Holding, error)
}

// Config is what the routes read.
type Config struct {
	Escrows  Reader
	Events   escrows.StreamReader // escrows' store streams: histories and points in time
	Decimals escrows.Decimals     // of the funding tokens (7 when not listed)
}

// API is the module's routes.
type API struct {
	cfg Config
	kit apikit.Kit
}

// New builds the routes.
func New(cfg Config) *API {
	return &API{cfg: cfg}
}

//go:embed openapi.yaml
var openAPIFragment []byte

// OpenAPI is the module's fragment of the API's OpenAPI document.
func (a *API) OpenAPI() []byte { return OpenAPI() }

// OpenAPI is the module's fragment, for tools and tests that have no API to ask.
func OpenAPI() []byte { return openAPIFragment }

// Mount adds the routes, reads needing streams:read.
func (a *API) Mount(r fiber.Router, kit apikit.Kit) {
	a.kit = kit
	read := kit.Require(apikit.ScopeStreamsRead)
	r.Get("/api/escrows", read, a.list)
	r.Get("/api/escrows/:id", read, a.one)
	r.Get("/api/escrows/:id/events", read, a.events)
	r.Get("/api/investors/:address/positions", read, a.positions)
	r.Get("/console/escrows", func(c *fiber.Ctx) error { return serveConsole(c, "escrows.html") })
	r.Get("/console/escrows.js", func(c *fiber.Ctx) error { return serveConsole(c, "escrows.js") })
}

// find is the escrow an id names: a contract id (C…) or an invoice id.
func (a *API) find(ctx context.Context, raw string) (liquifact.Escrow, error) {
	if unescaped, err := url.PathUnescape(raw); err == nil {
		raw = unescaped
	}
	if raw == "" || len(raw) > 64 {
		return liquifact.Escrow{}, apikit.Invalid("id", "an invoice id or an escrow contract id (C…)")
	}
	if addr, err := domain.ParseAddressOf(raw, domain.ContractAddress); err == nil {
		e, ok, err := a.cfg.Escrows.Get(ctx, addr)
		if err != nil {
			return liquifact.Escrow{}, fmt.Errorf("read escrow %s: %w", addr, err)
		}
		if ok && e.Known {
			return e, nil
		}
		return liquifact.Escrow{}, apikit.NotFound("no escrow " + raw)
	}
	e, ok, err := a.cfg.Escrows.ByInvoice(ctx, raw)
	if err != nil {
		return liquifact.Escrow{}, fmt.Errorf("read escrow of invoice %s: %w", raw, err)
	}
	if ok {
		return e, nil
	}
	return liquifact.Escrow{}, apikit.NotFound("no escrow for invoice " + raw)
}

// list lists escrows by status, SME, investor and funding token, keyset-paginated by contract with a signed cursor.
func (a *API) list(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "status", "sme", "investor", "fundingToken", "limit", "cursor"); err != nil {
		return err
	}
	var f escrows.Filter
	if raw := c.Query("status"); raw != "" {
		st, ok := parseStatus(raw)
		if !ok {
			return apikit.Invalid("status", "must be one of open, funded, settled, withdrawn, cancelled")
		}
		f.Status = &st
	}
	for _, p := range []struct {
		field string
		dst   *domain.Address
		kind  domain.AddressKind
	}{{"sme", &f.Sme, 0}, {"investor", &f.Investor, 0}, {"fundingToken", &f.FundingToken, domain.ContractAddress}} {
		raw := c.Query(p.field)
		if raw == "" {
			continue
		}
		var addr domain.Address
		var err error
		if p.kind == 0 {
			addr, err = domain.ParseAddress(raw)
		} else {
			addr, err = domain.ParseAddressOf(raw, p.kind)
		}
		if err != nil {
			return apikit.Invalid(p.field, err.Error())
		}
		*p.dst = addr
	}
	limit, err := apikit.ParseLimit(c)
	if err != nil {
		return err
	}
	scope := fmt.Sprintf("escrows|%v|%s|%s|%s", statusKey(f.Status), f.Sme, f.Investor, f.FundingToken)
	page := escrows.Page{Limit: limit}
	if raw := c.Query("cursor"); raw != "" {
		if err := a.kit.Cursors.Decode(scope, raw, &page.After); err != nil {
			return err
		}
	}
	list, more, err := a.cfg.Escrows.List(c.UserContext(), f, page)
	if err != nil {
		return fmt.Errorf("list escrows: %w", err)
	}
	views := make([]escrows.View, len(list))
	for i, e := range list {
		views[i] = escrows.NewView(e, a.cfg.Decimals.Of(e.FundingToken))
	}
	info := apikit.PageInfo{Limit: limit, HasMore: more}
	if more {
		next, err := a.kit.Cursors.Encode(scope, list[len(list)-1].Contract)
		if err != nil {
			return err
		}
		info.NextCursor = &next
	}
	return c.JSON(fiber.Map{"data": views, "page": info})
}

// one serves one escrow, now or as of a ledger (the fold of its standing events up to it).
func (a *API) one(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "asOfLedger"); err != nil {
		return err
	}
	var asOf uint32
	if arg := c.Query("asOfLedger"); arg != "" {
		seq, err := apikit.LedgerSeq("asOfLedger", arg)
		if err != nil {
			return err
		}
		asOf = seq
	}
	e, err := a.find(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if asOf != 0 {
		then, known, err := escrows.AsOfLedger(c.UserContext(), a.cfg.Events, e.Contract, asOf)
		if err != nil {
			return fmt.Errorf("escrow %s as of %d: %w", e.Contract, asOf, err)
		}
		if !known {
			return apikit.NotFound(fmt.Sprintf("escrow %s did not exist at ledger %d", e.InvoiceID, asOf))
		}
		e = then
	}
	return c.JSON(fiber.Map{"data": escrows.NewView(e, a.cfg.Decimals.Of(e.FundingToken))})
}

// events lists an escrow's stored events, reversals flagged.
func (a *API) events(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "limit", "cursor"); err != nil {
		return err
	}
	e, err := a.find(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return apikit.History(c, a.kit, a.cfg.Events, liquifact.EscrowStoreStream(e.Contract), "escrow "+e.InvoiceID)
}

// holdingView is an investor's position in one escrow.
type holdingView struct {
	ContractID   domain.Address       `json:"contractId"`
	InvoiceID    string               `json:"invoiceId"`
	Status       string               `json:"status"`
	Maturity     uint64               `json:"maturity"`
	FundingToken domain.Address       `json:"fundingToken"`
	Decimals     int                  `json:"decimals"` // the places the position's amounts are shown in
	Position     escrows.PositionView `json:"position"`
}

// positions lists an investor's positions across escrows.
func (a *API) positions(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c); err != nil {
		return err
	}
	investor, err := domain.ParseAddress(c.Params("address"))
	if err != nil {
		return apikit.Invalid("address", err.Error())
	}
	holdings, err := a.cfg.Escrows.Positions(c.UserContext(), investor)
	if err != nil {
		return fmt.Errorf("positions of %s: %w", investor, err)
	}
	out := []holdingView{}
	for _, h := range holdings {
		decimals := a.cfg.Decimals.Of(h.Escrow.FundingToken)
		out = append(out, holdingView{ContractID: h.Escrow.Contract, InvoiceID: h.Escrow.InvoiceID, Status: h.Escrow.Status.String(),
			Maturity: h.Escrow.Maturity, FundingToken: h.Escrow.FundingToken, Decimals: decimals,
			Position: escrows.NewPositionView(h.Position, decimals)})
	}
	return c.JSON(fiber.Map{"data": out})
}

func parseStatus(s string) (liquifact.EscrowStatus, bool) {
	for st := liquifact.StatusOpen; st <= liquifact.StatusCancelled; st++ {
		if strings.EqualFold(st.String(), s) {
			return st, true
		}
	}
	return 0, false
}

func statusKey(s *liquifact.EscrowStatus) string {
	if s == nil {
		return ""
	}
	return s.String()
}
