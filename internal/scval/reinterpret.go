package scval

import (
	"encoding/base64"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
)

// Reinterpret is decoder evolution for a module (DESIGN §12): an event an older decoder kept as
// ContractEventObserved, which keeps the contract event's raw XDR, decoded again by decode when known says its
// topic is one the module types now. Anything else, and an event decode still cannot type, is returned as it is.
func Reinterpret(e domain.Event, known func(string) bool,
	decode func(domain.ChainMeta, []xdr.ScVal, xdr.ScVal) (domain.Event, string, error)) domain.Event {
	observed, ok := e.(*domain.ContractEventObserved)
	if !ok || observed.ValueXDR == "" || !known(observed.Topic) {
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
	typed, _, err := decode(observed.ChainMeta, topics, data)
	if err != nil {
		return e
	}
	if _, still := typed.(*domain.ContractEventObserved); still {
		return e
	}
	return typed
}

func unmarshalScVal(b64 string, v *xdr.ScVal) bool {
	raw, err := base64.StdEncoding.DecodeString(b64)
	return err == nil && xdr.SafeUnmarshal(raw, v) == nil
}
