package signature

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of the two schemes every delivery carries (DESIGN §8).
const (
	HeaderFluxoraID        = "X-Fluxora-Delivery-Id"
	HeaderFluxoraTimestamp = "X-Fluxora-Timestamp"
	HeaderFluxoraSignature = "X-Fluxora-Signature"
	HeaderFluxoraEvent     = "X-Fluxora-Event"
	HeaderWebhookID        = "Webhook-Id"
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	HeaderWebhookSignature = "Webhook-Signature"
)

// SecretPrefix starts every endpoint secret.
const SecretPrefix = "whsec_"

// ErrBadSecret means a secret is not "whsec_" followed by base64 of at least 24 bytes.
var ErrBadSecret = errors.New("webhook secret must be whsec_ followed by base64 of at least 24 bytes")

// GenerateSecret makes a new endpoint secret: whsec_ and 32 random bytes in base64.
func GenerateSecret() string {
	key := make([]byte, 32)
	rand.Read(key) // never fails: crypto/rand crashes the program rather than return an error
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// standardKey is the Standard Webhooks key of a secret: the bytes its base64 encodes.
func standardKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, ErrBadSecret
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) < 24 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// fluxoraSignature is the Fluxora scheme: lowercase hex HMAC-SHA256 keyed by the whole secret string, over
// "{timestamp}.{body}".
func fluxoraSignature(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// standardSignature is the Standard Webhooks scheme: base64 HMAC-SHA256 keyed by the secret's bytes, over
// "{id}.{timestamp}.{body}".
func standardSignature(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts)
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// HeaderLiquiFactSignature is LiquiFact's signature header, which an endpoint may ask for besides the two schemes
// every delivery carries: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` (a v1 per signing
// secret during a rotation), keyed by the whole secret string.
const HeaderLiquiFactSignature = "X-Signature"

// SchemeLiquiFact names the X-Signature scheme in an endpoint's registration (extraSignatures).
const SchemeLiquiFact = "liquifact"

// LiquiFactSignature is the X-Signature header value of a delivery of body at at, signed with secrets (current
// first).
func LiquiFactSignature(secrets []string, at time.Time, body []byte) string {
	ts := at.Unix()
	parts := []string{"t=" + strconv.FormatInt(ts, 10)}
	for _, s := range secrets {
		parts = append(parts, "v1="+fluxoraSignature(s, ts, body))
	}
	return strings.Join(parts, ",")
}

// Sign returns the headers of a delivery of body: both schemes. secrets are the endpoint's signing secrets, the
// current one first; during a rotation the old one signs too (Standard Webhooks lists both signatures; the Fluxora
// header carries the current one, and consumers verifying it accept either secret).
func Sign(secrets []string, deliveryID, eventType string, at time.Time, body []byte) (http.Header, error) {
	if len(secrets) == 0 {
		return nil, errors.New("sign: no secret")
	}
	ts := at.Unix()
	var sigs []string
	for _, s := range secrets {
		key, err := standardKey(s)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, "v1,"+standardSignature(key, deliveryID, ts, body))
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderFluxoraID, deliveryID)
	h.Set(HeaderFluxoraTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderFluxoraSignature, fluxoraSignature(secrets[0], ts, body))
	h.Set(HeaderFluxoraEvent, eventType)
	h.Set(HeaderWebhookID, deliveryID)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderWebhookSignature, strings.Join(sigs, " "))
	return h, nil
}
