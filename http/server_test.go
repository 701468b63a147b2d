package http

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	stdhttp "net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/support/compressxdr"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/lake"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/http/streamsapi"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/streams"
)

const contract = domain.Address("CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP")

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// fakeStreams serves one stream: 1000.0000000 at 116 base units a second from an hour before now.
type fakeStreams struct{ err error }

func (f fakeStreams) List(context.Context, streams.Filter, streams.Page) ([]fluxora.Stream, bool, error) {
	return nil, false, f.err
}

func (f fakeStreams) Get(_ context.Context, ref fluxora.StreamRef) (fluxora.Stream, bool, error) {
	if f.err != nil {
		return fluxora.Stream{}, false, f.err
	}
	if ref.ContractID != contract || ref.StreamID != 42 {
		return fluxora.Stream{}, false, nil
	}
	start := uint64(now.Add(-time.Hour).Unix())
	return fluxora.Stream{ContractID: contract, StreamID: 42, Known: true, Status: fluxora.StatusActive, Kind: fluxora.KindLinear,
		Sender: "GAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPSABOV", Recipient: "GAZDGNBVGY3TQOJ2HM6D2PR7IBAUEQ2EIVDEOSCJJJFUYTKOJ5IFDANM",
		DepositAmount: domain.NewAmount(10_000_000_000), RatePerSecond: domain.NewAmount(116), StartTime: start, CliffTime: start,
		EndTime: start + 100_000_000, CheckpointedAt: start, WithdrawnAmount: domain.NewAmount(100_000), Version: 3, LastEventID: "e3",
		CreatedLedger: 10, UpdatedLedger: 12}, true, nil
}

type harness struct {
	cfg Config
	srv *Server
}

// testConfig is the API's configuration with the stream module's, which build mounts.
type testConfig struct {
	Config
	Streams  streamsapi.StreamReader
	Followed []domain.Address
}

// build is the API's configuration with the stream module mounted.
func (c testConfig) build() Config {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	routes := streamsapi.New(streamsapi.Config{Contracts: c.Contracts, Followed: c.Followed, Streams: c.Streams, Events: c.Events,
		Ledgers: c.Ledgers, Codec: c.Codec})
	c.Modules = append(c.Modules, routes)
	c.Feeds = append(c.Feeds, routes.Feed(now))
	return c.Config
}

func newHarness(t *testing.T, mutate func(*testConfig)) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "test_total", Help: "t"}))
	cfg := testConfig{Streams: fakeStreams{}, Config: Config{Version: "test", NetworkPassphrase: "Test SDF Network ; September 2015", Contracts: []domain.Address{contract},
		PublicReads: true, Gatherer: reg, Now: func() time.Time { return now },
		Codec: projections.Registry(domain.MustRegistry(append(fluxora.Events(), fluxora.AdminEvents()...)...)),
		APIKeys: []APIKey{{Key: "reader-key", ClientID: "reader", Scopes: []string{ScopeStreamsRead}},
			{Key: "ingest-key", ClientID: "indexer", Scopes: []string{ScopeIngestWrite}}}}}
	if mutate != nil {
		mutate(&cfg)
	}
	return &harness{cfg: cfg.Config, srv: New(cfg.build())}
}

type response struct {
	status int
	header stdhttp.Header
	body   map[string]any
	raw    string
}

