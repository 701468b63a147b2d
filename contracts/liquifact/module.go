// Package liquifact is the contract module of LiquiFact invoice escrows (DESIGN §12): one contract instance per
// invoice, whose #[contractevent] structs it types from their real encoding. It knows neither the ingester nor the
// projections.
package liquifact

import (
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/scval"
)

// Name is the module's name in CONTRACTS (liquifact:C…).
const Name = "liquifact"

// Module is the LiquiFact escrow module. The zero value is ready to use.
type Module struct{}

// Name is the module's name in CONTRACTS.
func (Module) Name() string { return Name }

// Decode types one event of an escrow contract by its fixed topic (topic 0, the struct's name in snake case; the
// `name` symbol after it is not unique). It never drops anything: an unknown topic is a ContractEventObserved, and
// a known one that does not decode is one with DecodeError set (decodeErr says so too, for the metric).
func (Module) Decode(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (e domain.Event, topic string, decodeErr error) {
	observed := scval.Observed(m, topics)
	shape, known := shapes(observed.Topic)
	if !known {
		return observed, observed.Topic, nil
	}
	e, decodeErr = decode(m, shape, topics, data)
	if decodeErr == nil {
		return e, observed.Topic, nil
	}
	observed.DecodeError = decodeErr.Error()
	return observed, observed.Topic, decodeErr
}

// StoreStream files every event of an escrow contract in the escrow's store stream: one contract is one invoice.
func (Module) StoreStream(e domain.Event) string {
	if ce, ok := e.(domain.ChainEvent); ok {
		return EscrowStoreStream(ce.ChainMetadata().ContractID)
	}
	return ""
}

// EscrowStoreStream is the store stream of the escrow contract c (DESIGN §3).
func EscrowStoreStream(c domain.Address) string { return "escrow-" + string(c) }

// Implied: an escrow's events imply none the contract does not emit.
func (Module) Implied(string, domain.Event) []domain.Implied { return nil }

// Interpret reads an event an older decoder kept as observed with today's decoder (decoder evolution).
func (m Module) Interpret(e domain.Event) domain.Event {
	if _, ok := e.(*domain.ContractEventObserved); !ok {
		return e
	}
	return scval.Reinterpret(e, func(topic string) bool { _, ok := shapes(topic); return ok }, m.Decode)
}
