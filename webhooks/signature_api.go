package webhooks

import (
	"net/http"
	"time"

	"github.com/streamledger/streamledger/webhooks/signature"
)

// Signing and verifying deliveries live in webhooks/signature, which imports only the standard library: a consumer
// that verifies our webhooks imports that package, not this one (PostgreSQL, bbolt). These names keep this
// package's API for the service and the tests.

// Delivery headers.
const (
	HeaderFluxoraID        = signature.HeaderFluxoraID
	HeaderFluxoraTimestamp = signature.HeaderFluxoraTimestamp
	HeaderFluxoraSignature = signature.HeaderFluxoraSignature
	HeaderFluxoraEvent     = signature.HeaderFluxoraEvent
	HeaderWebhookID        = signature.HeaderWebhookID
	HeaderWebhookTimestamp = signature.HeaderWebhookTimestamp
	HeaderWebhookSignature = signature.HeaderWebhookSignature
)

// SecretPrefix is signature.SecretPrefix.
const SecretPrefix = signature.SecretPrefix

// Aliases of webhooks/signature's types.
type (
	VerifyError  = signature.VerifyError
	VerifyConfig = signature.VerifyConfig
	Delivery     = signature.Delivery
	Seen         = signature.Seen
)

// ErrBadSecret is signature.ErrBadSecret.
var ErrBadSecret = signature.ErrBadSecret

// GenerateSecret is signature.GenerateSecret.
func GenerateSecret() string { return signature.GenerateSecret() }

// Sign is signature.Sign.
func Sign(secrets []string, deliveryID, eventType string, at time.Time, body []byte) (http.Header, error) {
	return signature.Sign(secrets, deliveryID, eventType, at, body)
}

// Verify is signature.Verify.
func Verify(r *http.Request, cfg VerifyConfig) (Delivery, error) { return signature.Verify(r, cfg) }

// NewSeen is signature.NewSeen.
func NewSeen() *Seen { return signature.NewSeen() }
