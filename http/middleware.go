package http

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/streamledger/streamledger/http/apikit"
)

const (
	headerRequestID = "X-Request-Id"
	localsRequestID = "requestId"
	localsClient    = "client"
)

// withRequestID echoes a valid incoming X-Request-Id or makes one, for the response and the logs. Valid means
// 1 to 128 visible ASCII characters: anything else could forge log lines.
func withRequestID(c *fiber.Ctx) error {
	id := c.Get(headerRequestID)
	if !validRequestID(id) {
		id = uuid.NewString()
	} else {
		id = strings.Clone(id) // Fiber reuses the request's buffers after the handler returns
	}
	c.Locals(localsRequestID, id)
	c.Set(headerRequestID, id)
	return c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func requestID(c *fiber.Ctx) string {
	if id, ok := c.Locals(localsRequestID).(string); ok {
		return id
	}
	return ""
}

// securityHeaders are set on every response, errors included.
func securityHeaders(c *fiber.Ctx) {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	c.Set("Cross-Origin-Resource-Policy", "same-origin")
}

func withSecurityHeaders(c *fiber.Ctx) error {
	securityHeaders(c)
	return c.Next()
}

// Scopes of API keys (DESIGN §6).
const (
	ScopeStreamsRead   = "streams:read"
	ScopeAuditRead     = "audit:read"
	ScopeWebhooksAdmin = "webhooks:admin"
	ScopeIngestWrite   = "ingest:write"
	ScopeAdmin         = "admin"
)

// APIKey is a client's key and what it may do.
type APIKey struct {
	Key      string
	ClientID string
	Scopes   []string
}

// keyring checks presented keys in constant time. Keys are compared by their SHA-256, so every comparison has the
// same length and the key itself is never kept in a comparable form longer than needed.
type keyring struct {
	keys []storedKey
}

type storedKey struct {
	hash     [32]byte
	clientID string
	scopes   map[string]bool
}

func newKeyring(keys []APIKey) *keyring {
	k := &keyring{}
	for _, key := range keys {
		sk := storedKey{hash: sha256.Sum256([]byte(key.Key)), clientID: key.ClientID, scopes: map[string]bool{}}
		for _, s := range key.Scopes {
			sk.scopes[s] = true
		}
		k.keys = append(k.keys, sk)
	}
	return k
}

// lookup returns the key presented, comparing against every key (no early exit) so that timing says nothing.
func (k *keyring) lookup(presented string) (storedKey, bool) {
	h := sha256.Sum256([]byte(presented))
	var found storedKey
	ok := 0
	for _, sk := range k.keys {
		if subtle.ConstantTimeCompare(h[:], sk.hash[:]) == 1 {
			found, ok = sk, 1
		}
	}
	return found, ok == 1
}

// presentedKey reads `Authorization: Bearer <key>` or `X-API-Key: <key>`.
func presentedKey(c *fiber.Ctx) string {
	if auth := c.Get(fiber.HeaderAuthorization); auth != "" {
		if key, ok := strings.CutPrefix(auth, "Bearer "); ok {
			return strings.TrimSpace(key)
		}
		return ""
	}
	return c.Get("X-API-Key")
}

// require lets a request through when it carries a key with the scope, or when the scope is public.
func (s *Server) require(scope string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		presented := presentedKey(c)
		if presented == "" {
			if scope == ScopeStreamsRead && s.cfg.PublicReads {
				return c.Next()
			}
			return apikit.New(fiber.StatusUnauthorized, apikit.CodeUnauthorized, "an API key is required (Authorization: Bearer <key> or X-API-Key)")
		}
		key, ok := s.keys.lookup(presented)
		if !ok {
			return apikit.New(fiber.StatusUnauthorized, apikit.CodeUnauthorized, "unknown API key")
		}
		if !key.scopes[scope] { // scopes are exact: admin grants the admin routes, not everything
			return apikit.New(fiber.StatusForbidden, apikit.CodeForbidden, "this key lacks the scope "+scope)
		}
		c.Locals(localsClient, key.clientID)
		return c.Next()
	}
}
