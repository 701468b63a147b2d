package streamsapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/internal/view"
	"github.com/streamledger/streamledger/projections/streams"
)

// streamCursor is a place in a stream listing.
type streamCursor struct {
	Contract domain.Address `json:"c"`
	Stream   uint64         `json:"s"`
}

// listStreams lists streams by status, sender, recipient and contract, keyset-paginated in (contract, stream id)
// order with a signed cursor.
func (a *API) listStreams(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "status", "sender", "recipient", "contractId", "limit", "cursor"); err != nil {
		return err
	}
	var f streams.Filter
	if raw := c.Query("status"); raw != "" {
		st, err := fluxora.ParseStreamStatus(raw)
		if err != nil {
			return apikit.Invalid("status", "must be one of active, paused, completed, cancelled, closed")
		}
		f.Status = st
	}
	for _, a := range []struct {
		field string
		dst   *domain.Address
		kind  domain.AddressKind
	}{{"sender", &f.Sender, 0}, {"recipient", &f.Recipient, 0}, {"contractId", &f.ContractID, domain.ContractAddress}} {
		raw := c.Query(a.field)
		if raw == "" {
			continue
		}
		var addr domain.Address
		var err error
		if a.kind == 0 {
			addr, err = domain.ParseAddress(raw)
		} else {
			addr, err = domain.ParseAddressOf(raw, a.kind)
		}
		if err != nil {
			return apikit.Invalid(a.field, err.Error())
		}
		*a.dst = addr
	}
	limit, err := apikit.ParseLimit(c)
	if err != nil {
		return err
	}
	scope := fmt.Sprintf("streams|%s|%s|%s|%s", f.Status, f.Sender, f.Recipient, f.ContractID)
	page := streams.Page{Limit: limit}
	if raw := c.Query("cursor"); raw != "" {
		var cur streamCursor
		if err := a.kit.Cursors.Decode(scope, raw, &cur); err != nil {
			return err
		}
		page.After = fluxora.StreamRef{ContractID: cur.Contract, StreamID: cur.Stream}
	}
	list, more, err := a.cfg.Streams.List(c.UserContext(), f, page)
	if err != nil {
		return fmt.Errorf("list streams: %w", err)
	}
	at := a.kit.Now().Truncate(1e9)
	views := make([]view.Stream, len(list))
	for i, st := range list {
		views[i] = view.NewStream(st, at, a.cfg.Decimals)
	}
	info := apikit.PageInfo{Limit: limit, HasMore: more}
	if more {
		last := list[len(list)-1]
		next, err := a.kit.Cursors.Encode(scope, streamCursor{Contract: last.ContractID, Stream: last.StreamID})
		if err != nil {
			return err
		}
		info.NextCursor = &next
	}
	return c.JSON(fiber.Map{"data": views, "page": info})
}

// streamEvents lists a stream's stored events in order, keyset-paginated by version.
func (a *API) streamEvents(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "limit", "cursor"); err != nil {
		return err
	}
	ref, err := a.parseRef(c.Params("id"))
	if err != nil {
		return err
	}
	return apikit.History(c, a.kit, a.cfg.Events, ref.StoreStream(), "stream "+ref.String())
}

// parseRef reads a stream id: "C…:n", or the bare n when one contract is configured.
func (a *API) parseRef(raw string) (fluxora.StreamRef, error) {
	// Clients that escape path segments send the colon as %3A.
	if unescaped, err := url.PathUnescape(raw); err == nil {
		raw = unescaped
	}
	contract, id, found := strings.Cut(raw, ":")
	if !found {
		if len(a.cfg.Contracts) != 1 {
			return fluxora.StreamRef{}, apikit.Invalid("id", "use {contractId}:{streamId} (several contracts are configured)")
		}
		contract, id = string(a.cfg.Contracts[0]), raw
	}
	addr, err := domain.ParseAddressOf(contract, domain.ContractAddress)
	if err != nil {
		return fluxora.StreamRef{}, apikit.Invalid("id", "contract id: "+err.Error())
	}
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return fluxora.StreamRef{}, apikit.Invalid("id", "stream id must be an unsigned integer")
	}
	return fluxora.StreamRef{ContractID: addr, StreamID: n}, nil
}

// stream serves one stream: now, or as of a ledger (asOfLedger: the fold of its events up to that ledger, amounts
// at that ledger's close) or a time (asOf: the fold of its events closed by then, amounts at that time); with a
// weak ETag.
func (a *API) stream(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "asOfLedger", "asOf"); err != nil {
		return err
	}
	ref, err := a.parseRef(c.Params("id"))
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	at := a.kit.Now().Truncate(time.Second)
	var st fluxora.Stream
	var found bool
	ledgerArg, timeArg := c.Query("asOfLedger"), c.Query("asOf")
	switch {
	case ledgerArg != "" && timeArg != "":
		return apikit.Invalid("asOf", "give asOfLedger or asOf, not both")
	case ledgerArg != "":
		seq, perr := apikit.LedgerSeq("asOfLedger", ledgerArg)
		if perr != nil {
			return perr
		}
		l, _, ok, lerr := a.cfg.Ledgers.Get(ctx, seq)
		if lerr != nil {
			return fmt.Errorf("read ledger %d: %w", seq, lerr)
		}
		if !ok {
			return apikit.New(fiber.StatusNotFound, apikit.CodeNotFound, fmt.Sprintf("ledger %d has not been ingested", seq))
		}
		at = l.ClosedAt
		st, found, err = streams.AsOfLedger(ctx, a.cfg.Events, ref, uint32(seq))
	case timeArg != "":
		t, perr := time.Parse(time.RFC3339, timeArg)
		if perr != nil {
			return apikit.Invalid("asOf", "must be an RFC 3339 time, e.g. 2026-03-01T00:00:00Z")
		}
		at = t.UTC()
		st, found, err = streams.AsOfTime(ctx, a.cfg.Events, ref, t)
	default:
		st, found, err = a.cfg.Streams.Get(ctx, ref)
	}
	if err != nil {
		return fmt.Errorf("read stream %s: %w", ref, err)
	}
	if !found {
		return apikit.New(fiber.StatusNotFound, apikit.CodeNotFound, "no stream "+ref.String()+" at that point")
	}
	shown := view.NewStream(st, at, a.cfg.Decimals)
	body, err := json.Marshal(fiber.Map{"data": shown})
	if err != nil {
		return fmt.Errorf("encode stream: %w", err)
	}
	// The state and the second it is computed at determine the body; a weak tag on them lets clients revalidate.
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%d|%d", st.LastEventID, st.Version, shown.AsOf.Unix()))
	etag := `W/"` + hex.EncodeToString(sum[:12]) + `"`
	c.Set(fiber.HeaderETag, etag)
	if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && strings.Contains(match, etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(body)
}
