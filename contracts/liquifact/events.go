package liquifact

import "github.com/streamledger/streamledger/domain"

// Head is what every LiquiFact event carries: where it came from, its name symbol (the contract's short routing
// name, topic 1: not unique, which is why events are told apart by their fixed topic 0), and the invoice.
type Head struct {
	domain.ChainMeta `json:"chain"`
	Name             string `json:"name"`
	InvoiceID        string `json:"invoiceId"`
}

// InvoiceEscrow is the escrow record `init` stores (schema version 6).
type InvoiceEscrow struct {
	InvoiceID     string         `json:"invoiceId"`
	Admin         domain.Address `json:"admin"`
	Sme           domain.Address `json:"sme"`
	Amount        domain.Amount  `json:"amount"`
	FundingTarget domain.Amount  `json:"fundingTarget"`
	FundedAmount  domain.Amount  `json:"fundedAmount"`
	YieldBps      int64          `json:"yieldBps"`
	Maturity      uint64         `json:"maturity"`
	Status        uint32         `json:"status"`
}

// EscrowInitialized is escrow_initialized (escrow_ii): a new invoice escrow.
type EscrowInitialized struct {
	Head
	Escrow          InvoiceEscrow   `json:"escrow"`
	FundingToken    domain.Address  `json:"fundingToken"`
	Treasury        domain.Address  `json:"treasury"`
	Registry        *domain.Address `json:"registry"`
	HasMaturityLock bool            `json:"hasMaturityLock"`
}

// EscrowFunded is escrow_funded (funded): an investor's contribution; FundedAmount is the escrow's total after it.
type EscrowFunded struct {
	Head
	Investor                  domain.Address `json:"investor"`
	Amount                    domain.Amount  `json:"amount"`
	FundedAmount              domain.Amount  `json:"fundedAmount"`
	Status                    uint32         `json:"status"`
	InvestorEffectiveYieldBps int64          `json:"investorEffectiveYieldBps"`
	TierLockSecs              uint64         `json:"tierLockSecs"`
}

// EscrowUnfunded is escrow_unfunded (unfunded): an investor took part of a contribution back while funding was open.
type EscrowUnfunded struct {
	Head
	Investor              domain.Address `json:"investor"`
	Amount                domain.Amount  `json:"amount"`
	RemainingContribution domain.Amount  `json:"remainingContribution"`
	NewFundedAmount       domain.Amount  `json:"newFundedAmount"`
	Timestamp             uint64         `json:"timestamp"`
}

// EscrowPartiallySettled is escrow_partial_settle (part_set): funding closed below the target (status 1).
type EscrowPartiallySettled struct {
	Head
	FundedAmount domain.Amount `json:"fundedAmount"`
}

// EscrowSettled is escrow_settled (escrow_sd): status 2; SettlePool is principal plus coupon.
type EscrowSettled struct {
	Head
	FundedAmount domain.Amount `json:"fundedAmount"`
	YieldBps     int64         `json:"yieldBps"`
	Maturity     uint64        `json:"maturity"`
	SettledAt    uint64        `json:"settledAt"`
	SettlePool   domain.Amount `json:"settlePool"`
}

// EscrowSmeWithdrew is sme_withdrew (sme_wd): the SME drew the liquidity (status 3); Fee went to the treasury.
type EscrowSmeWithdrew struct {
	Head
	Amount    domain.Amount  `json:"amount"`
	Recipient domain.Address `json:"recipient"`
	Fee       domain.Amount  `json:"fee"`
}

// EscrowPayoutClaimed is investor_payout_claimed (inv_claim): an investor claimed their payout (once).
type EscrowPayoutClaimed struct {
	Head
	Investor domain.Address `json:"investor"`
}

// EscrowFundingCancelled is funding_cancelled (fund_can): status 4, investors may be refunded.
type EscrowFundingCancelled struct {
	Head
	FundedAmount domain.Amount `json:"fundedAmount"`
}

// EscrowInvestorRefunded is investor_refunded_evt (refunded): a refund after a cancellation.
type EscrowInvestorRefunded struct {
	Head
	Investor domain.Address `json:"investor"`
	Amount   domain.Amount  `json:"amount"`
}

