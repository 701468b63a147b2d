package domain_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/contracts/fluxora/fluxoratest"
	"github.com/streamledger/streamledger/domain"
)

func layoutEvents() []domain.Event {
	return append(fluxoratest.Samples(),
		&domain.OperatorRewound{NetworkID: "n", From: 9, To: 7, Reason: "deep reorg", Operator: "ops@example.com"},
		&domain.WebhookEndpointAdded{EndpointID: "ep", URL: "https://example.com/hook", EventTypes: []string{"StreamCreated"}, Description: "d"},
		&domain.WebhookEndpointAdded{EndpointID: "ep", URL: "https://example.com/hook"},
		&domain.WebhookEndpointRemoved{EndpointID: "ep"},
		&domain.ContractEventObserved{ChainMeta: fluxoratest.At(7, fluxoratest.T0), Topic: "x"},
		&fluxora.StreamWithdrawn{ChainMeta: fluxoratest.At(7, fluxoratest.T0), StreamID: 1, Recipient: fluxoratest.Account, Amount: domain.NewAmount(0)},
	)
}

// compareLayout decodes body as a t both ways: when the layout decoder accepts it (copying the body or sharing
// it), encoding/json must decode it without error to the same value.
func compareLayout(t *testing.T, typ domain.EventType, body []byte) (accepted bool) {
	t.Helper()
	fast, shared, general := testEvents.New(typ), testEvents.New(typ), testEvents.New(typ)
	if fast == nil {
		return false
	}
	if !domain.DecodeLayout(body, fast, false) {
		return false
	}
	if !domain.DecodeLayout(body, shared, true) {
		t.Fatalf("%s %s: the layout decoder accepted a copy but not the shared body", typ, body)
	}
	if err := json.Unmarshal(body, general); err != nil {
		t.Fatalf("%s %s: the layout decoder accepted what encoding/json refuses: %v", typ, body, err)
	}
	if !reflect.DeepEqual(fast, general) || !reflect.DeepEqual(shared, general) {
		t.Fatalf("%s %s:\nlayout  %+v\nshared  %+v\ngeneral %+v", typ, body, fast, shared, general)
	}
	return true
}

// TestUnmarshalCopies: an event from Unmarshal does not change when the bytes it was decoded from do (callers
// may reuse their buffers); UnmarshalShared's may, which is why it is only for bytes nobody modifies.
func TestUnmarshalCopies(t *testing.T) {
	for _, e := range layoutEvents() {
		data, err := domain.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := testEvents.Unmarshal(data)
		if err != nil {
			t.Fatal(err)
		}
		for i := range data {
			data[i] = 'x'
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("%s changed with the bytes it was decoded from:\ngot  %+v\nwant %+v", e.Type(), got, e)
		}
	}
}

// TestLayoutDecodesWhatMarshalWrites: every event type takes the fast path as Marshal writes it.
func TestLayoutDecodesWhatMarshalWrites(t *testing.T) {
	for _, e := range layoutEvents() {
		b, err := domain.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		name, body, ok := domain.SplitEnvelope(b)
		if !ok || !compareLayout(t, domain.EventType(name), body) {
			t.Errorf("%s: the layout decoder declined Marshal's own output %s", e.Type(), b)
		}
	}
}

