package fluxora_test

import (
	"slices"
	"testing"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

func TestEventStreamOf(t *testing.T) {
	for _, e := range everyEvent() {
		ref, ok := fluxora.StreamOf(e)
		switch e.Type() {
		case domain.TypeChainReorganized, domain.TypeLedgerClosed, domain.TypeLedgersVerified, fluxora.TypeStreamOfferCreated, fluxora.TypeStreamOfferAccepted,
			fluxora.TypeStreamOfferCancelled, fluxora.TypeStreamTemplateDefined, fluxora.TypeStreamIDsReleased, fluxora.TypeGlobalPauseChanged, fluxora.TypeGlobalResumed,
			fluxora.TypeCreationPauseChanged, fluxora.TypeProtocolPaused, fluxora.TypeProtocolResumed, fluxora.TypeExcessSwept, fluxora.TypeContractAdminUpdated,
			fluxora.TypeContractUpgraded, fluxora.TypeContractUpgradedLegacy, fluxora.TypeContractMigrationRecorded, fluxora.TypeFactoryInitialized,
			fluxora.TypeFactoryAdminUpdated, fluxora.TypeFactoryStreamContractSet, fluxora.TypeFactoryAllowlistUpdated, fluxora.TypeFactoryCapUpdated,
			fluxora.TypeFactoryMinDurationUpdated, fluxora.TypeFactoryBatchCapUpdated, fluxora.TypeFactoryRateBoundsUpdated, fluxora.TypeFactoryPauseChanged,
			fluxora.TypeFactoryStreamCreated, fluxora.TypeGovernanceThresholdUpdated, fluxora.TypeGovernanceQuorumConfigured, fluxora.TypeGovernanceSignerAdded,
			fluxora.TypeGovernanceSignerRemoved, fluxora.TypeGovernanceAdminChanged, fluxora.TypeProposalCreated, fluxora.TypeProposalApproved,
			fluxora.TypeProposalQuorumReached, fluxora.TypeProposalExecuted, fluxora.TypeProposalCancelled:
			if ok {
				t.Errorf("%s belongs to no stream", e.Type())
			}
		case fluxora.TypeStreamCloned, fluxora.TypeStreamDelegatedFrom:
			if ref.StreamID != 43 {
				t.Errorf("%s belongs to the new stream, got %d", e.Type(), ref.StreamID)
			}
		default:
			if !ok || ref.StreamID != 42 || ref.ContractID != testContract {
				t.Errorf("%s: %v %v", e.Type(), ref, ok)
			}
		}
	}
	if _, ok := fluxora.StreamOf(&domain.ContractEventObserved{}); ok {
		t.Error("an observed event without a stream id belongs to no stream")
	}
	if _, ok := fluxora.StreamOf(&domain.EventReverted{}); ok {
		t.Error("a reversal of a contract-level event belongs to no stream")
	}
}

func BenchmarkApply(b *testing.B) {
	var entries []domain.Entry
	for seed := uint64(0); len(entries) < 10_000; seed++ {
		l := &lifecycle{r: newRand(seed)}
		entries = append(entries, l.run(40)...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var s fluxora.Stream
	for i := 0; i < b.N; i++ {
		en := entries[i%len(entries)]
		if _, ok := en.Event.(*fluxora.StreamCreated); ok {
			s = fluxora.Stream{}
		}
		s = fluxora.Apply(s, en.ID, en.Event)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// Every event announces the webhook type DESIGN §8 gives it, and only stream events are announced: observed
// events, compensations, markers and contract-level events are not.
func TestWebhookTypes(t *testing.T) {
	want := map[domain.EventType]string{
		fluxora.TypeStreamCreated: "stream.created", fluxora.TypeStreamDelegatedFrom: "stream.created", fluxora.TypeStreamWithdrawn: "stream.withdrawn",
		fluxora.TypeStreamCancelled: "stream.cancelled", fluxora.TypeStreamKeeperCancelled: "stream.cancelled", fluxora.TypeStreamCompleted: "stream.completed",
		fluxora.TypeStreamClosed: "stream.closed", fluxora.TypeStreamPaused: "stream.paused", fluxora.TypeStreamResumed: "stream.resumed",
	}
	for _, updated := range []domain.EventType{fluxora.TypeStreamRateUpdated, fluxora.TypeStreamRateDecreased, fluxora.TypeStreamEndShortened, fluxora.TypeStreamEndExtended,
		fluxora.TypeStreamToppedUp, fluxora.TypeStreamRecipientUpdated, fluxora.TypeStreamCloned, fluxora.TypeStreamShareDelegated, fluxora.TypeStreamRenewed,
		fluxora.TypeStreamClaimOwnerChanged, fluxora.TypeStreamSenderTransferred, fluxora.TypeStreamDecommissioned, fluxora.TypeStreamHealthChanged,
		fluxora.TypeStreamAutoClaimSet, fluxora.TypeStreamAutoClaimRevoked, fluxora.TypeStreamAutoClaimTriggered, fluxora.TypeStreamRateCapEnforced} {
		want[updated] = "stream.updated"
	}
	announced := 0
	for _, e := range everyEvent() {
		a, ok := e.(domain.Announced)
		switch w, should := want[e.Type()]; {
		case should && (!ok || a.WebhookType() != w):
			t.Errorf("%s announces %v, want %s", e.Type(), a, w)
		case !should && ok:
			t.Errorf("%s announces %s, want nothing", e.Type(), a.WebhookType())
		case ok:
			announced++
			if !slices.Contains(fluxora.StreamWebhookTypes(), a.WebhookType()) {
				t.Errorf("%s: %s is not among the module's types", e.Type(), a.WebhookType())
			}
		}
	}
	if announced != len(want) {
		t.Fatalf("%d events announced, %d expected", announced, len(want))
	}
}
