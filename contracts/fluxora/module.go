// Package fluxora is the contract module of Fluxora token streams (DESIGN §12): the stream contract's topics and
// their typed events, read from the contract's real encoding. It knows neither the ingester nor the projections;
// the core sees it through the small interfaces it defines where it uses a module.
package fluxora

import (
	"fmt"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/scval"
)

// Name is the module's name in CONTRACTS (fluxora:C…).
const Name = "fluxora"

// Module is the Fluxora module. The zero value is ready to use.
type Module struct{}

// Name is the module's name in CONTRACTS.
func (Module) Name() string { return Name }

// Decode types one event of a Fluxora contract. It never fails: an unknown topic becomes a ContractEventObserved,
// and a known topic that does not decode becomes one with DecodeError set (decodeErr reports it too, for the
// metric), so nothing the chain said is ever dropped.
func (Module) Decode(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (e domain.Event, topic string, decodeErr error) {
	observed := scval.Observed(m, topics)
	if len(topics) > 1 {
		// An unknown topic of this contract whose second topic is a u64 is filed with that stream: the stream
		// contract's topics name their stream there (an unknown one may be a newer contract version's).
		if id, ok := topics[1].GetU64(); ok {
			v := uint64(id)
			observed.StreamID = &v
		}
	}
	if other, ok := otherTopics[observed.Topic]; ok {
		observed.StreamID = nil // a second topic here is an offer's, a template's, an address: never a stream's
		if e, decodeErr = other(m, topics, data); decodeErr == nil {
			return e, observed.Topic, nil
		}
		observed.DecodeError = decodeErr.Error()
		return observed, observed.Topic, decodeErr
	}
	decode, known := topicDecoders[observed.Topic]
	if !known {
		decode, known = streamTopicsMore[observed.Topic]
	}
	if !known {
		return observed, observed.Topic, nil
	}
	if observed.StreamID == nil {
		decodeErr = fmt.Errorf("%w: topic %q without a u64 stream id as its second topic", scval.ErrShape, observed.Topic)
	} else {
		e, decodeErr = decode(m, *observed.StreamID, data)
		if decodeErr == nil {
			return e, observed.Topic, nil
		}
	}
	observed.DecodeError = decodeErr.Error()
	return observed, observed.Topic, decodeErr
}

// StoreStream files a stream's events in the stream's store stream (fluxora-{contract}-{id}), everything else
// in the contract's.
func (Module) StoreStream(e domain.Event) string { return storeStream(e) }

// Events are the stream contract's event types.
func (Module) Events() []domain.Event { return Events() }

func storeStream(e domain.Event) string {
	if ref, ok := StreamOf(e); ok {
		return ref.StoreStream()
	}
	if ce, ok := e.(domain.ChainEvent); ok {
		return domain.ContractStoreStream(ce.ChainMetadata().ContractID)
	}
	return ""
}

// Implied are the events a decoded event implies although the contract emits none for them: a delegation opens
// the history of its child stream (the contract emits no `created` for it). The child's opening is filed in the
// child's stream, with the delegation's chain metadata, so a reorg that reverts one reverts both, and an id
// derived from the delegation's.
func (Module) Implied(id string, e domain.Event) []domain.Implied {
	d, ok := e.(*StreamShareDelegated)
	if !ok {
		return nil
	}
	return []domain.Implied{{ID: DelegatedFromID(id), Event: &StreamDelegatedFrom{ChainMeta: d.ChainMeta,
		StreamID: d.ChildStreamID, ParentStreamID: d.ParentStreamID, DelegationEventID: id}}}
}

// Interpret reads a stored event with today's decoder (DESIGN §12, decoder evolution): an event an older decoder
// kept as ContractEventObserved, which keeps the contract event's raw XDR, becomes the typed event this decoder
// makes of it, when it makes one. Everything else, and an observed event this decoder cannot type either, is
// returned as it is. The log is never rewritten: projections call this as they read, so a replay after an upgrade
// gives the new meaning.
func (m Module) Interpret(e domain.Event) domain.Event {
	// Most events are typed: answer them before making the method value, which would allocate for every event.
	if _, ok := e.(*domain.ContractEventObserved); !ok {
		return e
	}
	return scval.Reinterpret(e, knownTopic, m.Decode)
}

func knownTopic(topic string) bool {
	_, a := topicDecoders[topic]
	_, b := streamTopicsMore[topic]
	_, c := otherTopics[topic]
	return a || b || c
}

// Codec reads the stream contract's stored events: the registry of its types and today's decoder (decoder
// evolution, DESIGN §12). It is for readers that fold one stream contract's events, such as the stream read model;
// the engine's readers use chain.Contracts, which covers every bound module.
type Codec struct{ events *domain.Registry }

// NewCodec builds the stream contract's codec.
func NewCodec() Codec { return Codec{events: domain.MustRegistry(Events()...)} }

// Events is the registry of the core's and the stream contract's event types.
func (c Codec) Events() *domain.Registry { return c.events }

// Interpret reads an event an older decoder kept as observed with today's decoder.
func (Codec) Interpret(e domain.Event) domain.Event { return Module{}.Interpret(e) }