// TestLayoutDeclinesOrAgrees: inputs Marshal never writes are declined (and left to encoding/json) or decoded to
// exactly what encoding/json decodes.
func TestLayoutDeclinesOrAgrees(t *testing.T) {
	const chain = `"chain":{"networkId":"n","contractId":"C","ledger":7,"ledgerHash":"h","ledgerClosedAt":"2026-01-01T00:00:00Z","txHash":"t","txIndex":1,"opIndex":0,"eventIndex":0,"chainEventId":"c","topicsXdr":["a"],"valueXdr":"v"}`
	cases := []struct {
		typ    domain.EventType
		body   string
		accept bool
	}{
		{fluxora.TypeStreamWithdrawn, `{` + chain + `,"streamId":5,"recipient":"G","amount":"7"}`, true},
		{fluxora.TypeStreamWithdrawn, `{"streamId":5}`, true},
		{fluxora.TypeStreamWithdrawn, `{}`, true},
		{fluxora.TypeStreamWithdrawn, `{"recipient":"G","streamId":5}`, false},           // another order
		{fluxora.TypeStreamWithdrawn, `{"StreamID":5}`, false},                           // encoding/json matches names case-insensitively
		{fluxora.TypeStreamWithdrawn, `{"streamId":5,"streamId":6}`, false},              // repeated: encoding/json keeps the last
		{fluxora.TypeStreamWithdrawn, `{"streamId":5,"unknown":1}`, false},               // ignored by encoding/json
		{fluxora.TypeStreamWithdrawn, `{"streamId":null}`, true},                         // leaves the (fresh) field zero
		{fluxora.TypeStreamWithdrawn, `{ "streamId":5}`, false},                          // whitespace
		{fluxora.TypeStreamWithdrawn, `{"streamId":05}`, false},                          // not JSON
		{fluxora.TypeStreamWithdrawn, `{"streamId":-5}`, false},                          // not a uint64
		{fluxora.TypeStreamWithdrawn, `{"streamId":5.0}`, false},                         // not an integer
		{fluxora.TypeStreamWithdrawn, `{"streamId":18446744073709551616}`, false},        // overflows
		{fluxora.TypeStreamWithdrawn, `{"streamId":5}x`, false},                          // trailing bytes
		{fluxora.TypeStreamWithdrawn, `{"recipient":"G\u0041"}`, false},                  // escapes
		{fluxora.TypeStreamWithdrawn, `{"recipient":"G\"A"}`, false},                     // an escaped quote
		{fluxora.TypeStreamWithdrawn, "{\"recipient\":\"G\xffA\"}", false},               // invalid UTF-8: encoding/json replaces it
		{fluxora.TypeStreamWithdrawn, "{\"recipient\":\"G\tA\"}", false},                 // a raw control character is not JSON
		{fluxora.TypeStreamWithdrawn, `{"recipient":"Gé"}`, true},                        // valid UTF-8 stays as it is
		{fluxora.TypeStreamWithdrawn, `{"amount":"0x10"}`, false},                        // the amount's own rules
		{fluxora.TypeStreamWithdrawn, `{"amount":12}`, false},                            // amounts are strings
		{fluxora.TypeStreamWithdrawn, `{"amount":"1\u0030"}`, true},                      // escapes go to encoding/json
		{fluxora.TypeStreamWithdrawn, `{"amount":null}`, false},                          // UnmarshalJSON decides about null
		{fluxora.TypeStreamWithdrawn, `{"chain":{"ledgerClosedAt":"yesterday"}}`, false}, // the time's own rules
		{fluxora.TypeStreamWithdrawn, `{"chain":{"topicsXdr":[]}}`, true},
		{fluxora.TypeStreamWithdrawn, `{"chain":{"topicsXdr":null}}`, true},
		{fluxora.TypeStreamWithdrawn, `{"chain":null}`, true},
		{domain.TypeContractEventObserved, `{"streamId":null}`, true},
		{fluxora.TypeStreamWithdrawn, `{"streamId":nul}`, false},
		{fluxora.TypeStreamWithdrawn, `{"chain":{"topicsXdr":["a",1]}}`, false},
		{domain.TypeContractEventObserved, `{"streamId":0}`, true}, // a pointer to zero is not "absent"
		{domain.TypeLedgerClosed, `{"eventCount":-3}`, true},
		{domain.TypeLedgerClosed, `{"eventCount":-}`, false},
		{domain.TypeChainReorganized, `{"networkId":"n","replaced":[{"ledger":7,"oldHash":"a"}]}`, true},
		{domain.TypeChainReorganized, `{"replaced":[{"ledger":7,"oldHash":"a\u0041"}]}`, true}, // structured fields are encoding/json's
		{domain.TypeChainReorganized, `{"replaced":[{"ledger":7,}]}`, false},
		{fluxora.TypeStreamCreated, `{"memo":"aW52b2ljZQ==","metadata":[{"key":"aw==","value":"dg=="}]}`, true},
		{fluxora.TypeStreamCreated, `{"memo":"not base64!"}`, false},
	}
	for _, c := range cases {
		if got := compareLayout(t, c.typ, []byte(c.body)); got != c.accept {
			t.Errorf("%s %s: accepted %v, want %v", c.typ, c.body, got, c.accept)
		}
	}
}

func FuzzLayoutMatchesEncodingJSON(f *testing.F) {
	types := make([]domain.EventType, 0, len(layoutEvents()))
	for i, e := range layoutEvents() {
		b, _ := domain.Marshal(e)
		_, body, _ := domain.SplitEnvelope(b)
		types = append(types, e.Type())
		f.Add(uint8(i), body)
	}
	f.Add(uint8(0), []byte(`{"chain":{"topicsXdr":["a\u0041"]}}`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		compareLayout(t, types[int(which)%len(types)], body)
	})
}

// BenchmarkUnmarshal decodes stored events as rebuilds do: the layout decoder, and encoding/json for comparison.
func BenchmarkUnmarshal(b *testing.B) {
	var docs [][]byte
	for _, e := range layoutEvents() {
		doc, _ := domain.Marshal(e)
		docs = append(docs, doc)
	}
	b.Run("layout", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := testEvents.Unmarshal(docs[i%len(docs)]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("shared", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := testEvents.UnmarshalShared(docs[i%len(docs)]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("encoding/json", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			name, body, _ := domain.SplitEnvelope(docs[i%len(docs)])
			if err := json.Unmarshal(body, testEvents.New(domain.EventType(name))); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// TestPlainLen holds the word-at-a-time scan to the byte-at-a-time definition, with every special byte at every
// offset of a word and behind every other.
func TestPlainLen(t *testing.T) {
	naive := func(b []byte) int {
		for i, c := range b {
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				return i
			}
		}
		return len(b)
	}
	specials := []byte{0, 0x1f, '"', '\\', 0x80, 0xff, 0xc3}
	for n := range 40 {
		for at := range n + 1 {
			for _, c := range specials {
				for _, second := range append([]byte{'a'}, specials...) {
					b := []byte(strings.Repeat("A!~ ", 10))[:n]
					if at < n {
						b[at] = c
						if at+1 < n {
							b[at+1] = second
						}
					}
					if got, want := domain.PlainLen(b), naive(b); got != want {
						t.Fatalf("plainLen(%q) = %d, want %d", b, got, want)
					}
				}
			}
		}
	}
}
