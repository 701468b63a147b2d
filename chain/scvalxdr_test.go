package chain

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/stellar/go-stellar-sdk/xdr"
)

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

// TestAppendScValMatchesSDK: every topic and value of the fixtures of every Fluxora topic, and of the contract
// events of a real pubnet ledger, encodes as the SDK encodes it; the Fluxora ones all take the fast path.
func TestAppendScValMatchesSDK(t *testing.T) {
	for _, fx := range topicFixtures {
		for _, s := range append([]string{fx.value}, fx.topics...) {
			raw, _ := base64.StdEncoding.DecodeString(s)
			var v xdr.ScVal
			if err := xdr.SafeUnmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			if !sameEncoding(t, &v) {
				t.Errorf("%s: a Fluxora ScVal of type %v takes the slow path", fx.want.Type(), v.Type)
			}
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
	for _, fx := range topicFixtures {
		raw, _ := base64.StdEncoding.DecodeString(fx.value)
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
