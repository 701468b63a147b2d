package webhooks

import (
	"time"

	"github.com/streamledger/streamledger/projections/outbox"
)

// Endpoint is a registered receiver. Its secrets sign deliveries and never leave the service after the response
// that created them (they have no JSON names, so they cannot end up in a log line or a listing by accident).
type Endpoint struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"eventTypes"` // empty: every type
	// ExtraSignatures are the signature schemes the endpoint asked for besides the two every delivery carries
	// ("liquifact": X-Signature).
	ExtraSignatures []string  `json:"extraSignatures,omitempty"`
	Description     string    `json:"description"`
	Enabled         bool      `json:"enabled"`
	DisabledReason  string    `json:"disabledReason,omitempty"`
	CreatedAt       time.Time `json:"createdAt"`
	Secret          string    `json:"-"`
	// PreviousSecret keeps signing, beside Secret, until PreviousUntil: a receiver that has not switched to the
	// rotated secret yet still verifies deliveries during the grace window.
	PreviousSecret string    `json:"-"`
	PreviousUntil  time.Time `json:"previousSecretExpiresAt,omitzero"`
}

// SigningSecrets are the secrets that sign a delivery made at now, current first.
func (e Endpoint) SigningSecrets(now time.Time) []string {
	if e.PreviousSecret != "" && now.Before(e.PreviousUntil) {
		return []string{e.Secret, e.PreviousSecret}
	}
	return []string{e.Secret}
}

// Routing is the endpoint as the outbox routes events to it.
func (e Endpoint) Routing() outbox.Endpoint {
	return outbox.Endpoint{ID: e.ID, EventTypes: e.EventTypes}
}
