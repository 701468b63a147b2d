package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func everyEvent() []Event {
	m := at(7, t0)
	m.TopicsXDR, m.ValueXDR, m.ChainEventID = []string{"AAAADwAAAAdjcmVhdGVkAA=="}, "AAAAAQ==", ChainEventID(7, 1, 0, 0)
	id := uint64(42)
	owner := Address(testAccount)
	minRate := NewAmount(1)
	return []Event{
		&StreamCreated{ChainMeta: m, StreamID: 42, Sender: testAccount, Recipient: testAccount2, DepositAmount: MaxAmount,
			RatePerSecond: raw(1), StartTime: t0, CliffTime: t0, EndTime: t0 + 1, WithdrawDustThreshold: raw(5),
			Memo: []byte("invoice 7"), Metadata: []MetadataEntry{{Key: []byte("k"), Value: []byte("v")}}},
		&StreamWithdrawn{ChainMeta: m, StreamID: 42, Recipient: testAccount2, Destination: testAccount, Amount: raw(1)},
		&StreamCancelled{ChainMeta: m, StreamID: 42, CancelledAt: t0},
		&StreamCompleted{ChainMeta: m, StreamID: 42},
		&StreamClosed{ChainMeta: m, StreamID: 42},
		&StreamPaused{ChainMeta: m, StreamID: 42, Reason: PauseAdministrative},
		&StreamResumed{ChainMeta: m, StreamID: 42},
		&StreamRateUpdated{ChainMeta: m, StreamID: 42, OldRatePerSecond: raw(1), NewRatePerSecond: raw(2), EffectiveTime: t0},
		&StreamRateDecreased{ChainMeta: m, StreamID: 42, OldRatePerSecond: raw(2), NewRatePerSecond: raw(1), EffectiveTime: t0,
			CheckpointedAmount: raw(3), RefundAmount: raw(4)},
		&StreamEndShortened{ChainMeta: m, StreamID: 42, OldEndTime: 9, NewEndTime: 8, RefundAmount: raw(1)},
		&StreamEndExtended{ChainMeta: m, StreamID: 42, OldEndTime: 8, NewEndTime: 9},
		&StreamToppedUp{ChainMeta: m, StreamID: 42, TopUpAmount: raw(1), NewDepositAmount: raw(2), NewEndTime: 9},
		&StreamRecipientUpdated{ChainMeta: m, StreamID: 42, OldRecipient: testAccount, NewRecipient: testAccount2},
		&StreamCloned{ChainMeta: m, NewStreamID: 43, SourceStreamID: 42, Sender: testAccount, Recipient: testAccount2,
			DepositAmount: raw(1), RatePerSecond: raw(1), StartTime: 1, CliffTime: 1, EndTime: 2},
		&StreamKeeperCancelled{ChainMeta: m, StreamID: 42, Keeper: testAccount, KeeperFee: raw(1), RecipientAmount: raw(2), SenderRefund: raw(3)},
		&ContractEventObserved{ChainMeta: m, Topic: "offr_new", StreamID: &id, DecodeError: "x"},
		&EventReverted{RevertedEventID: "e", RevertedType: TypeStreamWithdrawn, RevertedLedger: 7, ContractID: testContract, StreamID: &id, Reason: RevertReasonReorg, Fork: 6},
		&EventRestored{RestoredEventID: "e", RestoredType: TypeStreamWithdrawn, RestoredLedger: 7, ContractID: testContract, StreamID: &id, Reason: RevertReasonReorg, Fork: 6},
		&ChainReorganized{NetworkID: "n", Fork: 6, OldTip: 8, NewTip: 9, Replaced: []LedgerReplacement{{Ledger: 7, OldHash: "a", NewHash: "b"}}},
		&LedgerClosed{NetworkID: "n", Ledger: 7, Hash: "h", PreviousHash: "p", ClosedAt: time.Unix(int64(t0), 0).UTC(), EventCount: 3},
		&LedgersVerified{NetworkID: "n", First: 8, Last: 900, PreviousHash: "h", Hash: "h2", FirstClosedAt: time.Unix(int64(t0), 0).UTC(),
			ClosedAt: time.Unix(int64(t0)+4460, 0).UTC()},
		&StreamShareDelegated{ChainMeta: m, ParentStreamID: 42, ChildStreamID: 43, Delegator: testAccount2, Delegatee: testAccount,
			ShareBps: 2500, NewParentRate: raw(8), ChildRate: raw(2)},
		&StreamDelegatedFrom{ChainMeta: m, StreamID: 43, ParentStreamID: 42, DelegationEventID: "d"},
		&StreamRenewed{ChainMeta: m, OldStreamID: 42, NewStreamID: 44},
		&StreamClaimOwnerChanged{ChainMeta: m, StreamID: 42, OldOwner: &owner, NewOwner: testAccount2},
		&StreamSenderTransferred{ChainMeta: m, StreamID: 42, OldSender: testAccount, NewSender: testAccount2},
		&StreamDecommissioned{ChainMeta: m, StreamID: 42, Decommissioned: true},
		&StreamHealthChanged{ChainMeta: m, StreamID: 42, Underfunded: true, RemainingBalance: raw(5), SecondsRemaining: 9},
		&StreamAutoClaimSet{ChainMeta: m, StreamID: 42, Destination: testAccount},
		&StreamAutoClaimRevoked{ChainMeta: m, StreamID: 42},
		&StreamAutoClaimTriggered{ChainMeta: m, StreamID: 42, Destination: testAccount, Amount: raw(3)},
		&StreamRateCapEnforced{ChainMeta: m, StreamID: 42, AttemptedRate: raw(9), MaxRatePerSecond: raw(5)},
		&StreamOfferCreated{ChainMeta: m, OfferID: 5, Sender: testAccount, Recipient: testAccount2, DepositAmount: raw(10),
			RatePerSecond: raw(1), StartTime: 1, CliffTime: 1, EndTime: 11, ExpiryTime: &id, CreatedAt: 1},
		&StreamOfferAccepted{ChainMeta: m, OfferID: 5, EffectiveStartTime: 2, Recipient: testAccount2},
		&StreamOfferCancelled{ChainMeta: m, OfferID: 5, By: testAccount, RefundAmount: raw(10)},
		&StreamTemplateDefined{ChainMeta: m, TemplateID: 3, Owner: testAccount, StartDelay: 1, CliffDelay: 2, Duration: 3},
		&StreamIDsReleased{ChainMeta: m, Holder: testAccount, StartID: 100, Count: 10, Consumed: 4, Reclaimed: 6},
		&GlobalPauseChanged{ChainMeta: m, Paused: true},
		&GlobalResumed{ChainMeta: m, ResumedAt: t0},
		&CreationPauseChanged{ChainMeta: m, Paused: true},
		&ProtocolPaused{ChainMeta: m, Admin: testAccount, Reason: "audit", PausedAt: t0},
		&ProtocolResumed{ChainMeta: m, Admin: testAccount, ResumedAt: t0},
		&ExcessSwept{ChainMeta: m, To: testAccount, Amount: raw(7)},
		&ContractAdminUpdated{ChainMeta: m, OldAdmin: testAccount, NewAdmin: testAccount2},
		&ContractUpgraded{ChainMeta: m, NewWasmHash: strings.Repeat("ab", 32), NewVersion: 4, UpgradedAt: t0, UpgradedBy: testAccount},
		&ContractUpgradedLegacy{ChainMeta: m, NewWasmHash: strings.Repeat("ab", 32), OldVersion: 3, NewVersion: 3, Admin: testAccount},
		&ContractMigrationRecorded{ChainMeta: m, FromVersion: 3, ToVersion: 4, Timestamp: t0},
		&FactoryInitialized{ChainMeta: m, Admin: owner, StreamContract: testContract, MaxDeposit: NewAmount(1_000_000), MinDuration: 60},
		&FactoryAdminUpdated{ChainMeta: m, OldAdmin: owner, NewAdmin: testContract},
		&FactoryStreamContractSet{ChainMeta: m, OldContract: testContract, NewContract: testContract},
		&FactoryAllowlistUpdated{ChainMeta: m, Recipient: owner, Allowed: true},
		&FactoryCapUpdated{ChainMeta: m, OldCap: NewAmount(10), NewCap: NewAmount(20)},
		&FactoryMinDurationUpdated{ChainMeta: m, OldMinDuration: 60, NewMinDuration: 120},
		&FactoryBatchCapUpdated{ChainMeta: m, Enabled: true},
		&FactoryRateBoundsUpdated{ChainMeta: m, MinRate: &minRate},
		&FactoryPauseChanged{ChainMeta: m, Paused: true},
		&FactoryStreamCreated{ChainMeta: m, StreamID: 42, Sender: owner, Recipient: owner, DepositAmount: NewAmount(5), RatePerSecond: NewAmount(1)},
		&GovernanceThresholdUpdated{ChainMeta: m, OldThreshold: 2, NewThreshold: 3},
		&GovernanceQuorumConfigured{ChainMeta: m, Threshold: 3, SignerCount: 5},
		&GovernanceSignerAdded{ChainMeta: m, Signer: owner},
		&GovernanceSignerRemoved{ChainMeta: m, Signer: owner},
		&GovernanceAdminChanged{ChainMeta: m, OldAdmin: owner, NewAdmin: testContract},
		&ProposalCreated{ChainMeta: m, ProposalID: 7, Proposer: owner, Target: testContract},
		&ProposalApproved{ChainMeta: m, ProposalID: 7, Approver: owner, ApprovalCount: 2},
		&ProposalQuorumReached{ChainMeta: m, ProposalID: 7, QuorumReachedAt: t0, ExecutableAfter: t0 + 86400},
		&ProposalExecuted{ChainMeta: m, ProposalID: 7, Executor: owner, Target: testContract, Calldata: []byte{1, 2}},
		&ProposalCancelled{ChainMeta: m, ProposalID: 7, Canceller: owner},
	}
}

