package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdhttp "net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/http/streamsapi"
)

// apiContract is the OpenAPI document the tests hold every response to.
type apiContract struct {
	doc    *openapi3.T
	router routers.Router
}

var loadContract = sync.OnceValues(func() (*apiContract, error) {
	doc, err := LoadOpenAPI(streamsapi.OpenAPI())
	if err != nil {
		return nil, err
	}
	doc.Servers = nil // match paths on any host the tests use
	// JSON Lines: every line one JSON value; the body as a whole is the document's string.
	openapi3filter.RegisterBodyDecoder("application/jsonl", func(body io.Reader, _ stdhttp.Header, _ *openapi3.SchemaRef,
		_ openapi3filter.EncodingFn) (any, error) {
		raw, err := io.ReadAll(body)
		if err != nil {
			return nil, err
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n")) {
			if len(raw) > 0 && !json.Valid(line) {
				return nil, fmt.Errorf("line %d is not JSON", i+1)
			}
		}
		return string(raw), nil
	})
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &apiContract{doc: doc, router: router}, nil
})

// errUndocumented is a response the document does not describe.
var errUndocumented = errors.New("not in the OpenAPI document")

// check validates one exchange: the route must be documented (a request for no route must be answered with the
// error envelope and 404), and the response's status, headers and body must match the document exactly.
func (c *apiContract) check(req *stdhttp.Request, status int, header stdhttp.Header, body []byte) error {
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if status != stdhttp.StatusNotFound && status != stdhttp.StatusMethodNotAllowed {
			return fmt.Errorf("%w: %s %s answered %d", errUndocumented, req.Method, req.URL.Path, status)
		}
		envelope := c.doc.Components.Schemas["ErrorEnvelope"].Value
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return fmt.Errorf("%s %s: %d without a JSON body: %w", req.Method, req.URL.Path, status, err)
		}
		return envelope.VisitJSON(v)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return fmt.Errorf("%s %s → %d: %w", req.Method, req.URL.Path, status, err)
	}
	return nil
}

// checkContract fails the test when an exchange does not match the document.
func checkContract(t testing.TB, req *stdhttp.Request, status int, header stdhttp.Header, body []byte) {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.check(req, status, header, body); err != nil {
		t.Errorf("contract: %v\nbody: %.600s", err, body)
	}
}

// The contract check is strict: a drifted response fails it. Each case is a response a handler could drift to.
func TestContractCatchesDrift(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	h, _ := newWebhooksHarness(t)
	id := data(t, h.admin(t, "POST", "/api/webhooks/endpoints", `{"url":"https://hooks.example.com/x"}`))["id"].(string)
	endpoint := data(t, h.admin(t, "GET", "/api/webhooks/endpoints/"+id, ""))
	jsonHeader := stdhttp.Header{"Content-Type": []string{"application/json"}}
	get := func(path string) *stdhttp.Request {
		req, _ := stdhttp.NewRequest("GET", path, nil)
		return req
	}
	encode := func(v any) []byte {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	with := func(change func(m map[string]any)) []byte {
		m := map[string]any{}
		for k, v := range endpoint {
			m[k] = v
		}
		change(m)
		return encode(map[string]any{"data": m})
	}
	if err := c.check(get("/api/webhooks/endpoints/"+id), 200, jsonHeader, with(func(map[string]any) {})); err != nil {
		t.Fatalf("the genuine response does not pass: %v", err)
	}
	cases := map[string]struct {
		req    *stdhttp.Request
		status int
		body   []byte
	}{
		"an undocumented field": {get("/api/webhooks/endpoints/" + id), 200, with(func(m map[string]any) { m["secret"] = "whsec_leak" })},
		"a missing field":       {get("/api/webhooks/endpoints/" + id), 200, with(func(m map[string]any) { delete(m, "enabled") })},
		"a mistyped field":      {get("/api/webhooks/endpoints/" + id), 200, with(func(m map[string]any) { m["enabled"] = "yes" })},
		"an undocumented status": {get("/api/webhooks/endpoints/" + id), 418,
			encode(map[string]any{"error": map[string]any{"code": "CONFLICT", "message": "x", "requestId": "r", "retryable": false}})},
		"an error outside the envelope": {get("/api/webhooks/endpoints/" + id), 404, encode(map[string]any{"message": "not found"})},
		"an unknown error code": {get("/api/webhooks/endpoints/" + id), 404,
			encode(map[string]any{"error": map[string]any{"code": "GONE", "message": "x", "requestId": "r", "retryable": false}})},
		"an undocumented route": {get("/api/webhooks/secrets"), 200, encode(map[string]any{"data": []any{}})},
		"an amount as a number": {get("/api/streams/42"), 200, encode(map[string]any{"data": map[string]any{"depositAmount": 1000}})},
	}
	for name, tc := range cases {
		if err := c.check(tc.req, tc.status, jsonHeader, tc.body); err == nil {
			t.Errorf("%s passed the contract check", name)
		}
	}
}

// Every route the server answers is in the document, and every documented operation is served.
func TestEveryRouteIsDocumented(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(cfg *testConfig) { cfg.Live = memory.New() })
	served := map[string]bool{}
	for _, r := range h.srv.App().GetRoutes(true) {
		if r.Method == "HEAD" || r.Path == "/" && r.Method != "GET" {
			continue
		}
		path := r.Path
		for _, p := range r.Params {
			path = strings.Replace(path, ":"+p, "{"+p+"}", 1)
		}
		key := r.Method + " " + path
		served[key] = true
		item := c.doc.Paths.Find(path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s is served but not documented", key)
		}
	}
	for _, path := range c.doc.Paths.InMatchingOrder() {
		for method := range c.doc.Paths.Value(path).Operations() {
			if !served[method+" "+path] {
				t.Errorf("%s %s is documented but not served", method, path)
			}
		}
	}
}

// testDoc is the document the tests hold messages to: the core's with the stream module's fragment.
func testDoc(t *testing.T) *openapi3.T {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	return c.doc
}
