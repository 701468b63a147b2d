package liquifact

// The module's webhook event types (DESIGN §8): what an escrow's events announce once final (domain.Announced).
const (
	WebhookEscrowCreated           = "escrow.created"
	WebhookEscrowFunded            = "escrow.funded"
	WebhookEscrowUnfunded          = "escrow.unfunded"
	WebhookEscrowPartiallySettled  = "escrow.partially_settled"
	WebhookEscrowSettled           = "escrow.settled"
	WebhookEscrowWithdrawn         = "escrow.withdrawn"
	WebhookEscrowClaimed           = "escrow.claimed"
	WebhookEscrowCancelled         = "escrow.cancelled"
	WebhookEscrowRefunded          = "escrow.refunded"
	WebhookEscrowLegalHoldChanged  = "escrow.legal_hold_changed"
	WebhookEscrowFundingTargetUpd  = "escrow.funding_target_updated"
	WebhookEscrowMaturityUpdated   = "escrow.maturity_updated"
	WebhookEscrowBeneficiaryChange = "escrow.beneficiary_rotated"
)

// WebhookTypes are the module's webhook types, for validating endpoint filters.
func WebhookTypes() []string {
	return []string{WebhookEscrowCreated, WebhookEscrowFunded, WebhookEscrowUnfunded, WebhookEscrowPartiallySettled,
		WebhookEscrowSettled, WebhookEscrowWithdrawn, WebhookEscrowClaimed, WebhookEscrowCancelled, WebhookEscrowRefunded,
		WebhookEscrowLegalHoldChanged, WebhookEscrowFundingTargetUpd, WebhookEscrowMaturityUpdated,
		WebhookEscrowBeneficiaryChange}
}

func (*EscrowInitialized) WebhookType() string          { return WebhookEscrowCreated }
func (*EscrowFunded) WebhookType() string               { return WebhookEscrowFunded }
func (*EscrowUnfunded) WebhookType() string             { return WebhookEscrowUnfunded }
func (*EscrowPartiallySettled) WebhookType() string     { return WebhookEscrowPartiallySettled }
func (*EscrowSettled) WebhookType() string              { return WebhookEscrowSettled }
func (*EscrowSmeWithdrew) WebhookType() string          { return WebhookEscrowWithdrawn }
func (*EscrowPayoutClaimed) WebhookType() string        { return WebhookEscrowClaimed }
func (*EscrowFundingCancelled) WebhookType() string     { return WebhookEscrowCancelled }
func (*EscrowInvestorRefunded) WebhookType() string     { return WebhookEscrowRefunded }
func (*EscrowLegalHoldChanged) WebhookType() string     { return WebhookEscrowLegalHoldChanged }
func (*EscrowFundingTargetUpdated) WebhookType() string { return WebhookEscrowFundingTargetUpd }
func (*EscrowMaturityUpdated) WebhookType() string      { return WebhookEscrowMaturityUpdated }
func (*EscrowBeneficiaryRotated) WebhookType() string   { return WebhookEscrowBeneficiaryChange }
