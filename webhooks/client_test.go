package webhooks

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestPublicAddresses(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "2606:4700:4700::1111": true, "1.1.1.1": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fc00::1": false, "0.0.0.0": false, "100.64.0.1": false,
		"::ffff:127.0.0.1": false, "224.0.0.1": false, "198.18.0.1": false, "64:ff9b::a00:1": false,
		"2002:a00:1::1": false, "2002:7f00:1::": false, "2001:0:4136:e378:8000:63bf:3fff:fdd2": false,
		"64:ff9b:1::a00:1": false, "fec0::1": false, "2001:4860:4860::8888": true, "2003::1": true,
	} {
		if got := public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: public %v, want %v", addr, got, want)
		}
	}
}

func TestClientRefusesPrivateDestinationsAtDialTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	// The test server is on loopback: refused by default, whatever name points at it.
	for _, url := range []string{srv.URL, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)} {
		_, err := NewClient(false).Post(url, "application/json", nil)
		if !errors.Is(err, ErrPrivateDestination) {
			t.Fatalf("%s: %v", url, err)
		}
	}
	client := NewClient(true)
	resp, err := client.Post(srv.URL, "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("allowed: %v %v", resp, err)
	}
	resp.Body.Close()
	// Redirects are answers, not instructions.
	resp, err = client.Post(srv.URL+"/redirect", "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("redirect: %v %v", resp, err)
	}
	resp.Body.Close()
}
