package fluxora_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/nodetest"
)

// oracleEvents are the domain events the contract events of internal/nodetest/stellar-base/fluxora.js decode to, written
// out by hand from the contract's docs/events.md.
func oracleEvents() map[string]domain.Event {
	expiry := uint64(1767300000)
	one := domain.NewAmount(1)
	return map[string]domain.Event{
		"created": &fluxora.StreamCreated{StreamID: 42, Sender: alice, Recipient: bob, DepositAmount: domain.AmountFromParts(1, 5),
			RatePerSecond: domain.NewAmount(1000), StartTime: 1767225600, CliffTime: 1767225700, EndTime: 1767312000,
			WithdrawDustThreshold: domain.NewAmount(10)},
		"withdrew":  &fluxora.StreamWithdrawn{StreamID: 42, Recipient: bob, Amount: domain.NewAmount(123456789)},
		"cancelled": &fluxora.StreamCancelled{StreamID: 42, CancelledAt: fixtureClose},
		"del_share": &fluxora.StreamShareDelegated{ParentStreamID: 42, ChildStreamID: 43, Delegator: bob, Delegatee: vault, ShareBps: 2500,
			NewParentRate: domain.NewAmount(750), ChildRate: domain.NewAmount(250)},
		"renewed":   &fluxora.StreamRenewed{OldStreamID: 42, NewStreamID: 44},
		"claim_own": &fluxora.StreamClaimOwnerChanged{StreamID: 42, NewOwner: vault},
		"sndr_xfr":  &fluxora.StreamSenderTransferred{StreamID: 42, OldSender: alice, NewSender: vault},
		"decomm":    &fluxora.StreamDecommissioned{StreamID: 42, Decommissioned: true},
		"health": &fluxora.StreamHealthChanged{StreamID: 42, Underfunded: true, RemainingBalance: domain.NewAmount(77),
			SecondsRemaining: 3600},
		"ac_set":    &fluxora.StreamAutoClaimSet{StreamID: 42, Destination: vault},
		"ac_revoke": &fluxora.StreamAutoClaimRevoked{StreamID: 42},
		"ac_trig":   &fluxora.StreamAutoClaimTriggered{StreamID: 42, Destination: vault, Amount: domain.NewAmount(900)},
		"rate_cap":  &fluxora.StreamRateCapEnforced{StreamID: 42, AttemptedRate: domain.NewAmount(5000), MaxRatePerSecond: domain.NewAmount(4000)},
		"offr_crt": &fluxora.StreamOfferCreated{OfferID: 9, Sender: alice, Recipient: bob, DepositAmount: domain.NewAmount(86400),
			RatePerSecond: domain.NewAmount(1), StartTime: 1767225600, CliffTime: 1767225600, EndTime: 1767312000, ExpiryTime: &expiry,
			CreatedAt: 1767220000},
		"offr_acc":  &fluxora.StreamOfferAccepted{OfferID: 9, EffectiveStartTime: 1767225601, Recipient: bob},
		"offr_cxl":  &fluxora.StreamOfferCancelled{OfferID: 9, By: alice, RefundAmount: domain.NewAmount(86400)},
		"tmpl_def":  &fluxora.StreamTemplateDefined{TemplateID: 3, Owner: alice, StartDelay: 60, CliffDelay: 3600, Duration: 86400},
		"res_rel":   &fluxora.StreamIDsReleased{Holder: alice, StartID: 100, Count: 10, Consumed: 4, Reclaimed: 6},
		"gl_pause":  &fluxora.GlobalPauseChanged{Paused: true},
		"gl_resume": &fluxora.GlobalResumed{ResumedAt: 1767225600},
		"ct_pause":  &fluxora.CreationPauseChanged{Paused: false},
		"pr_pause":  &fluxora.ProtocolPaused{Admin: alice, Reason: "audit", PausedAt: 1767225600},
		"pr_resume": &fluxora.ProtocolResumed{Admin: alice, ResumedAt: 1767229200},
		"ex_swept":  &fluxora.ExcessSwept{To: vault, Amount: domain.NewAmount(31)},
		"AdminUpd":  &fluxora.ContractAdminUpdated{OldAdmin: alice, NewAdmin: bob},
		"upgraded": &fluxora.ContractUpgraded{NewWasmHash: strings.Repeat("ab", 32), NewVersion: 4, UpgradedAt: 1767225600,
			UpgradedBy: alice},
		"upgrade":  &fluxora.ContractUpgradedLegacy{NewWasmHash: strings.Repeat("ab", 32), OldVersion: 3, NewVersion: 3, Admin: alice},
		"migrated": &fluxora.ContractMigrationRecorded{FromVersion: 3, ToVersion: 4, Timestamp: 1767225600},

		"factory:fct_init": &fluxora.FactoryInitialized{Admin: alice, StreamContract: vault, MaxDeposit: domain.NewAmount(1_000_000_000),
			MinDuration: 3600},
		"factory:AdminUpd":  &fluxora.FactoryAdminUpdated{OldAdmin: alice, NewAdmin: bob},
		"factory:stm_upd":   &fluxora.FactoryStreamContractSet{OldContract: vault, NewContract: vault},
		"factory:allow_upd": &fluxora.FactoryAllowlistUpdated{Recipient: bob, Allowed: true},
		"factory:cap_upd":   &fluxora.FactoryCapUpdated{OldCap: domain.NewAmount(1_000_000_000), NewCap: domain.NewAmount(2_000_000_000)},
		"factory:dur_upd":   &fluxora.FactoryMinDurationUpdated{OldMinDuration: 3600, NewMinDuration: 7200},
		"factory:batch_cap": &fluxora.FactoryBatchCapUpdated{Enabled: false},
		"factory:rate_bnd":  &fluxora.FactoryRateBoundsUpdated{MinRate: &one},
		"factory:factory":   &fluxora.FactoryPauseChanged{Paused: true},
		"factory:fct_strm": &fluxora.FactoryStreamCreated{StreamID: 42, Sender: alice, Recipient: bob, DepositAmount: domain.NewAmount(86400),
			RatePerSecond: domain.NewAmount(1)},

		"governance:thr_upd":   &fluxora.GovernanceThresholdUpdated{OldThreshold: 2, NewThreshold: 3},
		"governance:quor_cfg":  &fluxora.GovernanceQuorumConfigured{Threshold: 3, SignerCount: 5},
		"governance:sgnr_add":  &fluxora.GovernanceSignerAdded{Signer: bob},
		"governance:sgnr_rm":   &fluxora.GovernanceSignerRemoved{Signer: bob},
		"governance:adm_chg":   &fluxora.GovernanceAdminChanged{OldAdmin: alice, NewAdmin: bob},
		"governance:proposed":  &fluxora.ProposalCreated{ProposalID: 7, Proposer: alice, Target: vault},
		"governance:approved":  &fluxora.ProposalApproved{ProposalID: 7, Approver: bob, ApprovalCount: 2},
		"governance:quorum":    &fluxora.ProposalQuorumReached{ProposalID: 7, QuorumReachedAt: 1767225600, ExecutableAfter: 1767312000},
		"governance:executed":  &fluxora.ProposalExecuted{ProposalID: 7, Executor: alice, Target: vault, Calldata: []byte{0, 0, 0, 1}},
		"governance:cancelled": &fluxora.ProposalCancelled{ProposalID: 8, Canceller: alice},
	}
}

