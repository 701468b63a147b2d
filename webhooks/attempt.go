package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/streamledger/streamledger/webhooks/signature"
)

// Schedule is the wait before each retry (DESIGN §8): the first attempt is immediate, then these; after the last,
// the delivery is dead-lettered.
var Schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 10 * time.Hour}

// Outcome classifies an attempt.
type Outcome string

const (
	Delivered Outcome = "delivered" // 2xx
	Retry     Outcome = "retry"     // anything else worth trying again
	Gone      Outcome = "gone"      // 410: the receiver asks us to stop; the endpoint is disabled
)

// Attempt is one delivery attempt as logged.
type Attempt struct {
	DeliveryID string        `json:"deliveryId"`
	Number     int           `json:"attempt"` // 1 for the first
	At         time.Time     `json:"at"`
	Status     int           `json:"status,omitempty"`
	Latency    time.Duration `json:"latencyNs"`
	Response   string        `json:"response,omitempty"` // the start of the response body
	Error      string        `json:"error,omitempty"`
	Outcome    Outcome       `json:"outcome"`
	// RetryAfter is the wait the receiver asked for (429 or 503 with Retry-After).
	RetryAfter time.Duration `json:"retryAfterNs,omitempty"`
}

// maxLoggedResponse is how much of a response body an attempt keeps.
const maxLoggedResponse = 1024

// Send makes one attempt: POST of the exact body with both header sets (and the extra schemes asked for), signed
// with secrets (current first).
func Send(ctx context.Context, client *http.Client, url string, secrets, extra []string, deliveryID, eventType string,
	body []byte, number int, now func() time.Time) Attempt {
	a := Attempt{DeliveryID: deliveryID, Number: number, At: now()}
	headers, err := signature.Sign(secrets, deliveryID, eventType, a.At, body)
	if err != nil {
		a.Error, a.Outcome = err.Error(), Retry
		return a
	}
	if slices.Contains(extra, signature.SchemeLiquiFact) {
		headers.Set(signature.HeaderLiquiFactSignature, signature.LiquiFactSignature(secrets, a.At, body))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		a.Error, a.Outcome = err.Error(), Retry
		return a
	}
	req.Header = headers
	req.Header.Set("User-Agent", "streamledger-webhooks")
	start := time.Now()
	resp, err := client.Do(req)
	a.Latency = time.Since(start)
	if err != nil {
		a.Error, a.Outcome = describe(err), Retry
		return a
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxLoggedResponse))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // drain a little so the connection can be reused
	a.Status, a.Response = resp.StatusCode, string(head)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		a.Outcome = Delivered
	case resp.StatusCode == http.StatusGone:
		a.Outcome = Gone
	default:
		a.Outcome = Retry
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			a.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), a.At)
		}
	}
	return a
}

func describe(err error) string {
	switch {
	case errors.Is(err, ErrPrivateDestination):
		return "refused: the destination is not a public address"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("timed out after %s", DeliveryTimeout)
	}
	return err.Error()
}

// retryAfter reads Retry-After: seconds, or an HTTP date. Unreadable or negative values are ignored.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// NextAttempt is when to try again after attempt number (1-based) failed, or false when the schedule is exhausted
// (dead letter). A receiver's Retry-After is honoured when it asks for longer than the schedule; jitter of ±10%
// spreads retries of many deliveries.
func NextAttempt(number int, at time.Time, retryAfter time.Duration, jitter func(time.Duration) time.Duration) (time.Time, bool) {
	if number < 1 || number > len(Schedule) {
		return time.Time{}, false
	}
	wait := Schedule[number-1]
	if jitter == nil {
		jitter = defaultJitter
	}
	wait = jitter(wait)
	return at.Add(max(wait, retryAfter)), true
}

func defaultJitter(d time.Duration) time.Duration {
	spread := int64(d / 10)
	if spread <= 0 {
		return d
	}
	return d - time.Duration(spread) + time.Duration(rand.Int64N(2*spread+1))
}
