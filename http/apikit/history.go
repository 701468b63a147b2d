package apikit

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
)

// StreamReader reads one store stream.
type StreamReader interface {
	ReadStream(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error)
}

// eventView is one stored event of a history; reverted events stay, flagged, with the reversal.
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

// History answers a subject's stored events (a stream's, an escrow's: the store stream stream, named what in
// errors) in order, keyset-paginated by version, each reverted event flagged with the reversal that took it back.
func History(c *fiber.Ctx, kit Kit, events StreamReader, stream, what string) error {
	limit, err := ParseLimit(c)
	if err != nil {
		return err
	}
	scope := "events|" + stream
	var from int64
	if raw := c.Query("cursor"); raw != "" {
		if err := kit.Cursors.Decode(scope, raw, &from); err != nil {
			return err
		}
	}
	// Streams hold tens to hundreds of events: read them all, so that a reversal later in the stream flags the
	// event it reverts on every page.
	var recs []eventstore.Recorded
	var next eventstore.Version
	for {
		page, err := events.ReadStream(c.UserContext(), stream, next, 1000)
		if err != nil {
			return fmt.Errorf("read %s: %w", what, err)
		}
		recs = append(recs, page...)
		if len(page) < 1000 {
			break
		}
		next = page[len(page)-1].Version + 1
	}
	if len(recs) == 0 {
		return New(fiber.StatusNotFound, CodeNotFound, "no "+what)
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
	info := PageInfo{Limit: limit, HasMore: more}
	if more {
		nextCursor, err := kit.Cursors.Encode(scope, int64(views[len(views)-1].Version)+1)
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