func (h *harness) do(t *testing.T, method, path string, body io.Reader, headers ...string) response {
	t.Helper()
	req, err := stdhttp.NewRequest(method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := h.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	checkContract(t, req, resp.StatusCode, resp.Header, raw)
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// errorOf checks the envelope and returns its code.
func errorOf(t *testing.T, r response) string {
	t.Helper()
	e, ok := r.body["error"].(map[string]any)
	if !ok {
		t.Fatalf("status %d without the error envelope: %s", r.status, r.raw)
	}
	if e["requestId"] == "" || e["requestId"] != r.header.Get("X-Request-Id") {
		t.Fatalf("request id %v, header %q", e["requestId"], r.header.Get("X-Request-Id"))
	}
	if _, ok := e["retryable"].(bool); !ok {
		t.Fatalf("no retryable flag: %s", r.raw)
	}
	return e["code"].(string)
}

func securityHeadersSet(t *testing.T, r response) {
	t.Helper()
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Content-Security-Policy"} {
		if r.header.Get(h) == "" {
			t.Fatalf("status %d: no %s header", r.status, h)
		}
	}
}

func TestRootRequestIDsAndHeaders(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do(t, "GET", "/", nil)
	data := r.body["data"].(map[string]any)
	if r.status != 200 || data["version"] != "test" || data["networkId"] != domain.NetworkID(h.cfg.NetworkPassphrase) {
		t.Fatalf("root: %d %s", r.status, r.raw)
	}
	securityHeadersSet(t, r)
	if len(r.header.Get("X-Request-Id")) != 36 {
		t.Fatalf("generated request id %q", r.header.Get("X-Request-Id"))
	}
	if got := h.do(t, "GET", "/", nil, "X-Request-Id", "trace-123").header.Get("X-Request-Id"); got != "trace-123" {
		t.Fatalf("a valid request id is echoed: %q", got)
	}
	for _, bad := range []string{"two words", strings.Repeat("x", 129)} {
		if got := h.do(t, "GET", "/", nil, "X-Request-Id", bad).header.Get("X-Request-Id"); got == bad {
			t.Fatalf("an invalid request id %q was echoed", bad)
		}
	}
	r = h.do(t, "GET", "/nowhere", nil)
	if r.status != 404 || errorOf(t, r) != apikit.CodeNotFound {
		t.Fatalf("unknown route: %d %s", r.status, r.raw)
	}
	securityHeadersSet(t, r)
}

func TestHealthAndReadiness(t *testing.T) {
	status := chain.Status{Health: chain.HealthHealthy, Tip: 100, LastSafeLedger: 99, TipClosedAt: now.Add(-3 * time.Second)}
	failing := errors.New("dial tcp 10.0.0.7:5432: connection refused (password=hunter2)")
	var checkErr error
	h := newHarness(t, func(c *testConfig) {
		c.Ingestion = func() chain.Status { return status }
		c.Projections = func() []projections.Status { return []projections.Status{{Name: "streams", Position: 7}} }
		c.Checks = []Check{{Name: "eventStore", Check: func(context.Context) error { return checkErr }}}
		c.Role = func() string { return "standby" }
	})
	r := h.do(t, "GET", "/health", nil)
	ix := r.body["indexer"].(map[string]any)
	if r.status != 200 || r.body["status"] != "ok" || ix["status"] != "healthy" || ix["lagMs"] != 3000.0 || ix["lastSafeLedger"] != 99.0 ||
		r.body["role"] != "standby" {
		t.Fatalf("health: %s", r.raw)
	}
	if _, ok := newHarness(t, nil).do(t, "GET", "/health", nil).body["role"]; ok {
		t.Fatal("a process that is alone reports a role")
	}
	for health, want := range map[chain.Health]string{chain.HealthStalled: "degraded", chain.HealthHalted: "halted"} {
		status.Health = health
		if r := h.do(t, "GET", "/health", nil); r.body["status"] != want {
			t.Fatalf("%s: %s", health, r.raw)
		}
	}
	if r := h.do(t, "GET", "/readyz", nil); r.status != 200 || r.body["ready"] != true {
		t.Fatalf("ready: %s", r.raw)
	}
	checkErr = failing
	r = h.do(t, "GET", "/readyz", nil)
	if r.status != 503 || r.body["ready"] != false || strings.Contains(r.raw, "hunter2") || strings.Contains(r.raw, "10.0.0.7") {
		t.Fatalf("not ready: %d %s", r.status, r.raw)
	}
}

func TestMetricsAccess(t *testing.T) {
	// The test transport's peer is not loopback: without a token, metrics are refused.
	if r := newHarness(t, nil).do(t, "GET", "/metrics", nil); r.status != 403 || errorOf(t, r) != apikit.CodeForbidden {
		t.Fatalf("metrics to a remote peer: %d %s", r.status, r.raw)
	}
	if r := newHarness(t, nil).do(t, "GET", "/metrics", nil, "X-Forwarded-For", "127.0.0.1"); r.status != 403 {
		t.Fatalf("X-Forwarded-For was trusted: %d", r.status)
	}
	h := newHarness(t, func(c *testConfig) { c.MetricsToken = "m-token" })
	if r := h.do(t, "GET", "/metrics", nil, "Authorization", "Bearer wrong"); r.status != 401 {
		t.Fatalf("wrong token: %d", r.status)
	}
	r := h.do(t, "GET", "/metrics", nil, "Authorization", "Bearer m-token")
	if r.status != 200 || !strings.Contains(r.raw, "test_total 0") {
		t.Fatalf("metrics: %d %s", r.status, r.raw)
	}
}

func TestStreamByID(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do(t, "GET", "/api/streams/"+string(contract)+":42", nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	d := r.body["data"].(map[string]any)
	// One hour at 116 base units a second: 417,600 accrued, 100,000 withdrawn.
	for field, want := range map[string]string{"id": string(contract) + ":42", "depositAmount": "1000.0000000",
		"depositAmountRaw": "10000000000", "accruedAmount": "0.0417600", "accruedAmountRaw": "417600",
		"withdrawableAmount": "0.0317600", "refundAmount": "0.0000000", "status": "active"} {
		if d[field] != want {
			t.Fatalf("%s = %v, want %s", field, d[field], want)
		}
	}
	etag := r.header.Get("ETag")
	if !strings.HasPrefix(etag, `W/"`) {
		t.Fatalf("etag %q", etag)
	}
	if r := h.do(t, "GET", "/api/streams/42", nil, "If-None-Match", etag); r.status != 304 {
		t.Fatalf("revalidation with the bare id: %d", r.status)
	}
	for path, field := range map[string]string{
		"/api/streams/" + string(contract) + ":x":  "id",
		"/api/streams/GAAQEAYEAUDAOCAJ:1":          "id",
		"/api/streams/42?asof=now":                 "asof",
		"/api/streams/" + string(contract) + ":-1": "id",
	} {
		r := h.do(t, "GET", path, nil)
		if r.status != 400 || errorOf(t, r) != apikit.CodeValidation || r.body["error"].(map[string]any)["details"].(map[string]any)["field"] != field {
			t.Fatalf("%s: %d %s", path, r.status, r.raw)
		}
	}
	if r := h.do(t, "GET", "/api/streams/43", nil); r.status != 404 || errorOf(t, r) != apikit.CodeNotFound {
		t.Fatalf("unknown stream: %d %s", r.status, r.raw)
	}
}

func TestInternalErrorsStayInside(t *testing.T) {
	h := newHarness(t, func(c *testConfig) {
		c.Streams = fakeStreams{err: errors.New("pq: relation streams_g1 does not exist at 10.0.0.7")}
	})
	r := h.do(t, "GET", "/api/streams/42", nil)
	if r.status != 500 || errorOf(t, r) != apikit.CodeInternal || strings.Contains(r.raw, "streams_g1") || strings.Contains(r.raw, "10.0.0.7") {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}

func TestAuth(t *testing.T) {
	h := newHarness(t, func(c *testConfig) { c.PublicReads = false })
	cases := []struct {
		headers []string
		status  int
	}{
		{nil, 401},
		{[]string{"Authorization", "Bearer nope"}, 401},
		{[]string{"Authorization", "Basic cmVhZGVyLWtleQ=="}, 401},
		{[]string{"Authorization", "Bearer ingest-key"}, 403},
		{[]string{"Authorization", "Bearer reader-key"}, 200},
		{[]string{"X-API-Key", "reader-key"}, 200},
	}
	for _, tc := range cases {
		if r := h.do(t, "GET", "/api/streams/42", nil, tc.headers...); r.status != tc.status {
			t.Fatalf("%v: %d, want %d (%s)", tc.headers, r.status, tc.status, r.raw)
		}
	}
}

func TestPush(t *testing.T) {
	var result error
	h := newHarness(t, func(c *testConfig) {
		c.Push = func(_ context.Context, ls []chain.PushedLedger) (chain.PushResult, error) {
			return chain.PushResult{Appended: len(ls), Tip: 7}, result
		}
	})
	body := `{"ledgers":[{"sequence":7,"hash":"ab","metadataXdr":"AAAA"}]}`
	post := func(body string, headers ...string) response {
		return h.do(t, "POST", "/internal/ingest/ledgers", strings.NewReader(body), append([]string{"Authorization", "Bearer ingest-key",
			"Content-Type", "application/json"}, headers...)...)
	}
	if r := h.do(t, "POST", "/internal/ingest/ledgers", strings.NewReader(body), "Content-Type", "application/json"); r.status != 401 {
		t.Fatalf("without a key: %d", r.status)
	}
	if r := post(body); r.status != 200 || r.body["data"].(map[string]any)["appended"] != 1.0 {
		t.Fatalf("push: %d %s", r.status, r.raw)
	}
	if r := post(body, "Content-Type", "text/plain"); r.status != 415 || errorOf(t, r) != apikit.CodeUnsupported {
		t.Fatalf("text body: %d %s", r.status, r.raw)
	}
	if r := post(`{"ledgers":`); r.status != 400 || errorOf(t, r) != apikit.CodeValidation {
		t.Fatalf("bad JSON: %d %s", r.status, r.raw)
	}
	if r := post(`{"ledger":[]}`); r.status != 400 {
		t.Fatalf("unknown field: %d %s", r.status, r.raw)
	}
	for err, want := range map[error]int{
		&chain.PushError{Field: "ledgers[0].hash", Message: "required"}: 400,
		fmt.Errorf("wrapped: %w", chain.ErrHalted):                      503,
		errors.New("disk on fire at /var/lib/pg"):                       500,
	} {
		result = err
		r := post(body)
		if r.status != want || strings.Contains(r.raw, "/var/lib") {
			t.Fatalf("%v: %d %s", err, r.status, r.raw)
		}
	}
}

// listen serves h on a real loopback listener until the test ends.
func listen(t testing.TB, h *harness) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h.srv.App().Listener(ln)
	t.Cleanup(func() { h.srv.Shutdown(5 * time.Second) })
	return "http://" + ln.Addr().String()
}

// TestOverTheWire covers what needs a real connection: the body limits, enforced while reading the request (256 KiB
// on every route, declared or chunked; 16 MiB on the push route), and metrics for a loopback peer.
func TestOverTheWire(t *testing.T) {
	pushedBytes := 0
	h := newHarness(t, func(c *testConfig) {
		c.Push = func(_ context.Context, ls []chain.PushedLedger) (chain.PushResult, error) {
			for _, l := range ls {
				pushedBytes += len(l.MetadataXDR)
			}
			return chain.PushResult{}, nil
		}
	})
	base := listen(t, h)
	// A raw connection: the server answers 413 as soon as it reads the declared length, and may close before the
	// body is written, which an HTTP client reports as a reset instead of the answer.
	send := func(path string, size int, chunked bool) (int, string) {
		t.Helper()
		body := []byte(`{"ledgers":[{"metadataXdr":"` + strings.Repeat("A", size) + `"}]}`)
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		head := "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ingest-key\r\nContent-Type: application/json\r\n"
		go func() { // the server may stop reading: its answer is what counts
			if chunked {
				fmt.Fprintf(conn, "%sTransfer-Encoding: chunked\r\n\r\n", head)
				for len(body) > 0 {
					n := min(len(body), 64<<10)
					fmt.Fprintf(conn, "%x\r\n%s\r\n", n, body[:n])
					body = body[n:]
				}
				fmt.Fprint(conn, "0\r\n\r\n")
				return
			}
			fmt.Fprintf(conn, "%sContent-Length: %d\r\n\r\n", head, len(body))
			conn.Write(body)
		}()
		resp, err := stdhttp.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("X-Content-Type-Options") == "" || resp.Header.Get("X-Request-Id") == "" {
			t.Fatalf("%s: no baseline headers: %v", path, resp.Header)
		}
		if resp.StatusCode == 413 && (!strings.Contains(string(raw), apikit.CodeTooLarge) || !strings.Contains(string(raw), resp.Header.Get("X-Request-Id"))) {
			t.Fatalf("%s: %s", path, raw)
		}
		return resp.StatusCode, string(raw)
	}
	for _, chunked := range []bool{false, true} {
		if code, raw := send("/api/webhooks/endpoints", MaxBodySize, chunked); code != 413 {
			t.Fatalf("chunked=%v: a body over 256 KiB elsewhere than the push: %d %s", chunked, code, raw)
		}
		if code, raw := send(pushPath, MaxPushBodySize, chunked); code != 413 {
			t.Fatalf("chunked=%v: a push over 16 MiB: %d %s", chunked, code, raw)
		}
		pushedBytes = 0
		if code, raw := send(pushPath, 3<<20, chunked); code != 200 || pushedBytes != 3<<20 {
			t.Fatalf("chunked=%v: a push of 3 MiB: %d %s (%d bytes pushed)", chunked, code, raw, pushedBytes)
		}
	}
	resp, err := stdhttp.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), "test_total") {
		t.Fatalf("metrics to loopback: %d %s", resp.StatusCode, raw)
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, func(c *testConfig) { c.RateLimit = 3 })
	for i := 0; i < 3; i++ {
		if r := h.do(t, "GET", "/api/streams/42", nil); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r := h.do(t, "GET", "/api/streams/42", nil)
	if r.status != 429 || errorOf(t, r) != apikit.CodeRateLimited || r.header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %v %s", r.status, r.header, r.raw)
	}
	securityHeadersSet(t, r)
	// Another client (a key) has its own quota; health is never limited.
	if r := h.do(t, "GET", "/api/streams/42", nil, "Authorization", "Bearer reader-key"); r.status != 200 {
		t.Fatalf("a key's own quota: %d", r.status)
	}
	if r := h.do(t, "GET", "/health", nil); r.status != 200 {
		t.Fatalf("health limited: %d", r.status)
	}
}

