package liquifact

import (
	"fmt"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/scval"
)

// A #[contractevent] struct is published as topics [its name in snake case, then its #[topic] fields in order]
// and data, a map of its other fields keyed by name (an empty map when it has none). Every LiquiFact struct's
// first #[topic] field is `name`, a short Symbol that does not tell the structs apart; the fixed topic does.

// topicKind is what a #[topic] field after `name` holds.
type topicKind int

const (
	invoiceTopic  topicKind = iota // invoice_id: Symbol
	investorTopic                  // investor: Address
)

// eventShape is how one struct is laid out and read: its #[topic] fields after `name`, in order, and its reader,
// which fills the rest from the data map (f).
type eventShape struct {
	topics []topicKind
	read   func(h Head, investor domain.Address, f *scval.Fields) domain.Event
}

var (
	byInvoice            = []topicKind{invoiceTopic}
	byInvoiceAndInvestor = []topicKind{invoiceTopic, investorTopic}
	byInvestorAndInvoice = []topicKind{investorTopic, invoiceTopic}
)

// shapes are the contract's 42 event structs (escrow/src/lib.rs at ef6338e), by fixed topic. A struct whose
// invoice_id is not a #[topic] carries it in its data, which the reader copies into the head.
func shapes(topic string) (eventShape, bool) {
	switch topic {
	case "escrow_initialized":
		return eventShape{read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			e := f.Struct("escrow")
			escrow := InvoiceEscrow{InvoiceID: e.Sym("invoice_id"), Admin: e.Address("admin"), Sme: e.Address("sme_address"),
				Amount: e.Amount("amount"), FundingTarget: e.Amount("funding_target"), FundedAmount: e.Amount("funded_amount"),
				YieldBps: e.I64("yield_bps"), Maturity: e.U64("maturity"), Status: e.U32("status")}
			if err := e.Err(); err != nil {
				return failed(err)
			}
			h.InvoiceID = escrow.InvoiceID
			return &EscrowInitialized{Head: h, Escrow: escrow, FundingToken: f.Address("funding_token"),
				Treasury: f.Address("treasury"), Registry: f.OptAddress("registry"), HasMaturityLock: f.Bool("has_maturity_lock")}
		}}, true
	case "escrow_funded":
		return eventShape{topics: byInvoiceAndInvestor, read: func(h Head, investor domain.Address, f *scval.Fields) domain.Event {
			return &EscrowFunded{Head: h, Investor: investor, Amount: f.Amount("amount"), FundedAmount: f.Amount("funded_amount"),
				Status: f.U32("status"), InvestorEffectiveYieldBps: f.I64("investor_effective_yield_bps"),
				TierLockSecs: f.U64("tier_lock_secs")}
		}}, true
	case "escrow_unfunded":
		return eventShape{topics: byInvoiceAndInvestor, read: func(h Head, investor domain.Address, f *scval.Fields) domain.Event {
			return &EscrowUnfunded{Head: h, Investor: investor, Amount: f.Amount("amount"),
				RemainingContribution: f.Amount("remaining_contribution"), NewFundedAmount: f.Amount("new_funded_amount"),
				Timestamp: f.U64("timestamp")}
		}}, true
	case "escrow_partial_settle":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowPartiallySettled{Head: h, FundedAmount: f.Amount("funded_amount")}
		}}, true
	case "escrow_settled":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowSettled{Head: h, FundedAmount: f.Amount("funded_amount"), YieldBps: f.I64("yield_bps"),
				Maturity: f.U64("maturity"), SettledAt: f.U64("settled_at_ledger_timestamp"), SettlePool: f.Amount("settle_pool")}
		}}, true
	case "sme_withdrew":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowSmeWithdrew{Head: h, Amount: f.Amount("amount"), Recipient: f.Address("recipient"), Fee: f.Amount("fee")}
		}}, true
	case "investor_payout_claimed":
		return eventShape{topics: byInvestorAndInvoice, read: func(h Head, investor domain.Address, f *scval.Fields) domain.Event {
			return &EscrowPayoutClaimed{Head: h, Investor: investor}
		}}, true
	case "funding_cancelled":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowFundingCancelled{Head: h, FundedAmount: f.Amount("funded_amount")}
		}}, true
	case "investor_refunded_evt":
		return eventShape{topics: byInvestorAndInvoice, read: func(h Head, investor domain.Address, f *scval.Fields) domain.Event {
			return &EscrowInvestorRefunded{Head: h, Investor: investor, Amount: f.Amount("amount")}
		}}, true
	case "beneficiary_rotated":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowBeneficiaryRotated{Head: h, PriorSme: f.Address("prior_sme"), NewSme: f.Address("new_sme")}
		}}, true
	case "funding_target_updated":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowFundingTargetUpdated{Head: h, OldTarget: f.Amount("old_target"), NewTarget: f.Amount("new_target")}
		}}, true
	case "funding_deadline_extended":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowFundingDeadlineExtended{Head: h, OldDeadline: f.U64("old_deadline"), NewDeadline: f.U64("new_deadline")}
		}}, true
	case "maturity_updated_event":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowMaturityUpdated{Head: h, OldMaturity: f.U64("old_maturity"), NewMaturity: f.U64("new_maturity")}
		}}, true
	case "maturity_max_horizon_updated":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowMaturityHorizonUpdated{Head: h, OldHorizon: f.U64("old_horizon"), NewHorizon: f.U64("new_horizon")}
		}}, true
	case "maturity_max_horizon_raised":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowMaturityHorizonRaised{Head: h, OldHorizon: f.U64("old_horizon"), NewHorizon: f.U64("new_horizon")}
		}}, true
	case "legal_hold_changed":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowLegalHoldChanged{Head: h, Active: f.U32("active")}
		}}, true
	case "legal_hold_clear_requested":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowLegalHoldClearRequested{Head: h, ClearableAt: f.U64("clearable_at")}
		}}, true
	case "legal_hold_clear_cancelled":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, _ *scval.Fields) domain.Event {
			return &EscrowLegalHoldClearCancelled{Head: h}
		}}, true
	case "legal_hold_clear_delay_updated":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowLegalHoldClearDelayUpdated{Head: h, OldDelay: f.U64("old_delay"), NewDelay: f.U64("new_delay")}
		}}, true
	case "paused_changed":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowPausedChanged{Head: h, Active: f.U32("active")}
		}}, true
	case "max_unique_investors_cap_lowered":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowInvestorCountCapLowered{Head: h, OldCap: f.U32("old_cap"), NewCap: f.U32("new_cap")}
		}}, true
	case "max_unique_investors_cap_raised":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowInvestorCountCapRaised{Head: h, OldCap: f.U32("old_cap"), NewCap: f.U32("new_cap")}
		}}, true
	case "min_contribution_floor_lowered":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowContributionFloorLowered{Head: h, OldFloor: f.Amount("old_floor"), NewFloor: f.Amount("new_floor")}
		}}, true
	case "max_per_investor_cap_raised":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowPerInvestorCapRaised{Head: h, OldCap: f.Amount("old_cap"), NewCap: f.Amount("new_cap")}
		}}, true
	case "admin_transferred_event":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowAdminTransferred{Head: h, NewAdmin: f.Address("new_admin")}
		}}, true
	case "admin_accepted_event":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowAdminAccepted{Head: h, PriorAdmin: f.Address("prior_admin"), NewAdmin: f.Address("new_admin")}
		}}, true
	case "admin_proposed_event":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowAdminProposed{Head: h, CurrentAdmin: f.Address("current_admin"), PendingAdmin: f.Address("pending_admin")}
		}}, true
	case "admin_proposal_superseded":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowAdminProposalSuperseded{Head: h, PreviousPending: f.Address("previous_pending"),
				NewPending: f.Address("new_pending")}
		}}, true
	case "admin_proposal_cancelled":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowAdminProposalCancelled{Head: h, CancelledPending: f.Address("cancelled_pending")}
		}}, true
	case "deprecated_transfer_admin_used":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowDeprecatedTransferAdminUsed{Head: h, ProposedAddress: f.Address("proposed_address")}
		}}, true
	case "collateral_recorded_evt":
		return eventShape{read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			h.InvoiceID = f.Sym("invoice_id")
			return &EscrowCollateralRecorded{Head: h, Amount: f.Amount("amount"), PriorAmount: f.Amount("prior_amount")}
		}}, true
	case "collateral_cleared_evt":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowCollateralCleared{Head: h, Asset: f.Sym("asset"), Amount: f.Amount("amount"), RecordedAt: f.U64("recorded_at")}
		}}, true
	case "collateral_commitment_cleared":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowCollateralCommitmentCleared{Head: h, Asset: f.Sym("asset"), Amount: f.Amount("amount"),
				RecordedAt: f.U64("recorded_at")}
		}}, true
	case "registry_ref_rebound":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowRegistryRebound{Head: h, Registry: f.OptAddress("registry")}
		}}, true
	case "treasury_dust_swept":
		return eventShape{read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			h.InvoiceID = f.Sym("invoice_id")
			return &EscrowDustSwept{Head: h, Recipient: f.Address("recipient"), Token: f.Address("token"), Amount: f.Amount("amount")}
		}}, true
	case "primary_attestation_bound":
		return eventShape{read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			h.InvoiceID = f.Sym("invoice_id")
			return &EscrowAttestationBound{Head: h, Digest: f.Hash32("digest")}
		}}, true
	case "attestation_digest_appended":
		return eventShape{read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			h.InvoiceID = f.Sym("invoice_id")
			return &EscrowAttestationAppended{Head: h, Index: f.U32("index"), Digest: f.Hash32("digest")}
		}}, true
	case "attestation_digest_revoked":
		return eventShape{read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			h.InvoiceID = f.Sym("invoice_id")
			return &EscrowAttestationRevoked{Head: h, Index: f.U32("index")}
		}}, true
	case "attestation_digest_unrevoked":
		return eventShape{read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			h.InvoiceID = f.Sym("invoice_id")
			return &EscrowAttestationUnrevoked{Head: h, Index: f.U32("index")}
		}}, true
	case "allowlist_enabled_changed":
		return eventShape{read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			h.InvoiceID = f.Sym("invoice_id")
			return &EscrowAllowlistEnabledChanged{Head: h, Active: f.U32("active")}
		}}, true
	case "investor_allowlist_changed":
		return eventShape{read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			h.InvoiceID = f.Sym("invoice_id")
			return &EscrowInvestorAllowlistChanged{Head: h, Investor: f.Address("investor"), Allowed: f.U32("allowed")}
		}}, true
	case "contract_upgraded":
		return eventShape{topics: byInvoice, read: func(h Head, _ domain.Address, f *scval.Fields) domain.Event {
			return &EscrowContractUpgraded{Head: h, NewWasmHash: f.Hash32("new_wasm_hash")}
		}}, true
	}
	return eventShape{}, false
}

// failedRead is a reader's way to report a nested struct that did not read; decode turns it into the error.
type failedRead struct{ err error }

func (failedRead) Type() domain.EventType { return "" }

func failed(err error) domain.Event { return failedRead{err} }

// decode reads one event of a known fixed topic.
func decode(meta domain.ChainMeta, shape eventShape, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
	if len(topics) != 2+len(shape.topics) {
		return nil, fmt.Errorf("%w: %d topics, want %d", scval.ErrShape, len(topics), 2+len(shape.topics))
	}
	t := scval.NewTupleReader(topics[1:])
	h := Head{ChainMeta: meta, Name: t.Sym()}
	var investor domain.Address
	for _, k := range shape.topics {
		switch k {
		case invoiceTopic:
			h.InvoiceID = t.Sym()
		case investorTopic:
			investor = t.Address()
		}
	}
	if err := t.Err(); err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	f := scval.Struct(data)
	e := shape.read(h, investor, &f)
	if fr, ok := e.(failedRead); ok {
		return nil, fr.err
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return e, nil
}
