package http

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// cursors sign pagination cursors, so that a client can hand one back but not forge or edit one: a cursor names a
// place in one listing (its scope: the route and filters) and nothing else.
type cursors struct {
	key []byte
}

func (c cursors) mac(scope string, payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(scope))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)[:16]
}

// encode makes the opaque cursor of position v in the listing scope.
func (c cursors) encode(scope string, v any) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(c.mac(scope, payload)), nil
}

// decode checks a cursor's signature for scope and decodes its position into v.
func (c cursors) decode(scope, cursor string, v any) error {
	bad := validation("cursor", "not a cursor this listing issued (cursors are opaque: pass back page.nextCursor unchanged)")
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