func TestAdminProjections(t *testing.T) {
	release := make(chan error)
	h := newHarness(t, func(c *testConfig) {
		c.APIKeys = append(c.APIKeys, APIKey{Key: "admin-key", ClientID: "ops", Scopes: []string{ScopeAdmin}})
		c.ProjectionNames = []string{"streams", "audit"}
		c.Projections = func() []projections.Status { return []projections.Status{{Name: "streams", Position: 9}} }
		c.Rebuild = func(ctx context.Context, name string) (projections.RebuildResult, error) {
			select {
			case err := <-release:
				return projections.RebuildResult{Name: name, From: 1, To: 2}, err
			case <-ctx.Done():
				return projections.RebuildResult{}, ctx.Err()
			}
		}
	})
	admin := []string{"Authorization", "Bearer admin-key"}
	if r := h.do(t, "GET", "/api/admin/projections", nil, "Authorization", "Bearer reader-key"); r.status != 403 {
		t.Fatalf("a reader key: %d", r.status)
	}
	if r := h.do(t, "POST", "/api/admin/projections/nope/rebuild", nil, admin...); r.status != 404 {
		t.Fatalf("unknown projection: %d", r.status)
	}
	r := h.do(t, "POST", "/api/admin/projections/streams/rebuild", nil, admin...)
	if r.status != 202 || r.body["data"].(map[string]any)["state"] != "running" {
		t.Fatalf("start: %d %s", r.status, r.raw)
	}
	if r := h.do(t, "POST", "/api/admin/projections/audit/rebuild", nil, admin...); r.status != 409 || errorOf(t, r) != apikit.CodeConflict {
		t.Fatalf("a second rebuild: %d %s", r.status, r.raw)
	}
	release <- nil
	state := func() map[string]any {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			r := h.do(t, "GET", "/api/admin/projections", nil, admin...)
			jobs := r.body["data"].(map[string]any)["rebuilds"].([]any)
			last := jobs[len(jobs)-1].(map[string]any)
			if last["state"] != "running" {
				return last
			}
		}
		t.Fatal("the rebuild never finished")
		return nil
	}
	if job := state(); job["state"] != "succeeded" || job["result"] == nil {
		t.Fatalf("job %v", job)
	}
	h.do(t, "POST", "/api/admin/projections/audit/rebuild", nil, admin...)
	release <- fmt.Errorf("compare: %w (hash abc at pg://secret)", projections.ErrRebuildDiffers)
	if job := state(); job["state"] != "failed" || strings.Contains(fmt.Sprint(job), "secret") {
		t.Fatalf("job %v", job)
	}
	// The embedded read models cannot be rebuilt over the API.
	e := newHarness(t, func(c *testConfig) {
		c.APIKeys = append(c.APIKeys, APIKey{Key: "admin-key", ClientID: "ops", Scopes: []string{ScopeAdmin}})
		c.ProjectionNames = []string{"streams"}
	})
	if r := e.do(t, "POST", "/api/admin/projections/streams/rebuild", nil, admin...); r.status != 409 {
		t.Fatalf("embedded: %d %s", r.status, r.raw)
	}
	h.srv.Shutdown(time.Second)
}

