package http

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/streamledger/streamledger/http/apikit"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/view"
	"github.com/streamledger/streamledger/projections/ledgers"
	"github.com/streamledger/streamledger/projections/streams"
)

// streamCursor is a place in a stream listing.
type streamCursor struct {
	Contract domain.Address `json:"c"`
	Stream   uint64         `json:"s"`
}

// listStreams lists streams by status, sender, recipient and contract, keyset-paginated in (contract, stream id)
// order with a signed cursor.
func (s *Server) listStreams(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "status", "sender", "recipient", "contractId", "limit", "cursor"); err != nil {
		return err
	}
	var f streams.Filter
	if raw := c.Query("status"); raw != "" {
		st, err := domain.ParseStreamStatus(raw)
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
		if err := s.cursors.Decode(scope, raw, &cur); err != nil {
			return err
		}
		page.After = domain.StreamRef{ContractID: cur.Contract, StreamID: cur.Stream}
	}
	list, more, err := s.cfg.Streams.List(c.UserContext(), f, page)
	if err != nil {
		return fmt.Errorf("list streams: %w", err)
	}
	at := s.cfg.Now().Truncate(1e9)
	views := make([]view.Stream, len(list))
	for i, st := range list {
		views[i] = view.NewStream(st, at, s.cfg.Decimals)
	}
	info := apikit.PageInfo{Limit: limit, HasMore: more}
	if more {
		last := list[len(list)-1]
		next, err := s.cursors.Encode(scope, streamCursor{Contract: last.ContractID, Stream: last.StreamID})
		if err != nil {
			return err
		}
		info.NextCursor = &next
	}
	return c.JSON(fiber.Map{"data": views, "page": info})
}

// eventView is one stored event of a stream's history; reverted events stay, flagged, with the reversal.
type eventView struct {
	EventID    string          `json:"eventId"`
	Type       string          `json:"type"`
	Version    int64           `json:"version"`
	Position   uint64          `json:"position"`
	Ledger     uint32          `json:"ledger,omitempty"`
	TxHash     string          `json:"txHash,omitempty"`
	ChainEvent string          `json:"chainEventId,omitempty"`
	RecordedAt string          `json:"recordedAt"`
	Reverted   bool            `json:"reverted"`
	RevertedBy string          `json:"revertedBy,omitempty"`
	Event      json.RawMessage `json:"event"`
}

// streamEvents lists a stream's stored events in order, keyset-paginated by version.
func (s *Server) streamEvents(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "limit", "cursor"); err != nil {
		return err
	}
	ref, err := s.parseRef(c.Params("id"))
	if err != nil {
		return err
	}
	limit, err := apikit.ParseLimit(c)
	if err != nil {
		return err
	}
	scope := "events|" + ref.String()
	var from int64
	if raw := c.Query("cursor"); raw != "" {
		if err := s.cursors.Decode(scope, raw, &from); err != nil {
			return err
		}
	}
	// Streams hold tens to hundreds of events: read them all, so that a reversal later in the stream flags the
	// event it reverts on every page.
	var recs []eventstore.Recorded
	var next eventstore.Version
	for {
		page, err := s.cfg.Events.ReadStream(c.UserContext(), ref.StoreStream(), next, 1000)
		if err != nil {
			return fmt.Errorf("read stream %s: %w", ref, err)
		}
		recs = append(recs, page...)
		if len(page) < 1000 {
			break
		}
		next = page[len(page)-1].Version + 1
	}
	if len(recs) == 0 {
		return apikit.New(fiber.StatusNotFound, CodeNotFound, "no stream "+ref.String())
	}
	// An event is reverted when its last compensation is a reversal (the chain may have come back to its branch,
	// restoring it).
	revertedBy := map[string]string{}
	compensations := domain.MustRegistry() // the core's events
	for _, r := range recs {
		if r.Type != string(domain.TypeEventReverted) && r.Type != string(domain.TypeEventRestored) {
			continue
		}
		e, err := compensations.Unmarshal(r.Data)
		if err != nil {
			return fmt.Errorf("stored compensation %s: %w", r.ID, err)
		}
		switch c := e.(type) {
		case *domain.EventReverted:
			revertedBy[c.RevertedEventID] = r.ID
		case *domain.EventRestored:
			delete(revertedBy, c.RestoredEventID)
		}
	}
	var views []eventView
	more := false
	for _, r := range recs {
		if int64(r.Version) < from {
			continue
		}
		if len(views) == limit {
			more = true
			break
		}
		var env struct {
			Event json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(r.Data, &env); err != nil {
			return fmt.Errorf("stored event %s: %w", r.ID, err)
		}
		v := eventView{EventID: r.ID, Type: r.Type, Version: int64(r.Version), Position: uint64(r.Position),
			RecordedAt: r.RecordedAt.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), Event: env.Event}
		if by, ok := revertedBy[r.ID]; ok {
			v.Reverted, v.RevertedBy = true, by
		}
		var meta struct {
			Chain *domain.ChainMeta `json:"chain"`
		}
		if json.Unmarshal(env.Event, &meta) == nil && meta.Chain != nil {
			v.Ledger, v.TxHash, v.ChainEvent = meta.Chain.Ledger, meta.Chain.TxHash, meta.Chain.ChainEventID
		}
		views = append(views, v)
	}
	info := apikit.PageInfo{Limit: limit, HasMore: more}
	if more {
		nextCursor, err := s.cursors.Encode(scope, int64(views[len(views)-1].Version)+1)
		if err != nil {
			return err
		}
		info.NextCursor = &nextCursor
	}
	if views == nil {
		views = []eventView{}
	}
	return c.JSON(fiber.Map{"data": views, "page": info})
}

