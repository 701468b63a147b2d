package chain

import (
	"bytes"
	"context"
	"encoding/base64"
	"testing"

	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain/sim"
)

// simulatedScVals are the topics and values (base64 XDR) of the contract events of a simulated network: the
// contract's real encoding of every event the simulator emits.
func simulatedScVals(tb testing.TB) []string {
	tb.Helper()
	c, err := sim.New(sim.Config{Seed: 7, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 12, TxPerLedger: 6, Ledgers: 120})
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for seq := c.StartLedger(); seq <= c.LastLedger(); seq++ {
		lcm, err := c.Ledger(context.Background(), seq)
		if err != nil {
			tb.Fatal(err)
		}
		raw, err := lcm.MarshalBinary()
		if err != nil {
			tb.Fatal(err)
		}
		for _, ev := range referenceEvents(tb, raw) {
			out = append(out, ev.value)
			out = append(out, ev.topics...)
		}
	}
	if len(out) < 1000 {
		tb.Fatalf("only %d ScVals from the simulator", len(out))
	}
	return out
}

// sameEncoding fails when appendScVal takes v and encodes it otherwise than the SDK does.
func sameEncoding(t *testing.T, v *xdr.ScVal) bool {
	t.Helper()
	want, sdkErr := v.MarshalBinary()
	got, ok := appendScVal(nil, v)
	if !ok {
		return false
	}
	if sdkErr != nil {
		t.Fatalf("the SDK refuses to encode %v (%v); appendScVal encoded it", v.Type, sdkErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%v:\n got %x\nwant %x", v.Type, got, want)
	}
	return true
}

// TestAppendScValMatchesSDK: every topic and value of the contract events of a simulated network (the Fluxora
// contract's encoding), and of a real pubnet ledger, encodes as the SDK encodes it; the Fluxora ones all take the
// fast path.
func TestAppendScValMatchesSDK(t *testing.T) {
	for _, s := range simulatedScVals(t) {
		raw, _ := base64.StdEncoding.DecodeString(s)
		var v xdr.ScVal
		if err := xdr.SafeUnmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		if !sameEncoding(t, &v) {
			t.Errorf("a Fluxora ScVal of type %v takes the slow path", v.Type)
		}
	}
	taken, total := 0, 0
	for _, ev := range referenceEvents(t, pubnetLedger(t)) {
		for _, s := range append([]string{ev.value}, ev.topics...) {
			raw, _ := base64.StdEncoding.DecodeString(s)
			var v xdr.ScVal
			if err := xdr.SafeUnmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			total++
			if sameEncoding(t, &v) {
				taken++
			}
		}
	}
	t.Logf("pubnet ledger: %d of %d ScVals on the fast path", taken, total)
	for _, v := range []xdr.ScVal{{Type: xdr.ScValTypeScvU64}, {Type: xdr.ScValTypeScvVec}, {Type: xdr.ScValTypeScvAddress, Address: &xdr.ScAddress{Type: 4}}} {
		if _, ok := appendScVal(nil, &v); ok {
			t.Errorf("a malformed %v took the fast path", v.Type)
		}
	}
}

func FuzzAppendScVal(f *testing.F) {
	for _, s := range simulatedScVals(f)[:200] {
		raw, _ := base64.StdEncoding.DecodeString(s)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var v xdr.ScVal
		if xdr.SafeUnmarshal(raw, &v) != nil {
			return
		}
		sameEncoding(t, &v)
	})
}