// EscrowBeneficiaryRotated is beneficiary_rotated (ben_rot): the SME address changed.
type EscrowBeneficiaryRotated struct {
	Head
	PriorSme domain.Address `json:"priorSme"`
	NewSme   domain.Address `json:"newSme"`
}

// EscrowFundingTargetUpdated is funding_target_updated (fund_tgt).
type EscrowFundingTargetUpdated struct {
	Head
	OldTarget domain.Amount `json:"oldTarget"`
	NewTarget domain.Amount `json:"newTarget"`
}

// EscrowFundingDeadlineExtended is funding_deadline_extended (fund_ext).
type EscrowFundingDeadlineExtended struct {
	Head
	OldDeadline uint64 `json:"oldDeadline"`
	NewDeadline uint64 `json:"newDeadline"`
}

// EscrowMaturityUpdated is maturity_updated_event (maturity).
type EscrowMaturityUpdated struct {
	Head
	OldMaturity uint64 `json:"oldMaturity"`
	NewMaturity uint64 `json:"newMaturity"`
}

// EscrowMaturityHorizonUpdated is maturity_max_horizon_updated (mtry_max).
type EscrowMaturityHorizonUpdated struct {
	Head
	OldHorizon uint64 `json:"oldHorizon"`
	NewHorizon uint64 `json:"newHorizon"`
}

// EscrowMaturityHorizonRaised is maturity_max_horizon_raised (mtry_rse).
type EscrowMaturityHorizonRaised struct {
	Head
	OldHorizon uint64 `json:"oldHorizon"`
	NewHorizon uint64 `json:"newHorizon"`
}

// EscrowLegalHoldChanged is legal_hold_changed (legalhld when set or cleared, legal_h when cleared after the
// delay): Active 1 blocks money movement, 0 clears it.
type EscrowLegalHoldChanged struct {
	Head
	Active uint32 `json:"active"`
}

// EscrowLegalHoldClearRequested is legal_hold_clear_requested (lh_req).
type EscrowLegalHoldClearRequested struct {
	Head
	ClearableAt uint64 `json:"clearableAt"`
}

// EscrowLegalHoldClearCancelled is legal_hold_clear_cancelled (lh_cancel).
type EscrowLegalHoldClearCancelled struct {
	Head
}

// EscrowLegalHoldClearDelayUpdated is legal_hold_clear_delay_updated (declared, not emitted at ef6338e).
type EscrowLegalHoldClearDelayUpdated struct {
	Head
	OldDelay uint64 `json:"oldDelay"`
	NewDelay uint64 `json:"newDelay"`
}

// EscrowPausedChanged is paused_changed (paused).
type EscrowPausedChanged struct {
	Head
	Active uint32 `json:"active"`
}

// EscrowInvestorCountCapLowered is max_unique_investors_cap_lowered (inv_cap).
type EscrowInvestorCountCapLowered struct {
	Head
	OldCap uint32 `json:"oldCap"`
	NewCap uint32 `json:"newCap"`
}

// EscrowInvestorCountCapRaised is max_unique_investors_cap_raised (raise_cap).
type EscrowInvestorCountCapRaised struct {
	Head
	OldCap uint32 `json:"oldCap"`
	NewCap uint32 `json:"newCap"`
}

// EscrowContributionFloorLowered is min_contribution_floor_lowered (floor_lo).
type EscrowContributionFloorLowered struct {
	Head
	OldFloor domain.Amount `json:"oldFloor"`
	NewFloor domain.Amount `json:"newFloor"`
}

// EscrowPerInvestorCapRaised is max_per_investor_cap_raised (inv_cap, the name the count cap also uses).
type EscrowPerInvestorCapRaised struct {
	Head
	OldCap domain.Amount `json:"oldCap"`
	NewCap domain.Amount `json:"newCap"`
}

// EscrowAdminTransferred is admin_transferred_event (declared, not emitted at ef6338e).
type EscrowAdminTransferred struct {
	Head
	NewAdmin domain.Address `json:"newAdmin"`
}

