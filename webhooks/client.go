package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrPrivateDestination refuses a delivery to a loopback, private, link-local or otherwise internal address.
var ErrPrivateDestination = errors.New("webhook destination is not a public address")

// DeliveryTimeout bounds one delivery attempt (DESIGN §8).
const DeliveryTimeout = 15 * time.Second

// NewClient returns the HTTP client deliveries go through. Unless allowPrivate is set, it refuses to connect to
// internal addresses, checked on the address actually dialled (after DNS, so a name that resolves to 127.0.0.1,
// or is rebound to it after registration, is refused too). It never follows redirects: a 3xx is the answer.
func NewClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if !allowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrPrivateDestination, address)
			}
			if !public(ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrPrivateDestination, ap.Addr())
			}
			return nil
		}
	}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		Proxy:                 nil, // a proxy would dial for us and bypass the address check
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: DeliveryTimeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       DeliveryTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// public tells whether an address is routable on the public internet.
func public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// nonPublic are reserved ranges the netip predicates do not cover.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64, may reach internal IPv4
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64 (RFC 8215), likewise
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds an IPv4 address, which may be internal
	netip.MustParsePrefix("2001::/32"),       // Teredo: embeds an IPv4 address (obfuscated)
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated, still routed inside some sites)
}
