package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var at = time.Unix(1_767_225_600, 0)

func request(h http.Header, body []byte, keep string) *http.Request {
	r := httptest.NewRequest("POST", "/hook", bytes.NewReader(body))
	for k, v := range h {
		lower := strings.ToLower(k)
		if keep == "fluxora" && strings.HasPrefix(lower, "webhook-") || keep == "standard" && strings.HasPrefix(lower, "x-fluxora-") {
			continue
		}
		r.Header[k] = v
	}
	return r
}

// TestSignaturesMatchAnIndependentComputation recomputes both schemes the way DESIGN §8 states them, without the
// package's helpers.
func TestSignaturesMatchAnIndependentComputation(t *testing.T) {
	secret := GenerateSecret()
	body := []byte(`{"id":"d1","type":"stream.withdrawn"}`)
	h, err := Sign([]string{secret}, "d1", "stream.withdrawn", at, body)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret)) // the whole whsec_ string, as UTF-8 bytes
	mac.Write([]byte("1767225600."))
	mac.Write(body)
	if got, want := h.Get("x-fluxora-signature"), hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("fluxora signature %s, want %s", got, want)
	}
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac = hmac.New(sha256.New, key)
	mac.Write([]byte("d1.1767225600."))
	mac.Write(body)
	if got, want := h.Get("webhook-signature"), "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("standard signature %s, want %s", got, want)
	}
	for name, want := range map[string]string{"x-fluxora-delivery-id": "d1", "webhook-id": "d1", "x-fluxora-timestamp": "1767225600",
		"webhook-timestamp": "1767225600", "x-fluxora-event": "stream.withdrawn"} {
		if h.Get(name) != want {
			t.Fatalf("%s = %q", name, h.Get(name))
		}
	}
	if len(key) < 24 {
		t.Fatalf("secret of %d bytes", len(key))
	}
}

func TestVerify(t *testing.T) {
	secret, old := GenerateSecret(), GenerateSecret()
	body := []byte(`{"id":"d1"}`)
	h, _ := Sign([]string{secret, old}, "d1", "stream.created", at, body)
	now := func() time.Time { return at.Add(30 * time.Second) }
	cfg := VerifyConfig{Secrets: []string{secret}, Now: now}
	for _, scheme := range []string{"fluxora", "standard"} {
		d, err := Verify(request(h, body, scheme), cfg)
		if err != nil || d.ID != "d1" || string(d.Body) != string(body) || !d.Timestamp.Equal(at) {
			t.Fatalf("%s: %+v %v", scheme, d, err)
		}
	}
	// During a rotation a receiver still on the old secret verifies the Standard set, which both secrets sign.
	if _, err := Verify(request(h, body, "standard"), VerifyConfig{Secrets: []string{old}, Now: now}); err != nil {
		t.Fatalf("old secret: %v", err)
	}
	// And one that holds both secrets verifies either set.
	if _, err := Verify(request(h, body, "fluxora"), VerifyConfig{Secrets: []string{old, secret}, Now: now}); err != nil {
		t.Fatalf("both secrets: %v", err)
	}

	tamper := func(name, value string) http.Header {
		c := h.Clone()
		c.Set(name, value)
		return c
	}
	for _, tc := range []struct {
		name   string
		h      http.Header
		body   []byte
		keep   string
		cfg    VerifyConfig
		status int
	}{
		{"missing signature", tamper("x-fluxora-signature", ""), body, "fluxora", cfg, 401},
		{"missing id", tamper("webhook-id", ""), body, "standard", cfg, 401},
		{"no headers", http.Header{}, body, "", cfg, 401},
		{"malformed timestamp", tamper("x-fluxora-timestamp", "yesterday"), body, "fluxora", cfg, 400},
		{"stale", h, body, "standard", VerifyConfig{Secrets: []string{secret}, Now: func() time.Time { return at.Add(301 * time.Second) }}, 401},
		{"from the future", h, body, "fluxora", VerifyConfig{Secrets: []string{secret}, Now: func() time.Time { return at.Add(-301 * time.Second) }}, 401},
		{"changed body", h, []byte(`{"id":"d2"}`), "fluxora", cfg, 401},
		{"changed body, standard", h, []byte(`{"id":"d2"}`), "standard", cfg, 401},
		{"other secret", h, body, "fluxora", VerifyConfig{Secrets: []string{GenerateSecret()}, Now: now}, 401},
		{"v2 signature", tamper("webhook-signature", strings.Replace(h.Get("webhook-signature"), "v1,", "v2,", -1)), body, "standard", cfg, 401},
		{"too large", h, bytes.Repeat([]byte("x"), MaxBodySize+1), "fluxora", cfg, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(request(tc.h, tc.body, tc.keep), tc.cfg)
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Status != tc.status {
				t.Fatalf("%v, want status %d", err, tc.status)
			}
		})
	}
	// A body over the limit without a declared length is refused without being read whole.
	r := request(h, nil, "fluxora")
	r.ContentLength = -1
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(make([]byte, MaxBodySize)), strings.NewReader("and more")))
	if _, err := Verify(r, cfg); err == nil || err.(*VerifyError).Status != 413 {
		t.Fatalf("chunked oversize: %v", err)
	}
}