func TestEventEncodingRoundTrip(t *testing.T) {
	seen := map[EventType]bool{}
	for _, e := range everyEvent() {
		b, err := Marshal(e)
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
		again, _ := Marshal(got)
		if string(again) != string(b) {
			t.Fatalf("%s encoding is not stable", e.Type())
		}
		seen[e.Type()] = true
	}
	if len(seen) != 21+26+20 {
		t.Fatalf("covered %d event types", len(seen))
	}
}

func TestEventStreamOf(t *testing.T) {
	for _, e := range everyEvent() {
		ref, ok := StreamOf(e)
		switch e.Type() {
		case TypeChainReorganized, TypeLedgerClosed, TypeLedgersVerified, TypeStreamOfferCreated, TypeStreamOfferAccepted,
			TypeStreamOfferCancelled, TypeStreamTemplateDefined, TypeStreamIDsReleased, TypeGlobalPauseChanged, TypeGlobalResumed,
			TypeCreationPauseChanged, TypeProtocolPaused, TypeProtocolResumed, TypeExcessSwept, TypeContractAdminUpdated,
			TypeContractUpgraded, TypeContractUpgradedLegacy, TypeContractMigrationRecorded, TypeFactoryInitialized,
			TypeFactoryAdminUpdated, TypeFactoryStreamContractSet, TypeFactoryAllowlistUpdated, TypeFactoryCapUpdated,
			TypeFactoryMinDurationUpdated, TypeFactoryBatchCapUpdated, TypeFactoryRateBoundsUpdated, TypeFactoryPauseChanged,
			TypeFactoryStreamCreated, TypeGovernanceThresholdUpdated, TypeGovernanceQuorumConfigured, TypeGovernanceSignerAdded,
			TypeGovernanceSignerRemoved, TypeGovernanceAdminChanged, TypeProposalCreated, TypeProposalApproved,
			TypeProposalQuorumReached, TypeProposalExecuted, TypeProposalCancelled:
			if ok {
				t.Errorf("%s belongs to no stream", e.Type())
			}
		case TypeStreamCloned, TypeStreamDelegatedFrom:
			if ref.StreamID != 43 {
				t.Errorf("%s belongs to the new stream, got %d", e.Type(), ref.StreamID)
			}
		default:
			if !ok || ref.StreamID != 42 || ref.ContractID != testContract {
				t.Errorf("%s: %v %v", e.Type(), ref, ok)
			}
		}
	}
	if _, ok := StreamOf(&ContractEventObserved{}); ok {
		t.Error("an observed event without a stream id belongs to no stream")
	}
	if _, ok := StreamOf(&EventReverted{}); ok {
		t.Error("a reversal of a contract-level event belongs to no stream")
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := map[string]error{
		`not json`: ErrMalformedEventJSON,
		`{"type":"StreamCreated","schemaVersion":2,"event":{}}`:              ErrUnsupportedSchema,
		`{"type":"StreamCreated","schemaVersion":0,"event":{}}`:              ErrUnsupportedSchema,
		`{"type":"Nope","schemaVersion":1,"event":{}}`:                       ErrUnknownEventType,
		`{"type":"StreamCreated","schemaVersion":1,"event":{"streamId":-1}}`: ErrMalformedEventJSON,
		`{"type":"StreamWithdrawn","schemaVersion":1,"event":{"amount":12}}`: ErrMalformedEventJSON,
	}
	for doc, want := range tests {
		if _, err := testEvents.Unmarshal([]byte(doc)); !errors.Is(err, want) {
			t.Errorf("Unmarshal(%s) error = %v, want %v", doc, err, want)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, e := range everyEvent() {
		b, _ := Marshal(e)
		f.Add(b)
	}
	f.Add([]byte(`{"type":"StreamWithdrawn","schemaVersion":1,"event":{"amount":"-170141183460469231731687303715884105729"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := testEvents.Unmarshal(b)
		if err != nil {
			return
		}
		// The fast path for Marshal's own envelope must agree with the general decoder.
		var env envelope
		if json.Unmarshal(b, &env) == nil {
			if general := testEvents.New(env.Type); general != nil && env.SchemaVersion == SchemaVersion &&
				json.Unmarshal(env.Event, general) == nil && !reflect.DeepEqual(general, e) {
				t.Fatalf("the fast path decoded %+v, the general path %+v", e, general)
			}
		}
		// Whatever decodes must fold without panicking and encode again.
		_ = Apply(Stream{}, "fuzz", e)
		if _, err := Marshal(e); err != nil {
			t.Fatalf("decoded %s does not encode: %v", e.Type(), err)
		}
	})
}

func BenchmarkApply(b *testing.B) {
	var entries []Entry
	for seed := uint64(0); len(entries) < 10_000; seed++ {
		l := &lifecycle{r: newRand(seed)}
		entries = append(entries, l.run(40)...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var s Stream
	for i := 0; i < b.N; i++ {
		en := entries[i%len(entries)]
		if _, ok := en.Event.(*StreamCreated); ok {
			s = Stream{}
		}
		s = Apply(s, en.ID, en.Event)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func TestChainEventIDFormat(t *testing.T) {
	for _, c := range []struct{ ledger, tx, op, idx uint32 }{{0, 0, 0, 0}, {2, 1, 0, 0}, {58752000, 4095, 4095, 4294967295}, {1<<31 - 1, 1, 1, 1}, {1 << 31, 0, 0, 7}, {1<<32 - 1, 4095, 4095, 9}} {
		toid := int64(c.ledger)<<32 | int64(c.tx)<<12 | int64(c.op)
		if got, want := ChainEventID(c.ledger, c.tx, c.op, c.idx), fmt.Sprintf("%019d-%010d", toid, c.idx); got != want {
			t.Errorf("%+v: %s, want %s", c, got, want)
		}
	}
}

// Every event announces the webhook type DESIGN §8 gives it, and only stream events are announced: observed
// events, compensations, markers and contract-level events are not.
func TestWebhookTypes(t *testing.T) {
	want := map[EventType]string{
		TypeStreamCreated: "stream.created", TypeStreamDelegatedFrom: "stream.created", TypeStreamWithdrawn: "stream.withdrawn",
		TypeStreamCancelled: "stream.cancelled", TypeStreamKeeperCancelled: "stream.cancelled", TypeStreamCompleted: "stream.completed",
		TypeStreamClosed: "stream.closed", TypeStreamPaused: "stream.paused", TypeStreamResumed: "stream.resumed",
	}
	for _, updated := range []EventType{TypeStreamRateUpdated, TypeStreamRateDecreased, TypeStreamEndShortened, TypeStreamEndExtended,
		TypeStreamToppedUp, TypeStreamRecipientUpdated, TypeStreamCloned, TypeStreamShareDelegated, TypeStreamRenewed,
		TypeStreamClaimOwnerChanged, TypeStreamSenderTransferred, TypeStreamDecommissioned, TypeStreamHealthChanged,
		TypeStreamAutoClaimSet, TypeStreamAutoClaimRevoked, TypeStreamAutoClaimTriggered, TypeStreamRateCapEnforced} {
		want[updated] = "stream.updated"
	}
	announced := 0
	for _, e := range everyEvent() {
		a, ok := e.(Announced)
		switch w, should := want[e.Type()]; {
		case should && (!ok || a.WebhookType() != w):
			t.Errorf("%s announces %v, want %s", e.Type(), a, w)
		case !should && ok:
			t.Errorf("%s announces %s, want nothing", e.Type(), a.WebhookType())
		case ok:
			announced++
			if !slices.Contains(StreamWebhookTypes(), a.WebhookType()) {
				t.Errorf("%s: %s is not among the module's types", e.Type(), a.WebhookType())
			}
		}
	}
	if announced != len(want) {
		t.Fatalf("%d events announced, %d expected", announced, len(want))
	}
}

// testEvents knows every event type this package declares: the core's and the Fluxora modules'.
var testEvents = MustRegistry(append(FluxoraEvents(), FluxoraAdminEvents()...)...)

// TestRegistryRefusesAmbiguousTypes: two Go types under one stored name could not be told apart when read back.
func TestRegistryRefusesAmbiguousTypes(t *testing.T) {
	if _, err := NewRegistry(&StreamCreated{}, &otherStreamCreated{}); err == nil {
		t.Fatal("a registry with two types named StreamCreated was accepted")
	}
	if _, err := NewRegistry(&StreamCreated{}, &StreamCreated{}); err != nil {
		t.Fatalf("the same type twice: %v", err)
	}
	r := MustRegistry()
	if _, err := r.Unmarshal([]byte(`{"type":"StreamCreated","schemaVersion":1,"event":{}}`)); !errors.Is(err, ErrUnknownEventType) {
		t.Fatalf("a core-only registry read a module's event: %v", err)
	}
}

type otherStreamCreated struct{}

func (*otherStreamCreated) Type() EventType { return TypeStreamCreated }
