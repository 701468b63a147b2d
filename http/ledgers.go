package http

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/projections/ledgers"
)

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
	seq, err := apikit.LedgerSeq("seq", c.Params("seq"))
	if err != nil {
		return err
	}
	l, tip, ok, err := s.cfg.Ledgers.Get(c.UserContext(), seq)
	if err != nil {
		return fmt.Errorf("read ledger %d: %w", seq, err)
	}
	if !ok {
		return apikit.New(fiber.StatusNotFound, apikit.CodeNotFound, fmt.Sprintf("ledger %d has not been ingested", seq))
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
