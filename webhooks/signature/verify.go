package signature

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Verification defaults (DESIGN §8).
const (
	DefaultTolerance = 300 * time.Second
	MaxBodySize      = 256 << 10
)

// VerifyError is a refused delivery, with the status a receiver should answer.
type VerifyError struct {
	Status int
	Reason string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("webhook refused (%d): %s", e.Status, e.Reason)
}

func refuse(status int, format string, args ...any) *VerifyError {
	return &VerifyError{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// VerifyConfig is what a receiver verifies deliveries with.
type VerifyConfig struct {
	// Secrets are the endpoint's secrets: during a rotation, the new and the old one (either verifies).
	Secrets []string
	// Seen remembers delivery ids, to report redeliveries as duplicates; nil skips the check.
	Seen *Seen
	// Tolerance is how far the timestamp may be from now (default 300 s); MaxBody bounds the body (256 KiB).
	Tolerance time.Duration
	MaxBody   int64
	Now       func() time.Time
}

// Delivery is a verified delivery.
type Delivery struct {
	ID        string
	Event     string
	Timestamp time.Time
	Body      []byte
	// Duplicate is set when this delivery id was verified before: the receiver should acknowledge it (2xx) and not
	// process it again.
	Duplicate bool
}

// Verify checks a webhook request under either header set: the Fluxora headers when present, the Standard
// Webhooks ones otherwise. A refusal is a *VerifyError with the status to answer: 413 for a body over the limit
// (checked before reading it whole), 401 for missing headers, a stale timestamp or a bad signature, 400 for a
// malformed timestamp. Signatures are compared in constant time.
func Verify(r *http.Request, cfg VerifyConfig) (Delivery, error) {
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = MaxBodySize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.Secrets) == 0 {
		return Delivery{}, refuse(http.StatusUnauthorized, "no secret to verify with")
	}
	if r.ContentLength > cfg.MaxBody {
		return Delivery{}, refuse(http.StatusRequestEntityTooLarge, "body of %d bytes (at most %d)", r.ContentLength, cfg.MaxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, cfg.MaxBody+1))
	if err != nil {
		return Delivery{}, refuse(http.StatusBadRequest, "reading the body: %v", err)
	}
	if int64(len(body)) > cfg.MaxBody {
		return Delivery{}, refuse(http.StatusRequestEntityTooLarge, "body over %d bytes", cfg.MaxBody)
	}

	fluxora := r.Header.Get(HeaderFluxoraSignature) != "" || r.Header.Get(HeaderFluxoraTimestamp) != ""
	id, tsRaw, sig := r.Header.Get(HeaderWebhookID), r.Header.Get(HeaderWebhookTimestamp), r.Header.Get(HeaderWebhookSignature)
	if fluxora {
		id, tsRaw, sig = r.Header.Get(HeaderFluxoraID), r.Header.Get(HeaderFluxoraTimestamp), r.Header.Get(HeaderFluxoraSignature)
	}
	if id == "" || tsRaw == "" || sig == "" {
		return Delivery{}, refuse(http.StatusUnauthorized, "missing delivery id, timestamp or signature header")
	}
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil {
		return Delivery{}, refuse(http.StatusBadRequest, "timestamp %q is not unix seconds", tsRaw)
	}
	at := time.Unix(ts, 0)
	if d := cfg.Now().Sub(at); d > cfg.Tolerance || d < -cfg.Tolerance {
		return Delivery{}, refuse(http.StatusUnauthorized, "timestamp is %s away from now (tolerance %s)", d.Round(time.Second), cfg.Tolerance)
	}
	if !signed(fluxora, cfg.Secrets, id, ts, body, sig) {
		return Delivery{}, refuse(http.StatusUnauthorized, "no signature matches")
	}
	d := Delivery{ID: id, Event: r.Header.Get(HeaderFluxoraEvent), Timestamp: at, Body: body}
	if cfg.Seen != nil {
		d.Duplicate = !cfg.Seen.first(id, cfg.Now(), 2*cfg.Tolerance)
	}
	return d, nil
}

// signed tells whether sig is a valid signature of the delivery under one of the secrets.
func signed(fluxora bool, secrets []string, id string, ts int64, body []byte, sig string) bool {
	ok := false
	for _, secret := range secrets {
		if fluxora {
			want := fluxoraSignature(secret, ts, body)
			got, err := hex.DecodeString(sig)
			wantRaw, _ := hex.DecodeString(want)
			if err == nil && hmac.Equal(got, wantRaw) {
				ok = true
			}
			continue
		}
		key, err := standardKey(secret)
		if err != nil {
			continue
		}
		want := standardSignature(key, id, ts, body)
		for _, entry := range strings.Fields(sig) {
			if v, s, found := strings.Cut(entry, ","); found && v == "v1" && hmac.Equal([]byte(s), []byte(want)) {
				ok = true
			}
		}
	}
	return ok
}

// Seen remembers verified delivery ids for a while, to tell redeliveries from new deliveries. It is safe for
// concurrent use.
type Seen struct {
	mu  sync.Mutex
	ids map[string]time.Time // id → when it may be forgotten
}

// NewSeen returns an empty memory of delivery ids.
func NewSeen() *Seen { return &Seen{ids: map[string]time.Time{}} }

// first records id and tells whether it is new. Ids are kept for keep: past the timestamp tolerance a replay is
// refused as stale anyway.
func (s *Seen) first(id string, now time.Time, keep time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, until := range s.ids {
		if now.After(until) {
			delete(s.ids, k)
		}
	}
	if _, dup := s.ids[id]; dup {
		return false
	}
	s.ids[id] = now.Add(keep)
	return true
}

// VerifyLiquiFact checks an X-Signature header (LiquiFact's scheme) for body against secrets: a v1 signature by one
// of them, compared in constant time, with a timestamp within tolerance of now (5 minutes when zero).
func VerifyLiquiFact(header string, body []byte, secrets []string, now time.Time, tolerance time.Duration) error {
	if tolerance == 0 {
		tolerance = 5 * time.Minute
	}
	var ts int64 = -1
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
			return errors.New("X-Signature: want t=<unix>,v1=<hex>")
		case k == "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("X-Signature: timestamp %q", v)
			}
			ts = n
		case k == "v1":
			sigs = append(sigs, v)
		}
	}
	if ts < 0 || len(sigs) == 0 {
		return errors.New("X-Signature: a timestamp and a v1 signature are required")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("X-Signature: timestamp %d is outside the %s tolerance", ts, tolerance)
	}
	for _, secret := range secrets {
		want := []byte(fluxoraSignature(secret, ts, body))
		for _, got := range sigs {
			if hmac.Equal([]byte(got), want) {
				return nil
			}
		}
	}
	return errors.New("X-Signature: no signature matches")
}
