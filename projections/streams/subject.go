package streams

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/view"
	"github.com/streamledger/streamledger/projections"
)

// Subjects is the stream contract's side of webhook payloads (webhooks.Subjects): a stream event's subject is
// its stream as of the event, in the JSON the stream routes serve.
type Subjects struct {
	Log      StreamReader
	Decimals int // of the token's amounts (7 when zero)
}

// Subject is the stream of ev as of ev; ok is false for an event of no payment stream.
func (s Subjects) Subject(ctx context.Context, ev projections.Event) (kind, id string, body []byte, ok bool, err error) {
	ref, isStream := fluxora.StreamOf(ev.Domain)
	ce, isChain := ev.Domain.(domain.ChainEvent)
	if !isStream || !isChain {
		return "", "", nil, false, nil
	}
	st, err := Replay(ctx, s.Log, ref, ev.Position)
	if err != nil {
		return "", "", nil, false, fmt.Errorf("stream %s as of event %s: %w", ref, ev.ID, err)
	}
	decimals := s.Decimals
	if decimals == 0 {
		decimals = 7
	}
	v := view.NewStream(st, ce.ChainMetadata().LedgerClosedAt.UTC(), decimals)
	body, err = json.Marshal(v)
	if err != nil {
		return "", "", nil, false, fmt.Errorf("stream %s: %w", ref, err)
	}
	return "stream", v.ID, body, true, nil
}
