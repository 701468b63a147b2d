package webhooks

// Payloads: what a delivery says, the event with its subject as the module that has it shows it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/outbox"
)

// Payload is the body of a delivery (DESIGN §8). Its timestamp is the close time of the event's ledger and its
// stream is the state right after the event, so the bytes are the same however often they are built.
type Payload struct {
	ID        string      `json:"id"` // the delivery id
	Type      string      `json:"type"`
	Timestamp time.Time   `json:"timestamp"`
	Data      PayloadData `json:"data"`
}

// PayloadData is what happened: the event, and its subject as of it under the subject's kind ("stream": {…}).
type PayloadData struct {
	EventID string
	Subject Subject
	Event   json.RawMessage
	Ledger  uint32
	TxHash  string

	closedAt time.Time // the payload's timestamp
}

// Subject is what an event is about, as of the event: a payment stream, an escrow. Its module makes it.
type Subject struct {
	Kind string          // its key in the payload: "stream", "escrow"
	ID   string          // its id in the API
	View json.RawMessage // the module's JSON of it, as its routes serve it
}

// Subjects is a module's side of payloads: the subject of an event of its own as of the event, its kind, id and
// JSON (ok false for another module's event).
type Subjects interface {
	Subject(ctx context.Context, ev projections.Event) (kind, id string, view []byte, ok bool, err error)
}

// payloadKey tells PayloadData's keys besides its subject's.
func payloadKey(k string) bool {
	switch k {
	case "eventId", "event", "ledger", "txHash":
		return true
	}
	return false
}

// MarshalJSON writes {"eventId", "<kind>": subject, "event", "ledger", "txHash"}.
func (d PayloadData) MarshalJSON() ([]byte, error) {
	if d.Subject.Kind == "" || payloadKey(d.Subject.Kind) || !json.Valid(d.Subject.View) {
		return nil, fmt.Errorf("payload of event %s: subject kind %q with an invalid view", d.EventID, d.Subject.Kind)
	}
	head, err := json.Marshal(struct {
		EventID string `json:"eventId"`
	}{d.EventID})
	if err != nil {
		return nil, err
	}
	tail, err := json.Marshal(struct {
		Event  json.RawMessage `json:"event"`
		Ledger uint32          `json:"ledger"`
		TxHash string          `json:"txHash"`
	}{d.Event, d.Ledger, d.TxHash})
	if err != nil {
		return nil, err
	}
	kind, err := json.Marshal(d.Subject.Kind)
	if err != nil {
		return nil, err
	}
	out := append(head[:len(head)-1], ',')
	out = append(append(append(out, kind...), ':'), d.Subject.View...)
	return append(append(out, ','), tail[1:]...), nil
}

// UnmarshalJSON reads what MarshalJSON writes, for consumers: the one key that is not the event's is the subject.
func (d *PayloadData) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	var known struct {
		EventID string          `json:"eventId"`
		Event   json.RawMessage `json:"event"`
		Ledger  uint32          `json:"ledger"`
		TxHash  string          `json:"txHash"`
	}
	if err := json.Unmarshal(b, &known); err != nil {
		return err
	}
	*d = PayloadData{EventID: known.EventID, Event: known.Event, Ledger: known.Ledger, TxHash: known.TxHash}
	for k, v := range fields {
		if payloadKey(k) {
			continue
		}
		if d.Subject.Kind != "" {
			return fmt.Errorf("payload data has two subjects, %q and %q", d.Subject.Kind, k)
		}
		var id struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(v, &id); err != nil {
			return fmt.Errorf("payload subject %q: %w", k, err)
		}
		d.Subject = Subject{Kind: k, ID: id.ID, View: v}
	}
	if d.Subject.Kind == "" {
		return errors.New("payload data has no subject")
	}
	return nil
}

// job builds the delivery of an outbox message, and returns the event's ledger close time.
func (s *Service) job(ctx context.Context, m outbox.Message) (Job, time.Time, error) {
	data, err := s.payloadData(ctx, m)
	if err != nil {
		return Job{}, time.Time{}, err
	}
	j, err := jobOf(m, data)
	return j, data.closedAt, err
}

// jobOf is the delivery of m with the event's payload data.
func jobOf(m outbox.Message, data PayloadData) (Job, error) {
	body, err := json.Marshal(Payload{ID: m.ID, Type: m.Type, Timestamp: data.closedAt, Data: data})
	if err != nil {
		return Job{}, err
	}
	return Job{ID: m.ID, EndpointID: m.EndpointID, EventID: m.EventID, EventType: m.Type, Body: body}, nil
}

// payloadData is what a delivery of m's event says, the same for every endpoint.
func (s *Service) payloadData(ctx context.Context, m outbox.Message) (PayloadData, error) {
	recs, err := s.cfg.Log.ReadAll(ctx, m.EventPosition-1, 1)
	if err != nil {
		return PayloadData{}, fmt.Errorf("read event %s: %w", m.EventID, err)
	}
	if len(recs) != 1 || recs[0].Position != m.EventPosition || !strings.EqualFold(recs[0].ID, m.EventID) {
		return PayloadData{}, fmt.Errorf("outbox message %s: no event %s at position %d", m.ID, m.EventID, m.EventPosition)
	}
	ev, err := projections.Decode(recs[0], s.cfg.Codec)
	if err != nil {
		return PayloadData{}, err
	}
	ce, ok := ev.Domain.(domain.ChainEvent)
	if !ok {
		return PayloadData{}, fmt.Errorf("outbox message %s names event %s, which is not a chain event", m.ID, m.EventID)
	}
	meta := ce.ChainMetadata()
	var subject Subject
	found := false
	for _, subjects := range s.cfg.Subjects {
		kind, id, view, ok, err := subjects.Subject(ctx, ev)
		if err != nil {
			return PayloadData{}, fmt.Errorf("subject of event %s: %w", m.EventID, err)
		}
		if ok {
			subject, found = Subject{Kind: kind, ID: id, View: view}, true
			break
		}
	}
	if !found {
		return PayloadData{}, fmt.Errorf("outbox message %s names event %s (%s), which no module has a subject for", m.ID,
			m.EventID, ev.Domain.Type())
	}
	var stored struct {
		Event json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(recs[0].Data, &stored); err != nil {
		return PayloadData{}, fmt.Errorf("stored event %s: %w", m.EventID, err)
	}
	closedAt := meta.LedgerClosedAt.UTC()
	return PayloadData{EventID: m.EventID, Subject: subject, Event: stored.Event,
		Ledger: meta.Ledger, TxHash: meta.TxHash, closedAt: closedAt}, nil
}