// TestPushThroughTheIngester drives the route with a real ingester: a gap after the stored tip is a 409 naming
// the field.
func TestPushThroughTheIngester(t *testing.T) {
	network, err := sim.New(sim.Config{Seed: 2, NetworkPassphrase: "Test SDF Network ; September 2015", Streams: 3, TxPerLedger: 2, Ledgers: 10})
	if err != nil {
		t.Fatal(err)
	}
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: "Test SDF Network ; September 2015",
		Contracts: simtest.Fluxora(t, network.ContractID())})
	if err != nil {
		t.Fatal(err)
	}
	in, err := chain.NewIngester(chain.Config{Store: memory.New(), Decoder: d, SafetyMargin: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *testConfig) { c.Push = in.Push })
	push := func(seq uint32) response {
		lcm, err := network.Canonical(seq)
		if err != nil {
			t.Fatal(err)
		}
		meta, _ := xdr.MarshalBase64(lcm)
		body, _ := json.Marshal(map[string]any{"ledgers": []map[string]any{{"sequence": seq, "hash": lcm.LedgerHash().HexString(), "metadataXdr": meta}}})
		return h.do(t, "POST", "/internal/ingest/ledgers", strings.NewReader(string(body)), "Authorization", "Bearer ingest-key",
			"Content-Type", "application/json")
	}
	if r := push(2); r.status != 200 {
		t.Fatalf("first ledger: %d %s", r.status, r.raw)
	}
	r := push(5)
	if r.status != 409 || errorOf(t, r) != apikit.CodeConflict || r.body["error"].(map[string]any)["details"].(map[string]any)["field"] != "ledgers[0].sequence" {
		t.Fatalf("gap: %d %s", r.status, r.raw)
	}
}