func TestDuplicateDeliveries(t *testing.T) {
	secret := GenerateSecret()
	body := []byte(`{}`)
	h, _ := Sign([]string{secret}, "d9", "stream.closed", at, body)
	cfg := VerifyConfig{Secrets: []string{secret}, Seen: NewSeen(), Now: func() time.Time { return at }}
	first, err := Verify(request(h, body, "fluxora"), cfg)
	if err != nil || first.Duplicate {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := Verify(request(h, body, "standard"), cfg)
	if err != nil || !again.Duplicate {
		t.Fatalf("redelivery: %+v %v", again, err)
	}
}

func TestSecrets(t *testing.T) {
	if a, b := GenerateSecret(), GenerateSecret(); a == b || !strings.HasPrefix(a, SecretPrefix) {
		t.Fatalf("secrets %q %q", a, b)
	}
	for _, bad := range []string{"", "whsec_", "whsec_c2hvcnQ=", "sk_" + strings.TrimPrefix(GenerateSecret(), SecretPrefix)} {
		if _, err := Sign([]string{bad}, "d", "t", at, nil); !errors.Is(err, ErrBadSecret) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}

// FuzzVerify feeds arbitrary headers and bodies: Verify never panics and never accepts what the secret did not sign.
func FuzzVerify(f *testing.F) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	h, _ := Sign([]string{secret}, "d1", "stream.created", at, []byte(`{}`))
	f.Add("d1", "1767225600", h.Get(HeaderFluxoraSignature), h.Get(HeaderWebhookSignature), []byte(`{}`))
	f.Add("", "-1", "zz", "v1,", []byte{})
	f.Fuzz(func(t *testing.T, id, ts, fluxSig, stdSig string, body []byte) {
		for _, fluxora := range []bool{true, false} {
			r := httptest.NewRequest("POST", "/hook", bytes.NewReader(body))
			if fluxora {
				r.Header.Set(HeaderFluxoraID, id)
				r.Header.Set(HeaderFluxoraTimestamp, ts)
				r.Header.Set(HeaderFluxoraSignature, fluxSig)
			} else {
				r.Header.Set(HeaderWebhookID, id)
				r.Header.Set(HeaderWebhookTimestamp, ts)
				r.Header.Set(HeaderWebhookSignature, stdSig)
			}
			d, err := Verify(r, VerifyConfig{Secrets: []string{secret}, Now: func() time.Time { return at }})
			if err != nil {
				continue
			}
			// Accepted: the signature must be the one the secret makes for exactly this delivery.
			want, _ := Sign([]string{secret}, d.ID, "", d.Timestamp, d.Body)
			if fluxora && fluxSig != want.Get(HeaderFluxoraSignature) && !strings.EqualFold(fluxSig, want.Get(HeaderFluxoraSignature)) {
				t.Fatalf("accepted a Fluxora signature %q", fluxSig)
			}
			if !fluxora && !strings.Contains(" "+stdSig+" ", " "+want.Get(HeaderWebhookSignature)+" ") {
				t.Fatalf("accepted a Standard signature %q", stdSig)
			}
		}
	})
}
