package liquifact

import "github.com/streamledger/streamledger/domain"

// The event types' stored names are their Go names: part of the stored format, never renamed.
func (*EscrowInitialized) Type() domain.EventType             { return "EscrowInitialized" }
func (*EscrowFunded) Type() domain.EventType                  { return "EscrowFunded" }
func (*EscrowUnfunded) Type() domain.EventType                { return "EscrowUnfunded" }
func (*EscrowPartiallySettled) Type() domain.EventType        { return "EscrowPartiallySettled" }
func (*EscrowSettled) Type() domain.EventType                 { return "EscrowSettled" }
func (*EscrowSmeWithdrew) Type() domain.EventType             { return "EscrowSmeWithdrew" }
func (*EscrowPayoutClaimed) Type() domain.EventType           { return "EscrowPayoutClaimed" }
func (*EscrowFundingCancelled) Type() domain.EventType        { return "EscrowFundingCancelled" }
func (*EscrowInvestorRefunded) Type() domain.EventType        { return "EscrowInvestorRefunded" }
func (*EscrowBeneficiaryRotated) Type() domain.EventType      { return "EscrowBeneficiaryRotated" }
func (*EscrowFundingTargetUpdated) Type() domain.EventType    { return "EscrowFundingTargetUpdated" }
func (*EscrowFundingDeadlineExtended) Type() domain.EventType { return "EscrowFundingDeadlineExtended" }
func (*EscrowMaturityUpdated) Type() domain.EventType         { return "EscrowMaturityUpdated" }
func (*EscrowMaturityHorizonUpdated) Type() domain.EventType  { return "EscrowMaturityHorizonUpdated" }
func (*EscrowMaturityHorizonRaised) Type() domain.EventType   { return "EscrowMaturityHorizonRaised" }
func (*EscrowLegalHoldChanged) Type() domain.EventType        { return "EscrowLegalHoldChanged" }
func (*EscrowLegalHoldClearRequested) Type() domain.EventType { return "EscrowLegalHoldClearRequested" }
func (*EscrowLegalHoldClearCancelled) Type() domain.EventType { return "EscrowLegalHoldClearCancelled" }
func (*EscrowLegalHoldClearDelayUpdated) Type() domain.EventType {
	return "EscrowLegalHoldClearDelayUpdated"
}
func (*EscrowPausedChanged) Type() domain.EventType           { return "EscrowPausedChanged" }
func (*EscrowInvestorCountCapLowered) Type() domain.EventType { return "EscrowInvestorCountCapLowered" }
func (*EscrowInvestorCountCapRaised) Type() domain.EventType  { return "EscrowInvestorCountCapRaised" }
func (*EscrowContributionFloorLowered) Type() domain.EventType {
	return "EscrowContributionFloorLowered"
}
func (*EscrowPerInvestorCapRaised) Type() domain.EventType    { return "EscrowPerInvestorCapRaised" }
func (*EscrowAdminTransferred) Type() domain.EventType        { return "EscrowAdminTransferred" }
func (*EscrowAdminAccepted) Type() domain.EventType           { return "EscrowAdminAccepted" }
func (*EscrowAdminProposed) Type() domain.EventType           { return "EscrowAdminProposed" }
func (*EscrowAdminProposalSuperseded) Type() domain.EventType { return "EscrowAdminProposalSuperseded" }
func (*EscrowAdminProposalCancelled) Type() domain.EventType  { return "EscrowAdminProposalCancelled" }
func (*EscrowDeprecatedTransferAdminUsed) Type() domain.EventType {
	return "EscrowDeprecatedTransferAdminUsed"
}
func (*EscrowCollateralRecorded) Type() domain.EventType { return "EscrowCollateralRecorded" }
func (*EscrowCollateralCleared) Type() domain.EventType  { return "EscrowCollateralCleared" }
func (*EscrowCollateralCommitmentCleared) Type() domain.EventType {
	return "EscrowCollateralCommitmentCleared"
}
func (*EscrowRegistryRebound) Type() domain.EventType         { return "EscrowRegistryRebound" }
func (*EscrowDustSwept) Type() domain.EventType               { return "EscrowDustSwept" }
func (*EscrowAttestationBound) Type() domain.EventType        { return "EscrowAttestationBound" }
func (*EscrowAttestationAppended) Type() domain.EventType     { return "EscrowAttestationAppended" }
func (*EscrowAttestationRevoked) Type() domain.EventType      { return "EscrowAttestationRevoked" }
func (*EscrowAttestationUnrevoked) Type() domain.EventType    { return "EscrowAttestationUnrevoked" }
func (*EscrowAllowlistEnabledChanged) Type() domain.EventType { return "EscrowAllowlistEnabledChanged" }
func (*EscrowInvestorAllowlistChanged) Type() domain.EventType {
	return "EscrowInvestorAllowlistChanged"
}
func (*EscrowContractUpgraded) Type() domain.EventType { return "EscrowContractUpgraded" }

// Events are the module's event types, for the log's registry (DESIGN §12).
func (Module) Events() []domain.Event {
	return []domain.Event{&EscrowInitialized{}, &EscrowFunded{}, &EscrowUnfunded{}, &EscrowPartiallySettled{}, &EscrowSettled{}, &EscrowSmeWithdrew{}, &EscrowPayoutClaimed{}, &EscrowFundingCancelled{}, &EscrowInvestorRefunded{}, &EscrowBeneficiaryRotated{}, &EscrowFundingTargetUpdated{}, &EscrowFundingDeadlineExtended{}, &EscrowMaturityUpdated{}, &EscrowMaturityHorizonUpdated{}, &EscrowMaturityHorizonRaised{}, &EscrowLegalHoldChanged{}, &EscrowLegalHoldClearRequested{}, &EscrowLegalHoldClearCancelled{}, &EscrowLegalHoldClearDelayUpdated{}, &EscrowPausedChanged{}, &EscrowInvestorCountCapLowered{}, &EscrowInvestorCountCapRaised{}, &EscrowContributionFloorLowered{}, &EscrowPerInvestorCapRaised{}, &EscrowAdminTransferred{}, &EscrowAdminAccepted{}, &EscrowAdminProposed{}, &EscrowAdminProposalSuperseded{}, &EscrowAdminProposalCancelled{}, &EscrowDeprecatedTransferAdminUsed{}, &EscrowCollateralRecorded{}, &EscrowCollateralCleared{}, &EscrowCollateralCommitmentCleared{}, &EscrowRegistryRebound{}, &EscrowDustSwept{}, &EscrowAttestationBound{}, &EscrowAttestationAppended{}, &EscrowAttestationRevoked{}, &EscrowAttestationUnrevoked{}, &EscrowAllowlistEnabledChanged{}, &EscrowInvestorAllowlistChanged{}, &EscrowContractUpgraded{}}
}
