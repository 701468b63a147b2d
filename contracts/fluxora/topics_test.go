package fluxora_test

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/scval"
)

// Addresses of the fixtures (32-byte keys 1..32, 50..81, 100..131, 150..181).
const (
	alice  = domain.Address("GAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPSABOV")
	bob    = domain.Address("GAZDGNBVGY3TQOJ2HM6D2PR7IBAUEQ2EIVDEOSCJJJFUYTKOJ5IFDANM")
	vault  = domain.Address("CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP")
	keeper = domain.Address("GCLJPGEZTKNZZHM6T6QKDIVDUSS2NJ5IVGVKXLFNV2X3BMNSWO2LLAJB")
)

// topicFixtures are contract events in their XDR wire form (base64 of each topic ScVal and of the value), one per
// topic of DESIGN §2, with the domain event each must decode to, written out field by field.
var topicFixtures = []struct {
	topics []string
	value  string
	want   domain.Event
}{
	{[]string{"AAAADwAAAAdjcmVhdGVkAA==", "AAAABQAAAAAAAAAq"},
		"AAAAEQAAAAEAAAALAAAADwAAAApjbGlmZl90aW1lAAAAAAAFAAAAAGlVuWQAAAAPAAAADmRlcG9zaXRfYW1vdW50AAAAAAAKAAAAAAAAAAEAAAAAAAAABQAAAA8AAAAIZW5kX3RpbWUAAAAFAAAAAGlXCoAAAAAPAAAABG1lbW8AAAANAAAACXBheXJvbGwtNwAAAAAAAA8AAAAIbWV0YWRhdGEAAAARAAAAAQAAAAEAAAANAAAABGRlcHQAAAANAAAAA29wcwAAAAAPAAAAD3JhdGVfcGVyX3NlY29uZAAAAAAKAAAAAAAAAAAAAAAAAAAD6AAAAA8AAAAJcmVjaXBpZW50AAAAAAAAEgAAAAAAAAAAMjM0NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktMTU5PUFEAAAAPAAAABnNlbmRlcgAAAAAAEgAAAAAAAAAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAAAAAPAAAACnN0YXJ0X3RpbWUAAAAAAAUAAAAAaVW5AAAAAA8AAAAJc3RyZWFtX2lkAAAAAAAABQAAAAAAAAAqAAAADwAAABd3aXRoZHJhd19kdXN0X3RocmVzaG9sZAAAAAAKAAAAAAAAAAAAAAAAAAAACg==",
		&fluxora.StreamCreated{StreamID: 42, Sender: alice, Recipient: bob,
			DepositAmount: domain.AmountFromParts(1, 5), // 2^64 + 5: both words of the i128 matter
			RatePerSecond: domain.NewAmount(1000), StartTime: 1767225600, CliffTime: 1767225700, EndTime: 1767312000,
			WithdrawDustThreshold: domain.NewAmount(10), Memo: []byte("payroll-7"),
			Metadata: []fluxora.MetadataEntry{{Key: []byte("dept"), Value: []byte("ops")}}}},
	{[]string{"AAAADwAAAAh3aXRoZHJldw==", "AAAABQAAAAAAAAAq"},
		"AAAAEQAAAAEAAAADAAAADwAAAAZhbW91bnQAAAAAAAoAAAAAAAAAAAAAAAAHW80VAAAADwAAAAlyZWNpcGllbnQAAAAAAAASAAAAAAAAAAAyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUQAAAA8AAAAJc3RyZWFtX2lkAAAAAAAABQAAAAAAAAAq",
		&fluxora.StreamWithdrawn{StreamID: 42, Recipient: bob, Amount: domain.NewAmount(123456789)}},
	{[]string{"AAAADwAAAAh3ZHJhd190bw==", "AAAABQAAAAAAAAAq"},
		"AAAAEQAAAAEAAAAEAAAADwAAAAZhbW91bnQAAAAAAAoAAAAAAAAAAAAAAAAAAAAFAAAADwAAAAtkZXN0aW5hdGlvbgAAAAASAAAAAWRlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDAAAADwAAAAlyZWNpcGllbnQAAAAAAAASAAAAAAAAAAAyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUQAAAA8AAAAJc3RyZWFtX2lkAAAAAAAABQAAAAAAAAAq",
		&fluxora.StreamWithdrawn{StreamID: 42, Recipient: bob, Destination: vault, Amount: domain.NewAmount(5)}},
	{[]string{"AAAADwAAAAljYW5jZWxsZWQAAAA=", "AAAABQAAAAAAAAAq"},
		"AAAAEAAAAAEAAAACAAAADwAAAA9TdHJlYW1DYW5jZWxsZWQAAAAABQAAAAAAAAAq",
		&fluxora.StreamCancelled{StreamID: 42, CancelledAt: fixtureClose}},
	{[]string{"AAAADwAAAAljb21wbGV0ZWQAAAA=", "AAAABQAAAAAAAAAq"},
		"AAAAEAAAAAEAAAACAAAADwAAAA9TdHJlYW1Db21wbGV0ZWQAAAAABQAAAAAAAAAq",
		&fluxora.StreamCompleted{StreamID: 42}},
	{[]string{"AAAADwAAAAZjbG9zZWQAAA==", "AAAABQAAAAAAAAAq"},
		"AAAAEAAAAAEAAAACAAAADwAAAAxTdHJlYW1DbG9zZWQAAAAFAAAAAAAAACo=",
		&fluxora.StreamClosed{StreamID: 42}},
	{[]string{"AAAADwAAAAZwYXVzZWQAAA==", "AAAABQAAAAAAAAAq"},
		"AAAAEQAAAAEAAAACAAAADwAAAAZyZWFzb24AAAAAAA4AAAAKQ29tcGxpYW5jZQAAAAAADwAAAAlzdHJlYW1faWQAAAAAAAAFAAAAAAAAACo=",
		&fluxora.StreamPaused{StreamID: 42, Reason: fluxora.PauseCompliance}},
	{[]string{"AAAADwAAAAdyZXN1bWVkAA==", "AAAABQAAAAAAAAAq"},
		"AAAAEAAAAAEAAAACAAAADwAAAAdSZXN1bWVkAAAAAAUAAAAAAAAAKg==",
		&fluxora.StreamResumed{StreamID: 42}},
	{[]string{"AAAADwAAAAhyYXRlX3VwZA==", "AAAABQAAAAAAAAAq"},
		"AAAAEQAAAAEAAAAEAAAADwAAAA5lZmZlY3RpdmVfdGltZQAAAAAABQAAAABpVcowAAAADwAAABNuZXdfcmF0ZV9wZXJfc2Vjb25kAAAAAAoAAAAAAAAAAAAAAAAAAAXcAAAADwAAABNvbGRfcmF0ZV9wZXJfc2Vjb25kAAAAAAoAAAAAAAAAAAAAAAAAAAPoAAAADwAAAAlzdHJlYW1faWQAAAAAAAAFAAAAAAAAACo=",
		&fluxora.StreamRateUpdated{StreamID: 42, OldRatePerSecond: domain.NewAmount(1000), NewRatePerSecond: domain.NewAmount(1500), EffectiveTime: 1767230000}},
	{[]string{"AAAADwAAAAhyYXRlX2RlYw==", "AAAABQAAAAAAAAAq"},
		"AAAAEQAAAAEAAAAGAAAADwAAABNjaGVja3BvaW50ZWRfYW1vdW50AAAAAAoAAAAAAAAAAAAAAAAAas/AAAAADwAAAA5lZmZlY3RpdmVfdGltZQAAAAAABQAAAABpVfFAAAAADwAAABNuZXdfcmF0ZV9wZXJfc2Vjb25kAAAAAAoAAAAAAAAAAAAAAAAAAAH0AAAADwAAABNvbGRfcmF0ZV9wZXJfc2Vjb25kAAAAAAoAAAAAAAAAAAAAAAAAAAXcAAAADwAAAA1yZWZ1bmRfYW1vdW50AAAAAAAACgAAAAAAAAAAAAAAAAAmJaAAAAAPAAAACXN0cmVhbV9pZAAAAAAAAAUAAAAAAAAAKg==",
		&fluxora.StreamRateDecreased{StreamID: 42, OldRatePerSecond: domain.NewAmount(1500), NewRatePerSecond: domain.NewAmount(500),
			EffectiveTime: 1767240000, CheckpointedAmount: domain.NewAmount(7000000), RefundAmount: domain.NewAmount(2500000)}},
	{[]string{"AAAADwAAAAhlbmRfc2hydA==", "AAAABQAAAAAAAAAq"},
		"AAAAEQAAAAEAAAAEAAAADwAAAAxuZXdfZW5kX3RpbWUAAAAFAAAAAGlW26AAAAAPAAAADG9sZF9lbmRfdGltZQAAAAUAAAAAaVcKgAAAAA8AAAANcmVmdW5kX2Ftb3VudAAAAAAAAAoAAAAAAAAAAAAAAAAAW42AAAAADwAAAAlzdHJlYW1faWQAAAAAAAAFAAAAAAAAACo=",
		&fluxora.StreamEndShortened{StreamID: 42, OldEndTime: 1767312000, NewEndTime: 1767300000, RefundAmount: domain.NewAmount(6000000)}},
	{[]string{"AAAADwAAAAdlbmRfZXh0AA==", "AAAABQAAAAAAAAAq"},
		"AAAAEQAAAAEAAAADAAAADwAAAAxuZXdfZW5kX3RpbWUAAAAFAAAAAGlYYkAAAAAPAAAADG9sZF9lbmRfdGltZQAAAAUAAAAAaVbboAAAAA8AAAAJc3RyZWFtX2lkAAAAAAAABQAAAAAAAAAq",
		&fluxora.StreamEndExtended{StreamID: 42, OldEndTime: 1767300000, NewEndTime: 1767400000}},
	{[]string{"AAAADwAAAAZ0b3BfdXAAAA==", "AAAABQAAAAAAAAAq"},
		"AAAAEQAAAAEAAAAEAAAADwAAABJuZXdfZGVwb3NpdF9hbW91bnQAAAAAAAoAAAAAAAAAAAAAAAAF9eSEAAAADwAAAAxuZXdfZW5kX3RpbWUAAAAFAAAAAGlYYkAAAAAPAAAACXN0cmVhbV9pZAAAAAAAAAUAAAAAAAAAKgAAAA8AAAANdG9wX3VwX2Ftb3VudAAAAAAAAAoAAAAAAAAAAAAAAAAAAAOE",
		&fluxora.StreamToppedUp{StreamID: 42, TopUpAmount: domain.NewAmount(900), NewDepositAmount: domain.NewAmount(100000900), NewEndTime: 1767400000}},
	{[]string{"AAAADwAAAAhyZWNwX3VwZA==", "AAAABQAAAAAAAAAq"},
		"AAAAEQAAAAEAAAADAAAADwAAAA1uZXdfcmVjaXBpZW50AAAAAAAAEgAAAAFkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGCgwAAAA8AAAANb2xkX3JlY2lwaWVudAAAAAAAABIAAAAAAAAAADIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRAAAADwAAAAlzdHJlYW1faWQAAAAAAAAFAAAAAAAAACo=",
		&fluxora.StreamRecipientUpdated{StreamID: 42, OldRecipient: bob, NewRecipient: vault}},
	{[]string{"AAAADwAAAAZjbG9uZWQAAA==", "AAAABQAAAAAAAAAr"},
		"AAAAEQAAAAEAAAAKAAAADwAAAApjbGlmZl90aW1lAAAAAAAFAAAAAGlVuQAAAAAPAAAADmRlcG9zaXRfYW1vdW50AAAAAAAKAAAAAAAAAAAAAAAABSZcAAAAAA8AAAAIZW5kX3RpbWUAAAAFAAAAAGlXCoAAAAAPAAAADW5ld19zdHJlYW1faWQAAAAAAAAFAAAAAAAAACsAAAAPAAAAD3JhdGVfcGVyX3NlY29uZAAAAAAKAAAAAAAAAAAAAAAAAAAD6AAAAA8AAAAJcmVjaXBpZW50AAAAAAAAEgAAAAAAAAAAMjM0NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktMTU5PUFEAAAAPAAAABnNlbmRlcgAAAAAAEgAAAAAAAAAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAAAAAPAAAAEHNvdXJjZV9zdHJlYW1faWQAAAAFAAAAAAAAACoAAAAPAAAACnN0YXJ0X3RpbWUAAAAAAAUAAAAAaVW5AAAAAA8AAAAXd2l0aGRyYXdfZHVzdF90aHJlc2hvbGQAAAAACgAAAAAAAAAAAAAAAAAAAAA=",
		&fluxora.StreamCloned{NewStreamID: 43, SourceStreamID: 42, Sender: alice, Recipient: bob, DepositAmount: domain.NewAmount(86400000),
			RatePerSecond: domain.NewAmount(1000), StartTime: 1767225600, CliffTime: 1767225600, EndTime: 1767312000}},
	{[]string{"AAAADwAAAAdrcF9jbmNsAA==", "AAAABQAAAAAAAAAq"},
		"AAAAEQAAAAEAAAAFAAAADwAAAAZrZWVwZXIAAAAAABIAAAAAAAAAAJaXmJmam5ydnp+goaKjpKWmp6ipqqusra6vsLGys7S1AAAADwAAAAprZWVwZXJfZmVlAAAAAAAKAAAAAAAAAAAAAAAAAAehIAAAAA8AAAAQcmVjaXBpZW50X2Ftb3VudAAAAAoAAAAAAAAAAAAAAAAAiVRAAAAADwAAAA1zZW5kZXJfcmVmdW5kAAAAAAAACgAAAAAAAAAAAAAAAAXuP+AAAAAPAAAACXN0cmVhbV9pZAAAAAAAAAUAAAAAAAAAKg==",
		&fluxora.StreamKeeperCancelled{StreamID: 42, Keeper: keeper, KeeperFee: domain.NewAmount(500000),
			RecipientAmount: domain.NewAmount(9000000), SenderRefund: domain.NewAmount(99500000)}},
}

