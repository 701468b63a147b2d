package domain_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/contracts/fluxora/fluxoratest"
	"github.com/streamledger/streamledger/domain"
)

func TestEventEncodingRoundTrip(t *testing.T) {
	seen := map[domain.EventType]bool{}
	for _, e := range fluxoratest.Samples() {
		b, err := domain.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		prefix := `{"type":"` + string(e.Type()) + `","schemaVersion":1,"event":{`
		if !strings.HasPrefix(string(b), prefix) {
			t.Fatalf("encoding of %s starts %s", e.Type(), b[:min(len(b), 80)])
		}
		got, err := testEvents.Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", e.Type(), err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("%s round trip:\n got %+v\nwant %+v", e.Type(), got, e)
		}
		again, _ := domain.Marshal(got)
		if string(again) != string(b) {
			t.Fatalf("%s encoding is not stable", e.Type())
		}
		seen[e.Type()] = true
	}
	if len(seen) != 21+26+20 {
		t.Fatalf("covered %d event types", len(seen))
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := map[string]error{
		`not json`: domain.ErrMalformedEventJSON,
		`{"type":"StreamCreated","schemaVersion":2,"event":{}}`:              domain.ErrUnsupportedSchema,
		`{"type":"StreamCreated","schemaVersion":0,"event":{}}`:              domain.ErrUnsupportedSchema,
		`{"type":"Nope","schemaVersion":1,"event":{}}`:                       domain.ErrUnknownEventType,
		`{"type":"StreamCreated","schemaVersion":1,"event":{"streamId":-1}}`: domain.ErrMalformedEventJSON,
		`{"type":"StreamWithdrawn","schemaVersion":1,"event":{"amount":12}}`: domain.ErrMalformedEventJSON,
	}
	for doc, want := range tests {
		if _, err := testEvents.Unmarshal([]byte(doc)); !errors.Is(err, want) {
			t.Errorf("Unmarshal(%s) error = %v, want %v", doc, err, want)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, e := range fluxoratest.Samples() {
		b, _ := domain.Marshal(e)
		f.Add(b)
	}
	f.Add([]byte(`{"type":"StreamWithdrawn","schemaVersion":1,"event":{"amount":"-170141183460469231731687303715884105729"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := testEvents.Unmarshal(b)
		if err != nil {
			return
		}
		// The fast path for Marshal's own envelope must agree with the general decoder.
		var env struct {
			Type          domain.EventType `json:"type"`
			SchemaVersion int              `json:"schemaVersion"`
			Event         json.RawMessage  `json:"event"`
		}
		if json.Unmarshal(b, &env) == nil {
			if general := testEvents.New(env.Type); general != nil && env.SchemaVersion == domain.SchemaVersion &&
				json.Unmarshal(env.Event, general) == nil && !reflect.DeepEqual(general, e) {
				t.Fatalf("the fast path decoded %+v, the general path %+v", e, general)
			}
		}
		// Whatever decodes must fold without panicking and encode again.
		_ = fluxora.Apply(fluxora.Stream{}, "fuzz", e)
		if _, err := domain.Marshal(e); err != nil {
			t.Fatalf("decoded %s does not encode: %v", e.Type(), err)
		}
	})
}

func TestChainEventIDFormat(t *testing.T) {
	for _, c := range []struct{ ledger, tx, op, idx uint32 }{{0, 0, 0, 0}, {2, 1, 0, 0}, {58752000, 4095, 4095, 4294967295}, {1<<31 - 1, 1, 1, 1}, {1 << 31, 0, 0, 7}, {1<<32 - 1, 4095, 4095, 9}} {
		toid := int64(c.ledger)<<32 | int64(c.tx)<<12 | int64(c.op)
		if got, want := domain.ChainEventID(c.ledger, c.tx, c.op, c.idx), fmt.Sprintf("%019d-%010d", toid, c.idx); got != want {
			t.Errorf("%+v: %s, want %s", c, got, want)
		}
	}
}

// TestRegistryRefusesAmbiguousTypes: two Go types under one stored name could not be told apart when read back.
func TestRegistryRefusesAmbiguousTypes(t *testing.T) {
	if _, err := domain.NewRegistry(&fluxora.StreamCreated{}, &otherStreamCreated{}); err == nil {
		t.Fatal("a registry with two types named StreamCreated was accepted")
	}
	if _, err := domain.NewRegistry(&fluxora.StreamCreated{}, &fluxora.StreamCreated{}); err != nil {
		t.Fatalf("the same type twice: %v", err)
	}
	r := domain.MustRegistry()
	if _, err := r.Unmarshal([]byte(`{"type":"StreamCreated","schemaVersion":1,"event":{}}`)); !errors.Is(err, domain.ErrUnknownEventType) {
		t.Fatalf("a core-only registry read a module's event: %v", err)
	}
}

type otherStreamCreated struct{}

func (*otherStreamCreated) Type() domain.EventType { return fluxora.TypeStreamCreated }
