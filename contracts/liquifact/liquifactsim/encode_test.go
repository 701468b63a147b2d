package liquifactsim_test

import (
	"encoding/json"
	"testing"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/contracts/liquifact/liquifactsim"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/nodetest"
)

// The scenario encodes the events it plays to the very bytes @stellar/stellar-base builds for them: the simulated
// contract speaks the contract's encoding, not our idea of it.
func TestScenarioEncodesAsStellarBase(t *testing.T) {
	out := nodetest.Run(t, nodetest.StellarBase(t), "@stellar/stellar-base", "liquifact.js", nil)
	var encoded map[string]struct {
		Topics []string `json:"topics"`
		Value  string   `json:"value"`
	}
	if err := json.Unmarshal(out, &encoded); err != nil {
		t.Fatal(err)
	}
	played := 0
	for topic, ev := range encoded {
		var topics []xdr.ScVal
		for _, raw := range ev.Topics {
			topics = append(topics, scval(t, raw))
		}
		e, _, err := liquifact.Module{}.Decode(domain.ChainMeta{}, topics, scval(t, ev.Value))
		if err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		gotTopics, gotValue, err := liquifactsim.Encode(e)
		if err != nil {
			continue // an event the scenario does not play
		}
		played++
		if b64(t, gotValue) != ev.Value || len(gotTopics) != len(ev.Topics) {
			t.Fatalf("%s: the scenario encodes the data differently", topic)
		}
		for i := range gotTopics {
			if b64(t, gotTopics[i]) != ev.Topics[i] {
				t.Fatalf("%s: the scenario encodes topic %d differently", topic, i)
			}
		}
	}
	if played < 10 {
		t.Fatalf("only %d of the scenario's events checked", played)
	}
}

func scval(t *testing.T, raw string) xdr.ScVal {
	t.Helper()
	var v xdr.ScVal
	if err := xdr.SafeUnmarshalBase64(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func b64(t *testing.T, v xdr.ScVal) string {
	t.Helper()
	s, err := xdr.MarshalBase64(v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
