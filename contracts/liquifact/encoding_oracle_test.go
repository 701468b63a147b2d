package liquifact

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/nodetest"
)

const (
	admin    = domain.Address("GAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPSABOV")
	sme      = domain.Address("GAZDGNBVGY3TQOJ2HM6D2PR7IBAUEQ2EIVDEOSCJJJFUYTKOJ5IFDANM")
	investor = domain.Address("GBJCHUKZMTFSLOMNC7P4TS4VJJBTCYL3XKSOLXAUJSD56C4LHND5TWUC")
	token    = domain.Address("CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP")
	invoice  = "INV-1023"
)

func meta() domain.ChainMeta {
	return domain.ChainMeta{NetworkID: "n", ContractID: "CAAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQC526", Ledger: 77,
		LedgerClosedAt: time.Unix(1779000000, 0).UTC()}
}

func head(name string) Head { return Head{ChainMeta: meta(), Name: name, InvoiceID: invoice} }

func amount(t *testing.T, s string) domain.Amount {
	t.Helper()
	a, err := domain.ParseRawAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// oracleEvents are the events internal/nodetest/stellar-base/liquifact.js builds, written out by hand from the
// script's values and escrow/src/lib.rs's field names, not by the decoder.
func oracleEvents(t *testing.T) map[string]domain.Event {
	a := func(s string) domain.Amount { return amount(t, s) }
	tok := token
	digest := func(b byte) string { return hex.EncodeToString(bytes.Repeat([]byte{b}, 32)) }
	return map[string]domain.Event{
		"escrow_initialized": &EscrowInitialized{Head: head("escrow_ii"), Escrow: InvoiceEscrow{InvoiceID: invoice, Admin: admin,
			Sme: sme, Amount: a("52000000000"), FundingTarget: a("50000000000"), FundedAmount: a("0"), YieldBps: 800,
			Maturity: 1790000000, Status: 0}, FundingToken: token, Treasury: admin, HasMaturityLock: true},
		"max_unique_investors_cap_lowered": &EscrowInvestorCountCapLowered{Head: head("inv_cap"), OldCap: 50, NewCap: 20},
		"max_unique_investors_cap_raised":  &EscrowInvestorCountCapRaised{Head: head("raise_cap"), OldCap: 20, NewCap: 30},
		"min_contribution_floor_lowered":   &EscrowContributionFloorLowered{Head: head("floor_lo"), OldFloor: a("1000"), NewFloor: a("500")},
		"max_per_investor_cap_raised":      &EscrowPerInvestorCapRaised{Head: head("inv_cap"), OldCap: a("5000"), NewCap: a("9000")},
		"escrow_funded": &EscrowFunded{Head: head("funded"), Investor: investor, Amount: a("5000000000"),
			FundedAmount: a("25000000000"), Status: 0, InvestorEffectiveYieldBps: 900, TierLockSecs: 86400},
		"beneficiary_rotated":   &EscrowBeneficiaryRotated{Head: head("ben_rot"), PriorSme: sme, NewSme: investor},
		"escrow_partial_settle": &EscrowPartiallySettled{Head: head("part_set"), FundedAmount: a("20000000000")},
		"escrow_settled": &EscrowSettled{Head: head("escrow_sd"), FundedAmount: a("50000000000"), YieldBps: 800,
			Maturity: 1790000000, SettledAt: 1790000100, SettlePool: a("54000000000")},
		"maturity_updated_event":         &EscrowMaturityUpdated{Head: head("maturity"), OldMaturity: 1790000000, NewMaturity: 1795000000},
		"admin_transferred_event":        &EscrowAdminTransferred{Head: head("admin"), NewAdmin: sme},
		"admin_accepted_event":           &EscrowAdminAccepted{Head: head("adm_acc"), PriorAdmin: admin, NewAdmin: sme},
		"admin_proposed_event":           &EscrowAdminProposed{Head: head("adm_prop"), CurrentAdmin: admin, PendingAdmin: sme},
		"admin_proposal_superseded":      &EscrowAdminProposalSuperseded{Head: head("adm_sup"), PreviousPending: sme, NewPending: investor},
		"admin_proposal_cancelled":       &EscrowAdminProposalCancelled{Head: head("adm_can"), CancelledPending: investor},
		"deprecated_transfer_admin_used": &EscrowDeprecatedTransferAdminUsed{Head: head("depr_xfer"), ProposedAddress: sme},
		"funding_target_updated": &EscrowFundingTargetUpdated{Head: head("fund_tgt"), OldTarget: a("50000000000"),
			NewTarget: a("60000000000")},
		"funding_deadline_extended":      &EscrowFundingDeadlineExtended{Head: head("fund_ext"), OldDeadline: 1780000000, NewDeadline: 1781000000},
		"legal_hold_changed":             &EscrowLegalHoldChanged{Head: head("legalhld"), Active: 1},
		"paused_changed":                 &EscrowPausedChanged{Head: head("paused"), Active: 1},
		"legal_hold_clear_requested":     &EscrowLegalHoldClearRequested{Head: head("lh_req"), ClearableAt: 1780086400},
		"legal_hold_clear_delay_updated": &EscrowLegalHoldClearDelayUpdated{Head: head("lh_delay"), OldDelay: 86400, NewDelay: 172800},
		"collateral_recorded_evt":        &EscrowCollateralRecorded{Head: head("coll_rec"), Amount: a("7000"), PriorAmount: a("0")},
		"collateral_cleared_evt": &EscrowCollateralCleared{Head: head("coll_clr"), Asset: "USDC", Amount: a("7000"),
			RecordedAt: 1779000000},
		"collateral_commitment_cleared": &EscrowCollateralCommitmentCleared{Head: head("coll_clr"), Asset: "USDC",
			Amount: a("7000"), RecordedAt: 1779000000},
		"sme_withdrew": &EscrowSmeWithdrew{Head: head("sme_wd"), Amount: a("49500000000"), Recipient: sme,
			Fee: a("500000000")},
		"investor_payout_claimed": &EscrowPayoutClaimed{Head: head("inv_claim"), Investor: investor},
		"funding_cancelled":       &EscrowFundingCancelled{Head: head("fund_can"), FundedAmount: a("20000000000")},
		"investor_refunded_evt":   &EscrowInvestorRefunded{Head: head("refunded"), Investor: investor, Amount: a("20000000000")},
		"escrow_unfunded": &EscrowUnfunded{Head: head("unfunded"), Investor: investor, Amount: a("5000000000"),
			RemainingContribution: a("15000000000"), NewFundedAmount: a("35000000000"), Timestamp: 1779500000},
		"registry_ref_rebound":         &EscrowRegistryRebound{Head: head("reg_rebind"), Registry: &tok},
		"treasury_dust_swept":          &EscrowDustSwept{Head: head("dust_sw"), Recipient: admin, Token: token, Amount: a("3")},
		"primary_attestation_bound":    &EscrowAttestationBound{Head: head("att_bind"), Digest: digest(0xa1)},
		"attestation_digest_appended":  &EscrowAttestationAppended{Head: head("att_app"), Index: 2, Digest: digest(0xb2)},
		"attestation_digest_revoked":   &EscrowAttestationRevoked{Head: head("att_rev"), Index: 2},
		"attestation_digest_unrevoked": &EscrowAttestationUnrevoked{Head: head("att_unrev"), Index: 2},
		"maturity_max_horizon_updated": &EscrowMaturityHorizonUpdated{Head: head("mtry_max"), OldHorizon: 31536000,
			NewHorizon: 15768000},
		"maturity_max_horizon_raised": &EscrowMaturityHorizonRaised{Head: head("mtry_rse"), OldHorizon: 15768000,
			NewHorizon: 63072000},
		"allowlist_enabled_changed":  &EscrowAllowlistEnabledChanged{Head: head("al_ena"), Active: 1},
		"investor_allowlist_changed": &EscrowInvestorAllowlistChanged{Head: head("al_set"), Investor: investor, Allowed: 1},
		"legal_hold_clear_cancelled": &EscrowLegalHoldClearCancelled{Head: head("lh_cancel")},
		"contract_upgraded":          &EscrowContractUpgraded{Head: head("upgrade"), NewWasmHash: digest(0xcd)},
	}
}

func scvalOf(t *testing.T, b64 string) xdr.ScVal {
	t.Helper()
	var v xdr.ScVal
	if err := xdr.SafeUnmarshalBase64(b64, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Escrow events built by @stellar/stellar-base, an encoder that is not ours, as soroban-sdk lays out the contract's
// #[contractevent] structs, decode to the events written out by hand: every one of the contract's 42 structs.
func TestIndependentEncoderDecodesToTheExpectedEvents(t *testing.T) {
	out := nodetest.Run(t, nodetest.StellarBase(t), "@stellar/stellar-base", "liquifact.js", nil)
	var encoded map[string]struct {
		Topics []string `json:"topics"`
		Value  string   `json:"value"`
	}
	if err := json.Unmarshal(out, &encoded); err != nil {
		t.Fatal(err)
	}
	want := oracleEvents(t)
	if len(encoded) != len(want) || len(want) != len(Module{}.Events()) {
		t.Fatalf("%d events encoded, %d expected, %d types", len(encoded), len(want), len(Module{}.Events()))
	}
	types := map[domain.EventType]bool{}
	for topic, ev := range encoded {
		var topics []xdr.ScVal
		for _, tp := range ev.Topics {
			topics = append(topics, scvalOf(t, tp))
		}
		got, gotTopic, err := Module{}.Decode(meta(), topics, scvalOf(t, ev.Value))
		if err != nil || gotTopic != topic {
			t.Fatalf("%s: topic %q: %v", topic, gotTopic, err)
		}
		if !reflect.DeepEqual(got, want[topic]) {
			t.Fatalf("%s:\n got %#v\nwant %#v", topic, got, want[topic])
		}
		types[got.Type()] = true
	}
	if len(types) != len(want) {
		t.Fatalf("%d structs decode to %d event types", len(want), len(types))
	}
}
