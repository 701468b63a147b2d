package fluxora

import "github.com/streamledger/streamledger/domain"

// The Fluxora module's webhook event types (DESIGN §8): what a stream contract's events announce. An event says its
// own type (Announced), so that the outbox, which delivers any module's, names none.

// Webhook event types of payment streams.
const (
	WebhookStreamCreated   = "stream.created"
	WebhookStreamUpdated   = "stream.updated"
	WebhookStreamWithdrawn = "stream.withdrawn"
	WebhookStreamCancelled = "stream.cancelled"
	WebhookStreamCompleted = "stream.completed"
	WebhookStreamClosed    = "stream.closed"
	WebhookStreamPaused    = "stream.paused"
	WebhookStreamResumed   = "stream.resumed"
)

// StreamWebhookTypes are the Fluxora module's webhook types, for validating endpoint filters.
func StreamWebhookTypes() []string {
	return []string{WebhookStreamCreated, WebhookStreamUpdated, WebhookStreamWithdrawn, WebhookStreamCancelled,
		WebhookStreamCompleted, WebhookStreamClosed, WebhookStreamPaused, WebhookStreamResumed}
}

func (*StreamCreated) WebhookType() string       { return WebhookStreamCreated }
func (*StreamDelegatedFrom) WebhookType() string { return WebhookStreamCreated } // a delegation's child comes into being
func (*StreamWithdrawn) WebhookType() string     { return WebhookStreamWithdrawn }
func (*StreamCancelled) WebhookType() string     { return WebhookStreamCancelled }
func (*StreamKeeperCancelled) WebhookType() string {
	return WebhookStreamCancelled
}
func (*StreamCompleted) WebhookType() string          { return WebhookStreamCompleted }
func (*StreamClosed) WebhookType() string             { return WebhookStreamClosed }
func (*StreamPaused) WebhookType() string             { return WebhookStreamPaused }
func (*StreamResumed) WebhookType() string            { return WebhookStreamResumed }
func (*StreamRateUpdated) WebhookType() string        { return WebhookStreamUpdated }
func (*StreamRateDecreased) WebhookType() string      { return WebhookStreamUpdated }
func (*StreamEndShortened) WebhookType() string       { return WebhookStreamUpdated }
func (*StreamEndExtended) WebhookType() string        { return WebhookStreamUpdated }
func (*StreamToppedUp) WebhookType() string           { return WebhookStreamUpdated }
func (*StreamRecipientUpdated) WebhookType() string   { return WebhookStreamUpdated }
func (*StreamCloned) WebhookType() string             { return WebhookStreamUpdated }
func (*StreamShareDelegated) WebhookType() string     { return WebhookStreamUpdated }
func (*StreamRenewed) WebhookType() string            { return WebhookStreamUpdated }
func (*StreamClaimOwnerChanged) WebhookType() string  { return WebhookStreamUpdated }
func (*StreamSenderTransferred) WebhookType() string  { return WebhookStreamUpdated }
func (*StreamDecommissioned) WebhookType() string     { return WebhookStreamUpdated }
func (*StreamHealthChanged) WebhookType() string      { return WebhookStreamUpdated }
func (*StreamAutoClaimSet) WebhookType() string       { return WebhookStreamUpdated }
func (*StreamAutoClaimRevoked) WebhookType() string   { return WebhookStreamUpdated }
func (*StreamAutoClaimTriggered) WebhookType() string { return WebhookStreamUpdated }
func (*StreamRateCapEnforced) WebhookType() string    { return WebhookStreamUpdated }

func (v *StreamCreated) MoneyFields() map[string]domain.Amount {
	return map[string]domain.Amount{"deposit": v.DepositAmount, "ratePerSecond": v.RatePerSecond}
}
func (v *StreamCloned) MoneyFields() map[string]domain.Amount {
	return map[string]domain.Amount{"deposit": v.DepositAmount, "ratePerSecond": v.RatePerSecond}
}
func (v *StreamWithdrawn) MoneyFields() map[string]domain.Amount {
	return map[string]domain.Amount{"amount": v.Amount}
}
func (v *StreamToppedUp) MoneyFields() map[string]domain.Amount {
	return map[string]domain.Amount{"topUp": v.TopUpAmount, "deposit": v.NewDepositAmount}
}
func (v *StreamRateUpdated) MoneyFields() map[string]domain.Amount {
	return map[string]domain.Amount{"ratePerSecond": v.NewRatePerSecond}
}
func (v *StreamRateDecreased) MoneyFields() map[string]domain.Amount {
	return map[string]domain.Amount{"ratePerSecond": v.NewRatePerSecond, "refund": v.RefundAmount}
}
func (v *StreamEndShortened) MoneyFields() map[string]domain.Amount {
	return map[string]domain.Amount{"refund": v.RefundAmount}
}
func (v *StreamKeeperCancelled) MoneyFields() map[string]domain.Amount {
	return map[string]domain.Amount{"keeperFee": v.KeeperFee, "recipientAmount": v.RecipientAmount, "refund": v.SenderRefund}
}