// moduleOf is the module an oracle event's key names ("factory:…", "governance:…", or the stream contract's), and
// the event's topic.
func moduleOf(key string) (decoder interface {
	Decode(domain.ChainMeta, []xdr.ScVal, xdr.ScVal) (domain.Event, string, error)
}, topic string) {
	switch prefix, rest, found := strings.Cut(key, ":"); {
	case found && prefix == "factory":
		return fluxora.Factory{}, rest
	case found && prefix == "governance":
		return fluxora.Governance{}, rest
	}
	return fluxora.Module{}, key
}

// oracleEncoded runs internal/nodetest/stellar-base/fluxora.js: the contract events built by @stellar/stellar-base, an encoder
// that is not ours (see nodetest.Run for when it is missing).
func oracleEncoded(t *testing.T) map[string]struct {
	Topics []string `json:"topics"`
	Value  string   `json:"value"`
} {
	t.Helper()
	out := nodetest.Run(t, nodetest.StellarBase(t), "@stellar/stellar-base", "fluxora.js", nil)
	var encoded map[string]struct {
		Topics []string `json:"topics"`
		Value  string   `json:"value"`
	}
	if err := json.Unmarshal(out, &encoded); err != nil {
		t.Fatal(err)
	}
	return encoded
}

// Contract events built by @stellar/stellar-base decode to the events written out by hand: the decoder reads the
// contract's encoding, not only our simulator's idea of it.
func TestIndependentEncoderDecodesToTheExpectedEvents(t *testing.T) {
	encoded := oracleEncoded(t)
	want := oracleEvents()
	if len(encoded) != len(want) {
		t.Fatalf("%d events encoded, %d expected", len(encoded), len(want))
	}
	for name, ev := range encoded {
		expected, ok := want[name]
		if !ok {
			t.Fatalf("no expected event for %s", name)
		}
		var topics []xdr.ScVal
		for _, tp := range ev.Topics {
			topics = append(topics, scvalOf(t, tp))
		}
		module, wantTopic := moduleOf(name)
		got, topic, err := module.Decode(fixtureMeta(), topics, scvalOf(t, ev.Value))
		if err != nil || topic != wantTopic {
			t.Fatalf("%s: topic %q: %v", name, topic, err)
		}
		if w := withMeta(expected, fixtureMeta()); !reflect.DeepEqual(got, w) {
			t.Fatalf("%s:\n got %#v\nwant %#v", name, got, w)
		}
		// And the simulator, standing in for the contract, encodes the expected event to the same bytes.
		encTopics, encValue, err := sim.Encode(expected)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b64(t, encValue) != ev.Value || len(encTopics) != len(ev.Topics) {
			t.Fatalf("%s: the simulator encodes the value differently", name)
		}
		for i := range encTopics {
			if b64(t, encTopics[i]) != ev.Topics[i] {
				t.Fatalf("%s: the simulator encodes topic %d differently", name, i)
			}
		}
	}
}
