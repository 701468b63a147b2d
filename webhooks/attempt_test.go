package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/streamledger/streamledger/webhooks/signature"
)

func noJitter(d time.Duration) time.Duration { return d }

func TestSendOutcomes(t *testing.T) {
	secret := signature.GenerateSecret()
	seen := signature.NewSeen()
	var verified []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := signature.Verify(r, signature.VerifyConfig{Secrets: []string{secret}, Seen: seen})
		if err != nil {
			http.Error(w, err.Error(), err.(*signature.VerifyError).Status)
			return
		}
		verified = append(verified, d.ID)
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/gone":
			w.WriteHeader(http.StatusGone)
		case "/busy":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/down":
			w.Header().Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		default:
			http.Error(w, strings.Repeat("boom ", 500), http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	client := NewClient(true)
	send := func(path string) Attempt {
		return Send(context.Background(), client, srv.URL+path, []string{secret}, nil, "del-"+path, "stream.created", []byte(`{"x":1}`), 1, time.Now)
	}
	if a := send("/ok"); a.Outcome != Delivered || a.Status != 204 || a.Latency <= 0 {
		t.Fatalf("ok: %+v", a)
	}
	if a := send("/gone"); a.Outcome != Gone {
		t.Fatalf("gone: %+v", a)
	}
	if a := send("/busy"); a.Outcome != Retry || a.RetryAfter != 2*time.Minute {
		t.Fatalf("busy: %+v", a)
	}
	if a := send("/down"); a.Outcome != Retry || a.RetryAfter < 59*time.Minute {
		t.Fatalf("down: %+v", a)
	}
	if a := send("/fail"); a.Outcome != Retry || a.Status != 500 || len(a.Response) != maxLoggedResponse {
		t.Fatalf("fail: %+v", a)
	}
	if len(verified) != 5 {
		t.Fatalf("the receiver verified %d deliveries", len(verified))
	}
	// A receiver that does not answer in time.
	impatient := NewClient(true)
	impatient.Timeout = 100 * time.Millisecond
	if a := Send(context.Background(), impatient, srv.URL+"/slow", []string{secret}, nil, "d-slow", "t", nil, 1, time.Now); a.Outcome != Retry || a.Error == "" {
		t.Fatalf("slow: %+v", a)
	}
	// Nobody listening.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if a := Send(context.Background(), client, "http://"+addr+"/", []string{secret}, nil, "d-refused", "t", nil, 1, time.Now); a.Outcome != Retry || a.Error == "" {
		t.Fatalf("refused: %+v", a)
	}
	// An internal destination, with private destinations not allowed.
	if a := Send(context.Background(), NewClient(false), srv.URL+"/ok", []string{secret}, nil, "d-private", "t", nil, 1, time.Now); a.Outcome != Retry ||
		!strings.Contains(a.Error, "not a public address") {
		t.Fatalf("private: %+v", a)
	}
}

func TestRetrySchedule(t *testing.T) {
	at := time.Unix(1_767_225_600, 0)
	wants := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	for i, want := range wants {
		next, ok := NextAttempt(i+1, at, 0, noJitter)
		if !ok || next.Sub(at) != want {
			t.Fatalf("after attempt %d: %s %v, want %s", i+1, next.Sub(at), ok, want)
		}
	}
	if _, ok := NextAttempt(len(wants)+1, at, 0, noJitter); ok {
		t.Fatal("the eighth failure must dead-letter")
	}
	if next, _ := NextAttempt(1, at, time.Hour, noJitter); next.Sub(at) != time.Hour {
		t.Fatalf("Retry-After beyond the schedule: %s", next.Sub(at))
	}
	if next, _ := NextAttempt(4, at, time.Minute, noJitter); next.Sub(at) != 2*time.Hour {
		t.Fatalf("Retry-After shorter than the schedule: %s", next.Sub(at))
	}
	for range 100 {
		next, _ := NextAttempt(2, at, 0, nil)
		if d := next.Sub(at); d < 270*time.Second || d > 330*time.Second {
			t.Fatalf("jitter out of ±10%%: %s", d)
		}
	}
	if retryAfter("soon", at) != 0 || retryAfter("-5", at) != 0 || retryAfter("7", at) != 7*time.Second {
		t.Fatal("Retry-After parsing")
	}
}

// An endpoint that asked for LiquiFact's scheme gets X-Signature beside the two schemes: t=<unix>,v1=<hex
// HMAC-SHA256(secret, "<t>.<body>")>, computed here from that definition, one v1 per signing secret; the
// consumer-side check accepts it and refuses an altered body, an old timestamp and another secret.
func TestLiquiFactSignatureHeader(t *testing.T) {
	const secret, old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_b2xkLXNlY3JldC1mb3ItdGhlLXJvdGF0aW9u"
	body := []byte(`{"id":"d1","type":"escrow.funded"}`)
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	at := time.Unix(1_790_000_000, 0)
	a := Send(context.Background(), NewClient(true), srv.URL, []string{secret, old}, []string{signature.SchemeLiquiFact}, "d1",
		"escrow.funded", body, 1, func() time.Time { return at })
	if a.Outcome != Delivered {
		t.Fatalf("%+v", a)
	}
	h := <-got
	mac := func(key string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte("1790000000."))
		m.Write(body)
		return hex.EncodeToString(m.Sum(nil))
	}
	want := "t=1790000000,v1=" + mac(secret) + ",v1=" + mac(old)
	if h.Get("X-Signature") != want || h.Get("webhook-signature") == "" || h.Get("x-fluxora-signature") == "" {
		t.Fatalf("X-Signature %q, want %q (standard %q)", h.Get("X-Signature"), want, h.Get("webhook-signature"))
	}
	if err := signature.VerifyLiquiFact(want, body, []string{secret}, at.Add(time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	for name, check := range map[string]error{
		"an altered body": signature.VerifyLiquiFact(want, append(body, ' '), []string{secret}, at, 0),
		"a stale header":  signature.VerifyLiquiFact(want, body, []string{secret}, at.Add(6*time.Minute), 0),
		"another secret":  signature.VerifyLiquiFact(want, body, []string{"whsec_other"}, at, 0),
		"no signature":    signature.VerifyLiquiFact("t=1790000000", body, []string{secret}, at, 0),
	} {
		if check == nil {
			t.Errorf("%s was accepted", name)
		}
	}
	// Without the scheme asked for, no X-Signature.
	Send(context.Background(), NewClient(true), srv.URL, []string{secret}, nil, "d2", "escrow.funded", body, 1, time.Now)
	if h := <-got; h.Get("X-Signature") != "" {
		t.Fatalf("X-Signature sent unasked: %q", h.Get("X-Signature"))
	}
}
