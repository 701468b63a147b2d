package http

import (
	"fmt"
	stdhttp "net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestForwardedClient(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		peer      string
		forwarded []string
		want      string
	}{
		{"203.0.113.7", []string{"198.51.100.1"}, "203.0.113.7"},                  // not a proxy: its header is the client's lie
		{"10.0.0.2", nil, "10.0.0.2"},                                             // a proxy that forwards nothing
		{"10.0.0.2", []string{"198.51.100.1"}, "198.51.100.1"},                    // the client behind one proxy
		{"10.0.0.2", []string{"1.2.3.4, 198.51.100.1, 10.0.0.9"}, "198.51.100.1"}, // two proxies; 1.2.3.4 is the client's to write
		{"10.0.0.2", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},         // several headers: the last is the nearest
		{"10.0.0.2", []string{"10.0.0.3, 10.0.0.4"}, "10.0.0.3"},                  // proxies all the way: the farthest one
		{"10.0.0.2", []string{"198.51.100.1, garbage"}, "10.0.0.2"},               // unparsable: the last trusted hop
		{"::1", []string{"2001:db8::1"}, "2001:db8::1"},                           // IPv6
		{"::ffff:10.0.0.2", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},      // mapped IPv4 is IPv4
		{"10.0.0.2", []string{" 198.51.100.1 "}, "198.51.100.1"},                  // spaces
		{"10.0.0.2", []string{"198.51.100.1:4711"}, "10.0.0.2"},                   // a port is not an address
	}
	for _, tt := range tests {
		var fwd [][]byte
		for _, f := range tt.forwarded {
			fwd = append(fwd, []byte(f))
		}
		if got := forwardedClient(netip.MustParseAddr(tt.peer).Unmap(), fwd, trusted); got.String() != tt.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", tt.peer, tt.forwarded, got, tt.want)
		}
	}
}

// countingStorage is a fiber.Storage in memory that says how many counters it holds.
type countingStorage struct {
	mu   sync.Mutex
	vals map[string][]byte
}

func (s *countingStorage) Get(key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vals[key], nil
}
func (s *countingStorage) Set(key string, val []byte, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vals == nil {
		s.vals = map[string][]byte{}
	}
	s.vals[key] = append([]byte(nil), val...)
	return nil
}
func (s *countingStorage) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.vals, key)
	return nil
}
func (s *countingStorage) Reset() error { s.mu.Lock(); defer s.mu.Unlock(); s.vals = nil; return nil }
func (s *countingStorage) Close() error { return nil }
func (s *countingStorage) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.vals {
		out = append(out, k)
	}
	return out
}

// TestKeyGuessingIsRateLimited: one address trying more distinct made-up keys than the limit is refused with 429
// within the limit, its guesses all counted in one bucket; a valid key keeps a quota of its own.
func TestKeyGuessingIsRateLimited(t *testing.T) {
	store := &countingStorage{}
	h := newHarness(t, func(c *testConfig) { c.RateLimit, c.RateLimitStorage = 5, store })
	for i := range 40 {
		r := h.do(t, "GET", "/api/webhooks/endpoints", nil, "Authorization", fmt.Sprintf("Bearer guess-%02d-%s", i, strings.Repeat("x", 20)))
		want := 401
		if i >= 5 {
			want = 429
		}
		if r.status != want {
			t.Fatalf("guess %d: %d, want %d: %s", i, r.status, want, r.raw)
		}
	}
	if keys := store.keys(); len(keys) != 1 {
		t.Fatalf("%d counters after 40 guesses from one address: %v", len(keys), keys)
	}
	if r := h.do(t, "GET", "/api/streams/42", nil, "Authorization", "Bearer reader-key"); r.status != 200 {
		t.Fatalf("a valid key's own quota: %d %s", r.status, r.raw)
	}
	if keys := store.keys(); len(keys) != 2 {
		t.Fatalf("%d counters: %v", len(keys), keys)
	}
}

// TestClientsBehindAProxy: over a real connection from loopback, clients behind a trusted proxy have a quota each;
// with the proxy not trusted, its X-Forwarded-For is ignored and everything it sends shares its quota.
func TestClientsBehindAProxy(t *testing.T) {
	for _, trust := range []bool{true, false} {
		h := newHarness(t, func(c *testConfig) {
			c.RateLimit = 2
			if trust {
				c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
			}
		})
		base := listen(t, h)
		get := func(client string) int {
			req, _ := stdhttp.NewRequest("GET", base+"/api/streams/42", nil)
			req.Header.Set("X-Forwarded-For", client)
			resp, err := stdhttp.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		codes := []int{get("198.51.100.1"), get("198.51.100.1"), get("198.51.100.1"), get("198.51.100.2")}
		want := []int{200, 200, 429, 200}
		if !trust {
			want = []int{200, 200, 429, 429}
		}
		if fmt.Sprint(codes) != fmt.Sprint(want) {
			t.Fatalf("trusted=%v: %v, want %v", trust, codes, want)
		}
	}
}