const fixtureClose = 1767250000

func fixtureMeta() domain.ChainMeta {
	return domain.ChainMeta{NetworkID: domain.NetworkID(network.TestNetworkPassphrase), ContractID: vault, Ledger: 1000,
		LedgerHash: strings.Repeat("ab", 32), LedgerClosedAt: time.Unix(fixtureClose, 0).UTC(), TxHash: strings.Repeat("cd", 32),
		TxIndex: 3, OpIndex: 0, EventIndex: 1, ChainEventID: domain.ChainEventID(1000, 3, 0, 1)}
}

func scvalOf(t testing.TB, b64 string) xdr.ScVal {
	t.Helper()
	var v xdr.ScVal
	if err := xdr.SafeUnmarshalBase64(b64, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// withMeta sets the chain metadata of a fixture's expected event.
func withMeta(e domain.Event, m domain.ChainMeta) domain.Event {
	c := reflect.New(reflect.TypeOf(e).Elem())
	c.Elem().Set(reflect.ValueOf(e).Elem())
	out := c.Interface().(domain.Event)
	*out.(domain.ChainEvent).ChainMetadata() = m
	return out
}

func TestEveryTopicDecodesFieldByField(t *testing.T) {
	if len(topicFixtures) != len(fluxora.TopicDecoders) {
		t.Fatalf("%d fixtures for %d topics", len(topicFixtures), len(fluxora.TopicDecoders))
	}
	seen := map[string]bool{}
	for _, fx := range topicFixtures {
		topics := []xdr.ScVal{scvalOf(t, fx.topics[0]), scvalOf(t, fx.topics[1])}
		got, topic, err := fluxora.Module{}.Decode(fixtureMeta(), topics, scvalOf(t, fx.value))
		if err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		seen[topic] = true
		if want := withMeta(fx.want, fixtureMeta()); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", topic, got, want)
		}
		// And the simulator, standing in for the contract, encodes the expected event to exactly these bytes.
		encTopics, encValue, err := sim.Encode(fx.want)
		if err != nil {
			t.Fatal(err)
		}
		if b64(t, encValue) != fx.value || b64(t, encTopics[0]) != fx.topics[0] || b64(t, encTopics[1]) != fx.topics[1] {
			t.Fatalf("%s: the simulator encodes it differently", topic)
		}
	}
	if len(seen) != len(fluxora.TopicDecoders) {
		t.Fatalf("topics covered: %v", seen)
	}
}

func b64(t testing.TB, v xdr.ScVal) string {
	t.Helper()
	raw, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// malformed payloads: each must become a ContractEventObserved that keeps the topic and says what is wrong.
func TestMalformedEventsAreObservedNotDropped(t *testing.T) {
	withdrawal := func(mutate func(f map[string]xdr.ScVal)) xdr.ScVal {
		f := map[string]xdr.ScVal{"stream_id": sim.U64(42), "recipient": sim.Addr(bob), "amount": sim.I128(domain.NewAmount(5))}
		mutate(f)
		return sim.Struct(f)
	}
	idTopic := []xdr.ScVal{sim.Sym("withdrew"), sim.U64(42)}
	negative := domain.AmountFromParts(-1, 0)
	dup := sim.Struct(map[string]xdr.ScVal{"stream_id": sim.U64(42)})
	dupMap := *dup.Map
	*dupMap = append(*dupMap, xdr.ScMapEntry{Key: sim.Sym("stream_id"), Val: sim.U64(42)})
	for _, tc := range []struct {
		name   string
		topics []xdr.ScVal
		value  xdr.ScVal
		want   string
	}{
		{"missing field", idTopic, withdrawal(func(f map[string]xdr.ScVal) { delete(f, "amount") }), `field "amount" is missing`},
		{"amount as u64", idTopic, withdrawal(func(f map[string]xdr.ScVal) { f["amount"] = sim.U64(5) }), "want i128"},
		{"negative amount", idTopic, withdrawal(func(f map[string]xdr.ScVal) { f["amount"] = sim.I128(negative) }), "negative"},
		{"recipient as string", idTopic, withdrawal(func(f map[string]xdr.ScVal) { f["recipient"] = sim.Str("bob") }), "want an address"},
		{"other stream in payload", idTopic, withdrawal(func(f map[string]xdr.ScVal) { f["stream_id"] = sim.U64(7) }), "about stream 7"},
		{"payload not a map", idTopic, sim.U64(1), "want a map"},
		{"duplicate field", idTopic, dup, "appears twice"},
		{"no stream id topic", []xdr.ScVal{sim.Sym("withdrew")}, withdrawal(func(map[string]xdr.ScVal) {}), "without a u64 stream id"},
		{"stream id as u32", []xdr.ScVal{sim.Sym("withdrew"), sim.U32(42)}, withdrawal(func(map[string]xdr.ScVal) {}), "without a u64 stream id"},
		{"variant of another name", []xdr.ScVal{sim.Sym("cancelled"), sim.U64(42)}, sim.Variant("StreamClosed", 42), `"StreamClosed"`},
		{"variant with a short vec", []xdr.ScVal{sim.Sym("closed"), sim.U64(42)}, sim.Vec(sim.Sym("StreamClosed")), "1 elements"},
		{"variant id of another stream", []xdr.ScVal{sim.Sym("resumed"), sim.U64(42)}, sim.Variant("Resumed", 43), "about stream 43"},
		{"reason not a string", []xdr.ScVal{sim.Sym("paused"), sim.U64(42)}, sim.Struct(map[string]xdr.ScVal{"stream_id": sim.U64(42), "reason": sim.U64(1)}), "want a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, topic, err := fluxora.Module{}.Decode(fixtureMeta(), tc.topics, tc.value)
			if err == nil || !errors.Is(err, scval.ErrShape) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
			obs, ok := e.(*domain.ContractEventObserved)
			if !ok || obs.DecodeError != err.Error() || obs.Topic != topic || obs.ChainMeta.ChainEventID == "" {
				t.Fatalf("got %T %+v", e, e)
			}
		})
	}
	// An unknown topic is observed without an error, keeping its stream id when it has one.
	e, _, err := fluxora.Module{}.Decode(fixtureMeta(), []xdr.ScVal{sim.Sym("offr_new"), sim.U64(9)}, sim.U64(1))
	if obs, ok := e.(*domain.ContractEventObserved); err != nil || !ok || obs.Topic != "offr_new" || obs.StreamID == nil || *obs.StreamID != 9 {
		t.Fatalf("unknown topic: %+v %v", e, err)
	}
	e, _, err = fluxora.Module{}.Decode(fixtureMeta(), nil, sim.Void())
	if obs, ok := e.(*domain.ContractEventObserved); err != nil || !ok || obs.Topic != "" || obs.StreamID != nil {
		t.Fatalf("no topics: %+v %v", e, err)
	}
}

// FuzzDecodeEvent feeds arbitrary topics and values: the decoder must never panic, and must either produce the
// domain event of a known topic for the stream its topic names, or an observed event.
func FuzzDecodeEvent(f *testing.F) {
	for _, fx := range topicFixtures {
		t0, _ := base64.StdEncoding.DecodeString(fx.topics[0])
		t1, _ := base64.StdEncoding.DecodeString(fx.topics[1])
		v, _ := base64.StdEncoding.DecodeString(fx.value)
		f.Add(t0, t1, v)
	}
	f.Fuzz(func(t *testing.T, topic0, topic1, value []byte) {
		var topics []xdr.ScVal
		for _, raw := range [][]byte{topic0, topic1} {
			var v xdr.ScVal
			if xdr.SafeUnmarshal(raw, &v) == nil {
				topics = append(topics, v)
			}
		}
		var data xdr.ScVal
		if xdr.SafeUnmarshal(value, &data) != nil {
			data = sim.Void()
		}
		e, topic, err := fluxora.Module{}.Decode(fixtureMeta(), topics, data)
		if e == nil {
			t.Fatal("no event")
		}
		obs, observed := e.(*domain.ContractEventObserved)
		if err != nil {
			if !observed || obs.DecodeError == "" {
				t.Fatalf("a decode error without an observed event: %T", e)
			}
			return
		}
		if observed {
			if _, known := fluxora.TopicDecoders[obs.Topic]; known {
				t.Fatalf("known topic %q observed without an error", obs.Topic)
			}
			return
		}
		ref, ok := fluxora.StreamOf(e)
		if !ok || ref.StreamID != uint64(*topics[1].U64) || topic == "" {
			t.Fatalf("%s decoded to stream %v", topic, ref)
		}
		if _, err := domain.Marshal(e); err != nil {
			t.Fatalf("decoded event does not encode: %v", err)
		}
	})
}
