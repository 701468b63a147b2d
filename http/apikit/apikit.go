// Package apikit is what the API's core lends the contract modules' routes (DESIGN §12): the error envelope's
// errors, query checks, paging and signed cursors, and the scope check. It imports nothing of the core, so that a
// module's routes and the core's tests can both use it.
package apikit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Error codes of the envelope (DESIGN §6).
const (
	CodeValidation   = "VALIDATION_ERROR"
	CodeDecimal      = "DECIMAL_INVALID"
	CodeUnauthorized = "UNAUTHORIZED"
	CodeForbidden    = "FORBIDDEN"
	CodeNotFound     = "NOT_FOUND"
	CodeConflict     = "CONFLICT"
	CodeTooLarge     = "PAYLOAD_TOO_LARGE"
	CodeUnsupported  = "UNSUPPORTED_MEDIA_TYPE"
	CodeRateLimited  = "RATE_LIMITED"
	CodeInternal     = "INTERNAL_ERROR"
	CodeUnavailable  = "SERVICE_UNAVAILABLE"
)

// Error is an error a handler returns to answer with the envelope. Only its fields reach the client.
type Error struct {
	Status    int
	Code      string
	Message   string
	Details   any
	Retryable bool
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New is an error with a status, a code and a message.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Invalid is a 400 naming the field.
func Invalid(field, message string) *Error {
	return &Error{Status: fiber.StatusBadRequest, Code: CodeValidation, Message: field + ": " + message,
		Details: map[string]string{"field": field}}
}

// LedgerSeq parses a ledger sequence given as field (1 to 4294967295), refusing anything else naming the field.
func LedgerSeq(field, arg string) (uint32, error) {
	seq, err := strconv.ParseUint(arg, 10, 32)
	if err != nil || seq == 0 {
		return 0, Invalid(field, "must be a ledger sequence (1 to 4294967295)")
	}
	return uint32(seq), nil
}

// NotFound is a 404.
func NotFound(message string) *Error { return New(fiber.StatusNotFound, CodeNotFound, message) }

// CheckQuery refuses query parameters the route does not know, naming the first.
func CheckQuery(c *fiber.Ctx, allowed ...string) error {
	var bad string
	c.Context().QueryArgs().VisitAll(func(k, _ []byte) {
		if bad == "" && !slices.Contains(allowed, string(k)) {
			bad = string(k)
		}
	})
	if bad != "" {
		return Invalid(bad, "unknown query parameter")
	}
	return nil
}

// Page limits of list routes (DESIGN §6).
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// PageInfo is a listing's "page" object.
type PageInfo struct {
	Limit      int     `json:"limit"`
	NextCursor *string `json:"nextCursor"`
	HasMore    bool    `json:"hasMore"`
}

// ParseLimit reads ?limit (DefaultLimit when absent).
func ParseLimit(c *fiber.Ctx) (int, error) {
	raw := c.Query("limit")
	if raw == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, Invalid("limit", fmt.Sprintf("must be an integer from 1 to %d", MaxLimit))
	}
	return n, nil
}

// Cursors sign pagination cursors, so that a client can hand one back but not forge or edit one: a cursor names a
// place in one listing (its scope: the route and filters) and nothing else.
type Cursors struct {
	Key []byte
}

func (c Cursors) mac(scope string, payload []byte) []byte {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte(scope))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)[:16]
}

// Encode makes the opaque cursor of position v in the listing scope.
func (c Cursors) Encode(scope string, v any) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(c.mac(scope, payload)), nil
}

// Decode checks a cursor's signature for scope and decodes its position into v.
func (c Cursors) Decode(scope, cursor string, v any) error {
	bad := Invalid("cursor", "not a cursor this listing issued (cursors are opaque: pass back page.nextCursor unchanged)")
	payloadB64, sigB64, ok := strings.Cut(cursor, ".")
	if !ok || len(cursor) > 1024 {
		return bad
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(payloadB64)
	sig, err2 := enc.DecodeString(sigB64)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, c.mac(scope, payload)) {
		return bad
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return bad
	}
	return nil
}

// Kit is what a module's routes get from the core.
type Kit struct {
	// Require checks the request's API key for scope (or lets it through when reads are public).
	Require func(scope string) fiber.Handler
	Cursors Cursors
	// Now is the server's clock.
	Now func() time.Time
}

// ScopeStreamsRead is the read scope (DESIGN §6): streams:read covers every module's reads.
const ScopeStreamsRead = "streams:read"
