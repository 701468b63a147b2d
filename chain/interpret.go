package chain

import (
	"encoding/base64"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
)

// Interpret reads a stored event with today's decoder (DESIGN §12, decoder evolution): an event an older decoder
// kept as ContractEventObserved, which keeps the contract event's raw XDR, becomes the typed event this decoder
// makes of it, when it makes one. Everything else, and an observed event this decoder cannot type either, is
// returned as it is. The log is never rewritten: projections call this as they read, so a replay after an upgrade
// gives the new meaning.
func Interpret(e domain.Event) domain.Event {
	observed, ok := e.(*domain.ContractEventObserved)
	if !ok || observed.ValueXDR == "" || !knownTopic(observed.Topic) {
		return e
	}
	topics := make([]xdr.ScVal, len(observed.TopicsXDR))
	for i, raw := range observed.TopicsXDR {
		if !unmarshalScVal(raw, &topics[i]) {
			return e
		}
	}
	var data xdr.ScVal
	if !unmarshalScVal(observed.ValueXDR, &data) {
		return e
	}
	typed, _, err := decodeEvent(observed.ChainMeta, topics, data)
	if err != nil {
		return e
	}
	if _, still := typed.(*domain.ContractEventObserved); still {
		return e
	}
	return typed
}

func knownTopic(topic string) bool {
	_, a := topicDecoders[topic]
	_, b := streamTopicsMore[topic]
	_, c := otherTopics[topic]
	return a || b || c
}

func unmarshalScVal(b64 string, v *xdr.ScVal) bool {
	raw, err := base64.StdEncoding.DecodeString(b64)
	return err == nil && xdr.SafeUnmarshal(raw, v) == nil
}
