// Package outbox is the webhook-outbox projection (DESIGN §5, §8): one message per (endpoint, domain event) once
// the event is final — its ledger at or below the last safe ledger, tip − SAFETY_MARGIN, as the ledger markers in
// the log tell — for the endpoints registered (WebhookEndpointAdded) before it became final and whose event-type
// filter matches. Events wait in a pending set until then; a reversal removes them, so an event that did not
// finally happen never produces a message.
//
// Messages are the projection's output; delivery state belongs to the webhooks worker, keyed by the stable
// delivery id, so that rebuilding the outbox into a new generation re-creates messages without re-sending them.
package outbox

import (
	"context"
	"fmt"
	"sort"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/projections"
)

// Name is the projection's name.
const Name = "outbox"

// WebhookType is the webhook type of a domain event, or false for events that are not delivered (observed
// events, reversals, markers, contract-level events): a module's events say theirs (domain.Announced).
func WebhookType(e domain.Event) (string, bool) {
	if a, ok := e.(domain.Announced); ok {
		return a.WebhookType(), true
	}
	return "", false
}

// Message is one webhook to deliver.
type Message struct {
	// ID is the delivery id: stable for an (endpoint, event) pair across retries, redeliveries and rebuilds.
	ID            string              `json:"id"`
	EndpointID    string              `json:"endpointId"`
	EventID       string              `json:"eventId"`
	Type          string              `json:"type"`
	Stream        string              `json:"stream"`
	Ledger        uint32              `json:"ledger"`
	EventPosition eventstore.Position `json:"eventPosition"`
	// FinalPosition is the position of the ledger marker that made the event final.
	FinalPosition eventstore.Position `json:"finalPosition"`
}

// DeliveryID is the stable id of the delivery of an event to an endpoint.
func DeliveryID(endpointID, eventID string) string {
	return domain.DerivedEventUUID("delivery", endpointID, eventID)
}

// Endpoint is a registered endpoint as the outbox sees it.
type Endpoint struct {
	ID         string   `json:"id"`
	EventTypes []string `json:"eventTypes,omitempty"`
}

func (e Endpoint) wants(t string) bool {
	if len(e.EventTypes) == 0 {
		return true
	}
	for _, want := range e.EventTypes {
		if want == t {
			return true
		}
	}
	return false
}

// Pending is an event waiting to become final. A reverted one is kept, flagged, until its ledger is final (it can
// no longer come back then): the chain may return to its branch, and its restoration makes it pending again.
type Pending struct {
	EventID  string              `json:"eventId"`
	Type     string              `json:"type"`
	Stream   string              `json:"stream"`
	Ledger   uint32              `json:"ledger"`
	Position eventstore.Position `json:"position"`
	Reverted bool                `json:"reverted,omitempty"`
}

// State is what the outbox needs to know between events: the chain's tip as the ledger markers and reorgs tell it,
// the registered endpoints and the pending events (a few ledgers' worth).
type State struct {
	Tip       uint32
	Endpoints map[string]Endpoint
	Pending   []Pending
}

