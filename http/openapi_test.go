package http

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/streamledger/streamledger/http/streamsapi"
)

// The core's document is valid alone and with the stream module's fragment; a fragment that redefines a path or a
// schema, or extends what is not a oneOf, is refused.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	if _, err := LoadOpenAPI(); err != nil {
		t.Fatal(err)
	}
	doc, err := LoadOpenAPI(streamsapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if doc.Paths.Find("/api/streams/{id}") == nil || doc.Components.Schemas["Stream"] == nil ||
		len(doc.Components.Schemas["WebhookPayloadData"].Value.OneOf) != 1 {
		t.Fatal("the stream module's paths and schemas are not in the merged document")
	}
	for name, frag := range map[string]string{
		"a core path":      "paths:\n  /health: {get: {responses: {\"200\": {description: x}}}}\n",
		"a core schema":    "components:\n  schemas:\n    Address: {type: string}\n",
		"a schema twice":   string(streamsapi.OpenAPI()),
		"not a oneOf":      "x-extends:\n  Address: [Page]\n",
		"a missing target": "x-extends:\n  Nothing: [Page]\n",
		"not YAML":         "paths: [",
	} {
		fragments := [][]byte{[]byte(frag)}
		if name == "a schema twice" {
			fragments = append(fragments, []byte(frag))
		}
		if _, err := LoadOpenAPI(fragments...); err == nil {
			t.Errorf("%s: a fragment that merges badly was accepted", name)
		}
	}
}

func TestOpenAPIServedAsJSONWithTheWebhookPayload(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do(t, "GET", "/openapi.json", nil)
	var doc struct {
		OpenAPI  string                     `json:"openapi"`
		Paths    map[string]json.RawMessage `json:"paths"`
		Webhooks map[string]json.RawMessage `json:"webhooks"`
	}
	if err := json.Unmarshal([]byte(r.raw), &doc); err != nil || r.status != 200 {
		t.Fatalf("%d %v", r.status, err)
	}
	if doc.OpenAPI != "3.1.0" || len(doc.Paths) < 20 || doc.Webhooks["streamEvent"] == nil {
		t.Fatalf("openapi %s, %d paths, webhooks %v", doc.OpenAPI, len(doc.Paths), doc.Webhooks)
	}
}

// The reference page is rendered from the document, self-contained: no script, nothing fetched from elsewhere.
func TestDocsPage(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do(t, "GET", "/docs", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", r.status, r.header.Get("Content-Type"))
	}
	for _, want := range []string{`<html lang="en">`, "POST</span> <code>/api/webhooks/endpoints</code>", "webhooks:admin",
		"WebhookEndpointWithSecret", "/api/audit/export", `id="schema-Stream"`} {
		if !strings.Contains(r.raw, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if regexp.MustCompile(`<script|(src|href)="https?:`).MatchString(r.raw) {
		t.Fatal("the page loads something from elsewhere or runs a script")
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q", csp)
	}
}

// The schemas tests hold webhook payloads and WebSocket messages to are strict: off-schema messages fail.
func TestMessageSchemasAreStrict(t *testing.T) {
	for _, bad := range []string{`{"type":"error","code":"NOPE","message":"x"}`, `{"type":"stream_update"}`,
		`{"type":"replay_complete","streamId":"x","position":1,"extra":true}`, `{"type":"nothing"}`, `not json`} {
		if err := ValidateWebSocketMessage(testDoc(t), []byte(bad)); err == nil {
			t.Errorf("%s passed the WebSocket schema", bad)
		}
	}
	if err := ValidateWebSocketMessage(testDoc(t), []byte(`{"type":"replay_complete","streamId":"C:1","position":7}`)); err != nil {
		t.Errorf("a replay_complete: %v", err)
	}
	if err := ValidateWebhookPayload(testDoc(t), []byte(`{"id":"x","type":"stream.created"}`)); err == nil {
		t.Error("a payload without data passed the webhook schema")
	}
}
