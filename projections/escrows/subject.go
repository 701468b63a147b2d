package escrows

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/projections"
)

// Subjects is the LiquiFact module's side of webhook payloads (webhooks.Subjects): an escrow event's subject is
// its escrow as of the event.
type Subjects struct {
	Log      StreamReader
	Decimals Decimals // of the funding tokens
}

// Subject is the escrow of ev as of ev; ok is false for another module's event.
func (s Subjects) Subject(ctx context.Context, ev projections.Event) (kind, id string, body []byte, ok bool, err error) {
	if !Folded(&ev.Recorded) || ev.Domain == nil {
		return "", "", nil, false, nil
	}
	if _, announced := ev.Domain.(domain.Announced); !announced {
		return "", "", nil, false, nil
	}
	contract, ok := contractOf(ev.Domain)
	if !ok {
		return "", "", nil, false, nil
	}
	e, err := Replay(ctx, s.Log, contract, ev.Position)
	if err != nil {
		return "", "", nil, false, fmt.Errorf("escrow %s as of event %s: %w", contract, ev.ID, err)
	}
	v := NewView(e, s.Decimals.Of(e.FundingToken))
	body, err = json.Marshal(v)
	if err != nil {
		return "", "", nil, false, err
	}
	return "escrow", v.ID, body, true, nil
}
