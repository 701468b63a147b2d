//go:build soak

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestSoak (make soak, outside make test) runs the built binary on the embedded default over a million simulated
// events, with a webhook endpoint that receives every event, and compares the process's resident memory at 100k
// events with that at 1M: the embedded default must stay within 1.5× (DESIGN §14).
func TestSoak(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "streamledger")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var received atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		received.Add(1)
	}))
	defer receiver.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const key = "soak-test-key-0123456789"
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "DATA_DIR="+t.TempDir(), "LISTEN_ADDR="+addr, "SIM_LEDGER_INTERVAL=0s", "SIM_LEDGERS=700000", "SIM_REORGS=false",
		"SIM_STREAMS=300", "WEBHOOK_ALLOW_PRIVATE=true", "LOG_LEVEL=warn", "RATE_LIMIT=0",
		`API_KEYS=[{"key":"`+key+`","clientId":"soak","scopes":["webhooks:admin"]}]`)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/health"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", logs.String())
		}
	}
	body := fmt.Sprintf(`{"url":%q}`, receiver.URL)
	req, _ := http.NewRequest("POST", base+"/api/webhooks/endpoints", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("register the endpoint: %v %v", resp, err)
	}
	resp.Body.Close()

	position := func() int64 {
		resp, err := http.Get(base + "/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h struct {
			Projections []struct {
				Name     string `json:"name"`
				Position int64  `json:"position"`
			} `json:"projections"`
		}
		json.NewDecoder(resp.Body).Decode(&h)
		low := int64(-1)
		for _, p := range h.Projections {
			if low < 0 || p.Position < low {
				low = p.Position
			}
		}
		return low
	}
	// Resident memory, and the part of it that is the process's own (RssAnon; the rest is pages of the mapped store
	// files, which the kernel can drop).
	rss := func() (all, anon int64) {
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			for key, dst := range map[string]*int64{"VmRSS:": &all, "RssAnon:": &anon} {
				if v, ok := strings.CutPrefix(sc.Text(), key); ok {
					kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
					*dst = kb << 10
				}
			}
		}
		return all, anon
	}
	start := time.Now()
	waitFor := func(events int64) (int64, int64) {
		for position() < events {
			if time.Since(start) > 30*time.Minute {
				t.Fatalf("only %d events after %s", position(), time.Since(start))
			}
			time.Sleep(time.Second)
		}
		return rss()
	}
	at100k, anon100k := waitFor(100_000)
	t.Logf("100k events after %s: RSS %d MiB (own %d MiB), %d webhooks received", time.Since(start).Round(time.Second),
		at100k>>20, anon100k>>20, received.Load())
	at1m, anon1m := waitFor(1_000_000)
	t.Logf("1M events after %s: RSS %d MiB (own %d MiB), %d webhooks received", time.Since(start).Round(time.Second),
		at1m>>20, anon1m>>20, received.Load())
	if at1m*2 > at100k*3 {
		t.Fatalf("RSS grew from %d MiB at 100k events to %d MiB at 1M: more than 1.5×", at100k>>20, at1m>>20)
	}
}
