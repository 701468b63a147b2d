package http

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// clientAddress is the address of the client behind a request: the peer's, or, when the peer is one of the trusted
// proxies, the nearest address in X-Forwarded-For that is not (proxies append the address they got the request
// from, so the list is read from its end; what lies before the first untrusted address is the client's to write,
// and is not believed). A header that does not parse is not believed either: the last trusted hop is the client.
func clientAddress(c *fiber.Ctx, trusted []netip.Prefix) netip.Addr {
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return netip.Addr{}
	}
	return forwardedClient(peer.Unmap(), c.Request().Header.PeekAll(fiber.HeaderXForwardedFor), trusted)
}

// forwardedClient is clientAddress's rule, given the peer and the X-Forwarded-For headers in the order received.
func forwardedClient(peer netip.Addr, forwarded [][]byte, trusted []netip.Prefix) netip.Addr {
	if !isTrusted(peer, trusted) {
		return peer
	}
	client := peer
	for i := len(forwarded) - 1; i >= 0; i-- {
		parts := strings.Split(string(forwarded[i]), ",")
		for j := len(parts) - 1; j >= 0; j-- {
			addr, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client
			}
			client = addr.Unmap()
			if !isTrusted(client, trusted) {
				return client
			}
		}
	}
	return client
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// rateKey is the rate limiter's bucket of a request: the client of a valid API key, or else the client's address
// (an IPv6 client's /64, the least a host is given). A key that is not valid counts against its sender's address, so
// that guessing keys is limited like anything else and adds no bucket per guess.
func (s *Server) rateKey(c *fiber.Ctx) string {
	if presented := presentedKey(c); presented != "" {
		if key, ok := s.keys.lookup(presented); ok {
			sum := sha256.Sum256([]byte(key.clientID))
			return "client:" + hex.EncodeToString(sum[:8])
		}
	}
	addr := clientAddress(c, s.cfg.TrustedProxies)
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return "net:" + p.String()
	}
	return "ip:" + addr.String()
}