// EscrowAdminAccepted is admin_accepted_event (adm_acc).
type EscrowAdminAccepted struct {
	Head
	PriorAdmin domain.Address `json:"priorAdmin"`
	NewAdmin   domain.Address `json:"newAdmin"`
}

// EscrowAdminProposed is admin_proposed_event (adm_prop).
type EscrowAdminProposed struct {
	Head
	CurrentAdmin domain.Address `json:"currentAdmin"`
	PendingAdmin domain.Address `json:"pendingAdmin"`
}

// EscrowAdminProposalSuperseded is admin_proposal_superseded (adm_sup).
type EscrowAdminProposalSuperseded struct {
	Head
	PreviousPending domain.Address `json:"previousPending"`
	NewPending      domain.Address `json:"newPending"`
}

// EscrowAdminProposalCancelled is admin_proposal_cancelled (adm_can).
type EscrowAdminProposalCancelled struct {
	Head
	CancelledPending domain.Address `json:"cancelledPending"`
}

// EscrowDeprecatedTransferAdminUsed is deprecated_transfer_admin_used (depr_xfer).
type EscrowDeprecatedTransferAdminUsed struct {
	Head
	ProposedAddress domain.Address `json:"proposedAddress"`
}

// EscrowCollateralRecorded is collateral_recorded_evt (coll_rec): the SME's collateral commitment (a record, not
// custody).
type EscrowCollateralRecorded struct {
	Head
	Amount      domain.Amount `json:"amount"`
	PriorAmount domain.Amount `json:"priorAmount"`
}

// EscrowCollateralCleared is collateral_cleared_evt (coll_clr).
type EscrowCollateralCleared struct {
	Head
	Asset      string        `json:"asset"`
	Amount     domain.Amount `json:"amount"`
	RecordedAt uint64        `json:"recordedAt"`
}

// EscrowCollateralCommitmentCleared is collateral_commitment_cleared (coll_clr).
type EscrowCollateralCommitmentCleared struct {
	Head
	Asset      string        `json:"asset"`
	Amount     domain.Amount `json:"amount"`
	RecordedAt uint64        `json:"recordedAt"`
}

// EscrowRegistryRebound is registry_ref_rebound (reg_rebind).
type EscrowRegistryRebound struct {
	Head
	Registry *domain.Address `json:"registry"`
}

// EscrowDustSwept is treasury_dust_swept (dust_sw): a terminal escrow's leftover sent to the treasury.
type EscrowDustSwept struct {
	Head
	Recipient domain.Address `json:"recipient"`
	Token     domain.Address `json:"token"`
	Amount    domain.Amount  `json:"amount"`
}

// EscrowAttestationBound is primary_attestation_bound (att_bind).
type EscrowAttestationBound struct {
	Head
	Digest string `json:"digest"` // hex
}

// EscrowAttestationAppended is attestation_digest_appended (att_app).
type EscrowAttestationAppended struct {
	Head
	Index  uint32 `json:"index"`
	Digest string `json:"digest"` // hex
}

// EscrowAttestationRevoked is attestation_digest_revoked (att_rev).
type EscrowAttestationRevoked struct {
	Head
	Index uint32 `json:"index"`
}

// EscrowAttestationUnrevoked is attestation_digest_unrevoked (att_unrev).
type EscrowAttestationUnrevoked struct {
	Head
	Index uint32 `json:"index"`
}

// EscrowAllowlistEnabledChanged is allowlist_enabled_changed (al_ena).
type EscrowAllowlistEnabledChanged struct {
	Head
	Active uint32 `json:"active"`
}

// EscrowInvestorAllowlistChanged is investor_allowlist_changed (al_set).
type EscrowInvestorAllowlistChanged struct {
	Head
	Investor domain.Address `json:"investor"`
	Allowed  uint32         `json:"allowed"`
}

// EscrowContractUpgraded is contract_upgraded (upgrade).
type EscrowContractUpgraded struct {
	Head
	NewWasmHash string `json:"newWasmHash"` // hex
}
