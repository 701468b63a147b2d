package streamsapi

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/view"
	"github.com/streamledger/streamledger/projections"
)

// Feed is the stream contract's side of the WebSocket feed (http.Feed): a client follows a stream (streamId, which
// may replay its history fromPosition) or a recipient's streams (recipient).
type Feed struct {
	api *API
	now func() time.Time
}

// Feed is the module's WebSocket side, reading streams as the routes do.
func (a *API) Feed(now func() time.Time) Feed { return Feed{api: a, now: now} }

// Follow reads streamId or recipient.
func (f Feed) Follow(fields map[string]json.RawMessage, replay bool) (key, history string, ok bool, err error) {
	rawStream, hasStream := fields["streamId"]
	rawRecipient, hasRecipient := fields["recipient"]
	if !hasStream && !hasRecipient {
		return "", "", false, nil
	}
	if hasStream == hasRecipient {
		return "", "", false, errors.New("give streamId or recipient, not both")
	}
	if hasRecipient {
		var raw string
		if json.Unmarshal(rawRecipient, &raw) != nil || replay {
			return "", "", false, errors.New("recipient must be a G… or C… address (fromPosition applies to streamId)")
		}
		addr, err := domain.ParseAddress(raw)
		if err != nil {
			return "", "", false, errors.New("recipient must be a G… or C… address (fromPosition applies to streamId)")
		}
		return recipientKey(addr), "", true, nil
	}
	var raw string
	if json.Unmarshal(rawStream, &raw) != nil {
		return "", "", false, errors.New("streamId: use {contractId}:{streamId}")
	}
	ref, err := f.api.parseRef(raw)
	if err != nil {
		return "", "", false, errors.New("streamId: use {contractId}:{streamId}")
	}
	return streamKey(ref), ref.StoreStream(), true, nil
}

func streamKey(ref fluxora.StreamRef) string  { return "stream:" + ref.String() }
func recipientKey(addr domain.Address) string { return "recipient:" + string(addr) }

// Message renders a stream's event with the stream's state, for the stream's followers and its recipient's.
func (f Feed) Message(ctx context.Context, ev projections.Event, final func(uint32) bool) ([]string, []byte, bool) {
	ref, ok := fluxora.StreamOf(ev.Domain)
	if !ok {
		return nil, nil, false
	}
	var recipient domain.Address
	var state any
	if st, ok, err := f.api.cfg.Streams.Get(ctx, ref); err == nil && ok {
		recipient = st.Recipient
		state = view.NewStream(st, f.now().Truncate(time.Second), f.api.cfg.Decimals)
	}
	// Events that name the recipient are believed over a projection that may not have caught up with them.
	switch e := ev.Domain.(type) {
	case *fluxora.StreamCreated:
		recipient = e.Recipient
	case *fluxora.StreamCloned:
		recipient = e.Recipient
	case *fluxora.StreamWithdrawn:
		recipient = e.Recipient
	case *fluxora.StreamRecipientUpdated:
		recipient = e.NewRecipient
	}
	var raw struct {
		Event json.RawMessage `json:"event"`
	}
	_ = json.Unmarshal(ev.Data, &raw)
	msg := map[string]any{"type": "stream_update", "streamId": ref.String(), "eventId": ev.ID, "position": ev.Position,
		"event": raw.Event, "stream": state}
	switch e := ev.Domain.(type) {
	case *domain.EventReverted:
		msg["type"] = "stream_reverted"
		msg["revertedEventId"] = e.RevertedEventID
		msg["ledger"] = e.RevertedLedger
		msg["final"] = false
	case *domain.EventRestored:
		// The chain came back to the branch of an event it had taken back: an update, the event standing again.
		msg["restoredEventId"] = e.RestoredEventID
		msg["ledger"] = e.RestoredLedger
		msg["final"] = false
	case domain.ChainEvent:
		ledger := e.ChainMetadata().Ledger
		msg["ledger"] = ledger
		msg["final"] = final(ledger)
	}
	body, _ := json.Marshal(msg)
	keys := []string{streamKey(ref)}
	if recipient != "" {
		keys = append(keys, recipientKey(recipient))
	}
	return keys, body, true
}

// ReplayComplete ends a stream's replay.
func (f Feed) ReplayComplete(key string, last eventstore.Position) []byte {
	body, _ := json.Marshal(map[string]any{"type": "replay_complete", "streamId": key[len("stream:"):], "position": last})
	return body
}