// A stream id whose colon a client escaped (%3A), as path-segment encoders do, names the same stream.
func TestStreamIDWithAnEscapedColon(t *testing.T) {
	h := newHarness(t, nil)
	plain := h.do(t, "GET", "/api/streams/"+string(contract)+":42", nil)
	escaped := h.do(t, "GET", "/api/streams/"+string(contract)+"%3A42", nil)
	if plain.status != 200 || escaped.status != 200 || plain.body["data"].(map[string]any)["id"] != escaped.body["data"].(map[string]any)["id"] {
		t.Fatalf("plain %d, escaped %d %s", plain.status, escaped.status, escaped.raw)
	}
}

// TestPushRealLedgers: a pubnet ledger (1.28 MB of XDR, 1.7 MB as base64) is taken as JSON, and a SEP-54 lake
// file's content (a LedgerCloseMetaBatch, zstd-compressed or not) as application/octet-stream, through a real
// ingester.
func TestPushRealLedgers(t *testing.T) {
	raw, err := lake.PubnetLedger()
	if err != nil {
		t.Fatal(err)
	}
	var lcm xdr.LedgerCloseMeta
	if err := xdr.SafeUnmarshal(raw, &lcm); err != nil {
		t.Fatal(err)
	}
	// Any contract: what is pushed is checked and stored whatever it holds.
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: network.PublicNetworkPassphrase,
		Contracts: simtest.Fluxora(t, "CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP")})
	if err != nil {
		t.Fatal(err)
	}
	in, err := chain.NewIngester(chain.Config{Store: memory.New(), Decoder: d, SafetyMargin: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *testConfig) { c.Push, c.PushBatch = in.Push, in.PushBatch })
	body, _ := json.Marshal(map[string]any{"ledgers": []map[string]any{{"sequence": 58752000, "hash": lcm.LedgerHash().HexString(),
		"metadataXdr": base64.StdEncoding.EncodeToString(raw)}}})
	if len(body) < 1700_000 {
		t.Fatalf("the push is only %d bytes", len(body))
	}
	r := h.do(t, "POST", "/internal/ingest/ledgers", bytes.NewReader(body), "Authorization", "Bearer ingest-key", "Content-Type", "application/json")
	if r.status != 200 || r.body["data"].(map[string]any)["tipLedger"] != float64(58752000) {
		t.Fatalf("the pubnet ledger as JSON: %d %s", r.status, r.raw)
	}

	// The simulator's ledgers as a lake file would hold them, pushed raw: two of them plain, then two compressed.
	network2, err := sim.New(sim.Config{Seed: 2, NetworkPassphrase: "Test SDF Network ; September 2015", Streams: 3, TxPerLedger: 2, Ledgers: 10})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: "Test SDF Network ; September 2015",
		Contracts: simtest.Fluxora(t, network2.ContractID())})
	if err != nil {
		t.Fatal(err)
	}
	in2, err := chain.NewIngester(chain.Config{Store: memory.New(), Decoder: d2, SafetyMargin: 1})
	if err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t, func(c *testConfig) { c.Push, c.PushBatch = in2.Push, in2.PushBatch })
	batch := func(from, to uint32, compress bool) []byte {
		b := xdr.LedgerCloseMetaBatch{StartSequence: xdr.Uint32(from), EndSequence: xdr.Uint32(to)}
		for seq := from; seq <= to; seq++ {
			lcm, err := network2.Canonical(seq)
			if err != nil {
				t.Fatal(err)
			}
			b.LedgerCloseMetas = append(b.LedgerCloseMetas, lcm)
		}
		var buf bytes.Buffer
		codec := compressxdr.NewXDREncoder(compressxdr.DefaultCompressor, &b)
		if !compress {
			raw, err := b.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}
		if _, err := codec.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	octets := func(body []byte) response {
		return h2.do(t, "POST", "/internal/ingest/ledgers", bytes.NewReader(body), "Authorization", "Bearer ingest-key",
			"Content-Type", "application/octet-stream")
	}
	if r := octets(batch(2, 3, false)); r.status != 200 || r.body["data"].(map[string]any)["tipLedger"] != float64(3) {
		t.Fatalf("a plain batch: %d %s", r.status, r.raw)
	}
	if r := octets(batch(4, 5, true)); r.status != 200 || r.body["data"].(map[string]any)["tipLedger"] != float64(5) {
		t.Fatalf("a zstd batch: %d %s", r.status, r.raw)
	}
	if r := octets(batch(4, 5, true)); r.status != 200 || r.body["data"].(map[string]any)["alreadyStored"] != float64(2) {
		t.Fatalf("the same batch again: %d %s", r.status, r.raw)
	}
	if r := octets([]byte("not xdr")); r.status != 400 || errorOf(t, r) != apikit.CodeValidation {
		t.Fatalf("garbage: %d %s", r.status, r.raw)
	}
	if r := octets(batch(7, 8, true)); r.status != 409 {
		t.Fatalf("a gap: %d %s", r.status, r.raw)
	}
	if r := h2.do(t, "POST", "/internal/ingest/ledgers", strings.NewReader("x"), "Authorization", "Bearer ingest-key",
		"Content-Type", "text/plain"); r.status != 415 {
		t.Fatalf("text: %d %s", r.status, r.raw)
	}
}

// GET /api/admin/reconciliation/runs lists the runs the reconciliation recorded, newest first, to an admin.
func TestReconciliationRunsRoute(t *testing.T) {
	runs := []domain.ReconciliationRan{{RunID: "7d7a3b40-7c8a-4a51-b3a0-17a4c7b0f1c2", Ledger: 99, StartedAt: "2026-12-05T00:00:00Z",
		Contracts: 3, Drifts: 1}}
	h := newHarness(t, func(c *testConfig) {
		c.APIKeys = append(c.APIKeys, APIKey{Key: "admin-key", ClientID: "ops", Scopes: []string{ScopeAdmin}})
		c.ReconciliationRuns = func(_ context.Context, limit int) ([]domain.ReconciliationRan, error) {
			return runs[:min(limit, 1)], nil
		}
	})
	r := h.do(t, "GET", "/api/admin/reconciliation/runs?limit=5", nil, "X-API-Key", "admin-key")
	if r.status != 200 || !strings.Contains(r.raw, `"drifts":1`) {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if r := h.do(t, "GET", "/api/admin/reconciliation/runs", nil, "X-API-Key", "reader-key"); r.status != 403 {
		t.Fatalf("a reader: %d", r.status)
	}
}
