package escrowsapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/escrows"
)

// Feed is the module's side of the WebSocket feed (http.Feed): a client follows an escrow (escrowId: its invoice
// id or contract id; it may replay the escrow's history fromPosition) or an investor's escrows (investor).
type Feed struct{ api *API }

// Feed is the module's WebSocket side, reading escrows as the routes do.
func (a *API) Feed() Feed { return Feed{api: a} }

const escrowKey, investorKey = "escrow:", "investor:"

// Follow reads escrowId or investor.
func (f Feed) Follow(fields map[string]json.RawMessage, replay bool) (key, history string, ok bool, err error) {
	rawEscrow, hasEscrow := fields["escrowId"]
	rawInvestor, hasInvestor := fields["investor"]
	if !hasEscrow && !hasInvestor {
		return "", "", false, nil
	}
	if hasEscrow == hasInvestor {
		return "", "", false, errors.New("give escrowId or investor, not both")
	}
	var raw string
	if hasInvestor {
		addr, err := domain.ParseAddress(unquote(rawInvestor))
		if err != nil || replay {
			return "", "", false, errors.New("investor must be a G… or C… address (fromPosition applies to escrowId)")
		}
		return investorKey + string(addr), "", true, nil
	}
	raw = unquote(rawEscrow)
	e, err := f.api.find(context.Background(), raw)
	if err != nil {
		return "", "", false, errors.New("escrowId: no such escrow (an invoice id or an escrow contract id)")
	}
	return escrowKey + string(e.Contract), liquifact.EscrowStoreStream(e.Contract), true, nil
}

func unquote(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// Message renders an escrow's event with the escrow now, for the escrow's followers and its investors'.
func (f Feed) Message(ctx context.Context, ev projections.Event, final func(uint32) bool) ([]string, []byte, bool) {
	if !escrows.Folded(&ev.Recorded) || ev.Domain == nil {
		return nil, nil, false
	}
	contract := domain.Address(strings.TrimPrefix(ev.Stream, "escrow-"))
	var state any
	keys := []string{escrowKey + string(contract)}
	e, known, err := f.api.cfg.Escrows.Get(ctx, contract)
	known = known && err == nil
	if known {
		state = escrows.NewView(e, f.api.cfg.Decimals.Of(e.FundingToken))
		for _, p := range e.Positions {
			keys = append(keys, investorKey+string(p.Investor))
		}
	}
	if funded, ok := ev.Domain.(*liquifact.EscrowFunded); ok && !known {
		keys = append(keys, investorKey+string(funded.Investor))
	}
	var raw struct {
		Event json.RawMessage `json:"event"`
	}
	_ = json.Unmarshal(ev.Data, &raw)
	msg := map[string]any{"type": "escrow_update", "escrowId": contract, "invoiceId": e.InvoiceID, "eventId": ev.ID,
		"position": ev.Position, "event": raw.Event, "escrow": state}
	switch v := ev.Domain.(type) {
	case *domain.EventReverted:
		msg["type"], msg["revertedEventId"], msg["ledger"], msg["final"] = "escrow_reverted", v.RevertedEventID, v.RevertedLedger, false
	case *domain.EventRestored:
		msg["restoredEventId"], msg["ledger"], msg["final"] = v.RestoredEventID, v.RestoredLedger, false
	case domain.ChainEvent:
		ledger := v.ChainMetadata().Ledger
		msg["ledger"], msg["final"] = ledger, final(ledger)
	}
	body, _ := json.Marshal(msg)
	return keys, body, true
}

// ReplayComplete ends an escrow's replay.
func (Feed) ReplayComplete(key string, last eventstore.Position) []byte {
	body, _ := json.Marshal(map[string]any{"type": "replay_complete", "escrowId": strings.TrimPrefix(key, escrowKey), "position": last})
	return body
}