// step applies one event to the state and returns the messages it releases, with the pending events added and
// removed (for stores that write differences).
func (s *State) step(ev projections.Event, margin uint32) (released []Message, added, removed []Pending) {
	switch e := ev.Domain.(type) {
	case *domain.WebhookEndpointAdded:
		s.Endpoints[e.EndpointID] = Endpoint{ID: e.EndpointID, EventTypes: e.EventTypes}
	case *domain.WebhookEndpointRemoved:
		delete(s.Endpoints, e.EndpointID)
	case *domain.EventReverted:
		removed, added = s.flag(e.RevertedEventID, true)
	case *domain.EventRestored:
		removed, added = s.flag(e.RestoredEventID, false)
	case *domain.ChainReorganized:
		// The tip only comes down: a reorg onto a longer branch, the usual case, is followed by that branch's markers
		// (releasing then what they always have), while after a rewind (NewTip is the fork) or onto a shorter branch
		// the ledgers below the old tip are final only once the chain is the margin beyond them again.
		s.Tip = min(s.Tip, e.NewTip)
	case *domain.LedgerClosed, *domain.LedgersVerified:
		if m, ok := e.(*domain.LedgerClosed); ok {
			s.Tip = max(s.Tip, m.Ledger)
		} else {
			s.Tip = max(s.Tip, e.(*domain.LedgersVerified).Last)
		}
		if s.Tip <= margin {
			return nil, nil, nil
		}
		safe := s.Tip - margin
		ids := make([]string, 0, len(s.Endpoints))
		for id := range s.Endpoints {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		kept := s.Pending[:0:0]
		for _, p := range s.Pending {
			if p.Ledger > safe {
				kept = append(kept, p)
				continue
			}
			removed = append(removed, p)
			if p.Reverted {
				continue // final and reverted: it never happened
			}
			for _, id := range ids {
				if s.Endpoints[id].wants(p.Type) {
					released = append(released, Message{ID: DeliveryID(id, p.EventID), EndpointID: id, EventID: p.EventID,
						Type: p.Type, Stream: p.Stream, Ledger: p.Ledger, EventPosition: p.Position, FinalPosition: ev.Position})
				}
			}
		}
		s.Pending = kept
	default:
		t, ok := WebhookType(ev.Domain)
		if !ok {
			return nil, nil, nil
		}
		p := Pending{EventID: ev.ID, Type: t, Stream: ev.Stream, Ledger: ev.Domain.(domain.ChainEvent).ChainMetadata().Ledger,
			Position: ev.Position}
		s.Pending = append(s.Pending, p)
		added = append(added, p)
	}
	return released, added, removed
}

// flag marks the pending event id reverted or not (a restoration), as a removal and an addition for stores that
// write differences.
func (s *State) flag(id string, reverted bool) (removed, added []Pending) {
	for i, p := range s.Pending {
		if p.EventID == id && p.Reverted != reverted {
			removed = append(removed, p)
			s.Pending[i].Reverted = reverted
			added = append(added, s.Pending[i])
			break
		}
	}
	return removed, added
}

// Key is a message's (endpoint, event) pair, its identity.
func (m Message) Key() string { return m.EndpointID + "/" + m.EventID }

// Cursor is a place in the outbox, after the message it names. Messages are ordered by the marker that made them
// final, then by event, then by endpoint: an order every generation of the outbox agrees on (a rebuild releases the
// same messages at the same positions), so a reader's cursor survives rebuilds.
type Cursor struct {
	FinalPosition eventstore.Position `json:"finalPosition"`
	EventPosition eventstore.Position `json:"eventPosition"`
	EndpointID    string              `json:"endpointId"`
}

// CursorOf is the cursor just after m.
func CursorOf(m Message) Cursor {
	return Cursor{FinalPosition: m.FinalPosition, EventPosition: m.EventPosition, EndpointID: m.EndpointID}
}

// Before reports whether c sorts before d.
func (c Cursor) Before(d Cursor) bool {
	if c.FinalPosition != d.FinalPosition {
		return c.FinalPosition < d.FinalPosition
	}
	if c.EventPosition != d.EventPosition {
		return c.EventPosition < d.EventPosition
	}
	return c.EndpointID < d.EndpointID
}

// Matching runs the log after position after through the outbox's rules for one endpoint, as if it had been
// registered before the first event, and calls fn with each message it would have released, in order: the
// endpoint's matching events that became final and were not reverted. Recovering an endpoint's missed deliveries
// starts here.
//
// Started after a later position than 0, it releases the same messages for the events after that position as a
// run from the start (at later markers, at times): it starts knowing no tip, and the tip it learns is never above
// the one a run from the start would know, so it never finds an event final earlier; and an event a run from the
// start finds final has a marker the margin above it after it (its own branch's, in its batch when a reorg is
// what raised the tip), which this run sees. Events before the position are never released. in reads contract
// events with today's decoders (nil: as stored).
func Matching(ctx context.Context, log Reader, in projections.Codec, margin uint32, ep Endpoint, after eventstore.Position, fn func(Message) error) error {
	st := State{Endpoints: map[string]Endpoint{ep.ID: ep}}
	for {
		recs, err := log.ReadAll(ctx, after, 2000)
		if err != nil {
			return fmt.Errorf("read the log after %d: %w", after, err)
		}
		for _, rec := range recs {
			after = rec.Position
			if rec.Type == string(domain.TypeWebhookEndpointAdded) || rec.Type == string(domain.TypeWebhookEndpointRemoved) {
				continue
			}
			ev, err := projections.Decode(rec, in)
			if err != nil {
				return err
			}
			released, _, _ := st.step(ev, margin)
			for _, m := range released {
				if err := fn(m); err != nil {
					return err
				}
			}
		}
		if len(recs) < 2000 {
			return nil
		}
	}
}

// Reader reads the event log in order.
type Reader interface {
	ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error)
}