// LedgerReader reads the ledger index.
type LedgerReader interface {
	Get(ctx context.Context, seq uint32) (ledgers.Ledger, uint32, bool, error)
}

// ledgerEvents are the chain events of ledger l on the current branch: those between the marker before it and its
// own that carry its hash (a reorg puts reversals and abandoned events in that range too).
func (s *Server) ledgerEvents(ctx context.Context, l ledgers.Ledger) ([]json.RawMessage, error) {
	var out []json.RawMessage
	after := l.From
	for after < l.Position {
		page, err := s.cfg.Events.ReadAll(ctx, after, min(1000, int(l.Position-after)))
		if err != nil {
			return nil, fmt.Errorf("read ledger %d: %w", l.Sequence, err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			if r.Position >= l.Position {
				break
			}
			var env struct {
				Event json.RawMessage `json:"event"`
			}
			var meta struct {
				Chain *domain.ChainMeta `json:"chain"`
			}
			if json.Unmarshal(r.Data, &env) != nil || json.Unmarshal(env.Event, &meta) != nil || meta.Chain == nil ||
				meta.Chain.LedgerHash != l.Hash {
				continue
			}
			item, err := json.Marshal(fiber.Map{"eventId": r.ID, "type": r.Type, "stream": r.Stream, "position": r.Position,
				"event": env.Event})
			if err != nil {
				return nil, err
			}
			out = append(out, item)
		}
		after = page[len(page)-1].Position
	}
	return out, nil
}

// ledger serves one ledger: hash, close time, finality and its events.
func (s *Server) ledger(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c); err != nil {
		return err
	}
	seq, err := strconv.ParseUint(c.Params("seq"), 10, 32)
	if err != nil || seq == 0 {
		return apikit.Invalid("seq", "must be a ledger sequence (1 to 4294967295)")
	}
	l, tip, ok, err := s.cfg.Ledgers.Get(c.UserContext(), uint32(seq))
	if err != nil {
		return fmt.Errorf("read ledger %d: %w", seq, err)
	}
	if !ok {
		return apikit.New(fiber.StatusNotFound, CodeNotFound, fmt.Sprintf("ledger %d has not been ingested", seq))
	}
	final := tip >= s.cfg.SafetyMargin && l.Sequence <= tip-s.cfg.SafetyMargin
	if l.Range() {
		// A final ledger without events inside a verified range: the range is what the store keeps of it (DESIGN
		// §13), with the hashes of its ends; of this ledger, what the range says.
		data := fiber.Map{"sequence": seq, "eventCount": 0, "final": final, "events": []json.RawMessage{},
			"verifiedRange": fiber.Map{"first": l.First, "last": l.Sequence, "previousHash": l.PreviousHash, "hash": l.Hash,
				"firstClosedAt": l.FirstClosedAt, "lastClosedAt": l.ClosedAt}}
		switch uint32(seq) {
		case l.First:
			data["previousHash"], data["closedAt"] = l.PreviousHash, l.FirstClosedAt
		case l.Sequence:
			data["hash"], data["closedAt"] = l.Hash, l.ClosedAt
		}
		return c.JSON(fiber.Map{"data": data})
	}
	events, err := s.ledgerEvents(c.UserContext(), l)
	if err != nil {
		return err
	}
	if events == nil {
		events = []json.RawMessage{}
	}
	return c.JSON(fiber.Map{"data": fiber.Map{"sequence": l.Sequence, "hash": l.Hash, "previousHash": l.PreviousHash,
		"closedAt": l.ClosedAt, "eventCount": l.EventCount, "final": final, "events": events}})
}
