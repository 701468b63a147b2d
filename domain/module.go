package domain

// What the core asks of a contract module's events and states without naming the module (DESIGN §12).

// Entry is one stored event of a module's subject (a stream, an escrow), with its event id.
type Entry struct {
	ID    string
	Event Event
}

// Anomaly records, in a module's fold, one disagreement between an event and the state it was applied to.
type Anomaly struct {
	Code    string `json:"code"`
	EventID string `json:"eventId"`
	Ledger  uint32 `json:"ledger"`
	Detail  string `json:"detail"`
}

// Announced is an event a webhook announces once it is final: WebhookType is the type endpoints subscribe to.
// Observed events, compensations, markers and contract-level events are not announced.
type Announced interface {
	WebhookType() string
}

// Monetary is an event with money fields, by name: the audit log's exports show them as decimals.
type Monetary interface {
	MoneyFields() map[string]Amount
}
