package http

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/projections/outbox"
	"github.com/streamledger/streamledger/projections/streams"
	"github.com/streamledger/streamledger/webhooks"
)

const hooksKey = "hooks-key"

func newWebhooksHarness(t *testing.T) (*harness, *webhooks.MemoryStore) {
	t.Helper()
	store := webhooks.NewMemoryStore()
	log := memory.New()
	svc, err := webhooks.NewService(webhooks.ServiceConfig{Codec: fluxora.NewCodec(), Subjects: []webhooks.Subjects{streams.Subjects{Log: log}}, Store: store, Log: log, Outbox: outbox.NewMemory(1), EventTypes: fluxora.StreamWebhookTypes(),
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *testConfig) {
		c.Webhooks = svc
		c.APIKeys = append(c.APIKeys, APIKey{Key: hooksKey, ClientID: "ops", Scopes: []string{ScopeWebhooksAdmin}})
	})
	return h, store
}

func (h *harness) admin(t *testing.T, method, path, body string) response {
	t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	if r == nil {
		return h.do(t, method, path, nil, "Authorization", "Bearer "+hooksKey)
	}
	return h.do(t, method, path, r, "Authorization", "Bearer "+hooksKey, "Content-Type", "application/json")
}

func data(t *testing.T, r response) map[string]any {
	t.Helper()
	d, ok := r.body["data"].(map[string]any)
	if !ok {
		t.Fatalf("status %d without data: %s", r.status, r.raw)
	}
	return d
}

func TestWebhookEndpointRegistry(t *testing.T) {
	h, _ := newWebhooksHarness(t)
	if r := h.do(t, "GET", "/api/webhooks/endpoints", nil); r.status != 401 || errorOf(t, r) != apikit.CodeUnauthorized {
		t.Fatalf("without a key: %d %s", r.status, r.raw)
	}
	if r := h.do(t, "GET", "/api/webhooks/endpoints", nil, "X-API-Key", "reader-key"); r.status != 403 || errorOf(t, r) != apikit.CodeForbidden {
		t.Fatalf("with a reader's key: %d %s", r.status, r.raw)
	}

	r := h.admin(t, "POST", "/api/webhooks/endpoints", `{"url":"https://hooks.example.com/fluxora","eventTypes":["stream.withdrawn"],"description":"payouts"}`)
	if r.status != 201 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("register: %d %s", r.status, r.raw)
	}
	created := data(t, r)
	secret, _ := created["secret"].(string)
	id, _ := created["id"].(string)
	if !strings.HasPrefix(secret, "whsec_") || len(secret) < len("whsec_")+32 || created["enabled"] != true ||
		fmt.Sprint(created["eventTypes"]) != "[stream.withdrawn]" {
		t.Fatalf("registered: %s", r.raw)
	}
	// LiquiFact's scheme on request: kept with the endpoint and shown.
	lf := h.admin(t, "POST", "/api/webhooks/endpoints", `{"url":"https://hooks.example.com/liquifact","extraSignatures":["liquifact"]}`)
	if lf.status != 201 || fmt.Sprint(data(t, lf)["extraSignatures"]) != "[liquifact]" {
		t.Fatalf("register with X-Signature: %d %s", lf.status, lf.raw)
	}
	if r := h.admin(t, "GET", "/api/webhooks/endpoints/"+data(t, lf)["id"].(string), ""); !strings.Contains(r.raw, `"extraSignatures":["liquifact"]`) {
		t.Fatalf("the scheme was not kept: %s", r.raw)
	}
	for _, path := range []string{"/api/webhooks/endpoints", "/api/webhooks/endpoints/" + id} {
		r := h.admin(t, "GET", path, "")
		if r.status != 200 || strings.Contains(r.raw, secret) || strings.Contains(r.raw, `"secret"`) {
			t.Fatalf("GET %s shows the secret or failed: %d %s", path, r.status, r.raw)
		}
	}

	bad := []struct {
		method, path, body, contentType string
		status                          int
		code, field                     string
	}{
		{"POST", "/api/webhooks/endpoints", `{"eventTypes":[]}`, "application/json", 400, apikit.CodeValidation, "url"},
		{"POST", "/api/webhooks/endpoints", `{"url":"javascript:alert(1)"}`, "application/json", 400, apikit.CodeValidation, "url"},
		{"POST", "/api/webhooks/endpoints", `{"url":"https://x.example","extraSignatures":["stripe"]}`, "application/json", 400, apikit.CodeValidation, "extraSignatures"},
		{"POST", "/api/webhooks/endpoints", `{"url":"https://x.example","eventTypes":["stream.nope"]}`, "application/json", 400, apikit.CodeValidation, "eventTypes[0]"},
		{"POST", "/api/webhooks/endpoints", `{"url":"https://x.example","secret":"mine"}`, "application/json", 400, apikit.CodeValidation, "body"},
		{"POST", "/api/webhooks/endpoints", `{"url":"https://x.example"}`, "text/plain", 415, apikit.CodeUnsupported, ""},
		{"GET", "/api/webhooks/endpoints/not-a-uuid", "", "", 400, apikit.CodeValidation, "id"},
		{"GET", "/api/webhooks/endpoints/6f1c8a1e-0000-4000-8000-000000000000", "", "", 404, apikit.CodeNotFound, ""},
		{"DELETE", "/api/webhooks/endpoints/6f1c8a1e-0000-4000-8000-000000000000", "", "", 404, apikit.CodeNotFound, ""},
		{"POST", "/api/webhooks/endpoints/" + id + "/rotate-secret", `{"graceSeconds":-1}`, "application/json", 400, apikit.CodeValidation, "graceSeconds"},
		{"PATCH", "/api/webhooks/endpoints/" + id, `{"description":` + fmt.Sprintf("%q", strings.Repeat("x", 501)) + `}`, "application/json", 400, apikit.CodeValidation, "description"},
		{"GET", "/api/webhooks/endpoints?verbose=1", "", "", 400, apikit.CodeValidation, "verbose"},
	}
	for _, c := range bad {
		headers := []string{"Authorization", "Bearer " + hooksKey}
		var body *strings.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
			headers = append(headers, "Content-Type", c.contentType)
		}
		var r response
		if body != nil {
			r = h.do(t, c.method, c.path, body, headers...)
		} else {
			r = h.do(t, c.method, c.path, nil, headers...)
		}
		if r.status != c.status || errorOf(t, r) != c.code {
			t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, r.status, r.raw)
			continue
		}
		if c.field != "" {
			if f := r.body["error"].(map[string]any)["details"].(map[string]any)["field"]; f != c.field {
				t.Errorf("%s %s %s: field %v, want %s", c.method, c.path, c.body, f, c.field)
			}
		}
	}

	r = h.admin(t, "POST", "/api/webhooks/endpoints/"+id+"/rotate-secret", `{"graceSeconds":3600}`)
	rotated := data(t, r)
	if r.status != 200 || rotated["secret"] == secret || !strings.HasPrefix(rotated["secret"].(string), "whsec_") ||
		rotated["previousSecretExpiresAt"] != now.Add(time.Hour).Format(time.RFC3339) {
		t.Fatalf("rotate: %d %s", r.status, r.raw)
	}
	if r := h.admin(t, "POST", "/api/webhooks/endpoints/"+id+"/rotate-secret", ""); r.status != 200 {
		t.Fatalf("rotate with the default grace: %d %s", r.status, r.raw)
	}

	r = h.admin(t, "PATCH", "/api/webhooks/endpoints/"+id, `{"enabled":false}`)
	if d := data(t, r); r.status != 200 || d["enabled"] != false || d["disabledReason"] == "" {
		t.Fatalf("disable: %d %s", r.status, r.raw)
	}
	if r := h.admin(t, "POST", "/api/webhooks/endpoints/"+id+"/recover", `{"since":1}`); r.status != 409 || errorOf(t, r) != apikit.CodeConflict {
		t.Fatalf("recover while disabled: %d %s", r.status, r.raw)
	}
	if r := h.admin(t, "PATCH", "/api/webhooks/endpoints/"+id, `{"enabled":true}`); r.status != 200 || data(t, r)["enabled"] != true {
		t.Fatalf("enable: %d %s", r.status, r.raw)
	}

	if r := h.admin(t, "DELETE", "/api/webhooks/endpoints/"+id, ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if r := h.admin(t, "GET", "/api/webhooks/endpoints/"+id, ""); r.status != 404 {
		t.Fatalf("after delete: %d %s", r.status, r.raw)
	}
}

func TestWebhookRecoverRanges(t *testing.T) {
	h, _ := newWebhooksHarness(t)
	id := data(t, h.admin(t, "POST", "/api/webhooks/endpoints", `{"url":"https://hooks.example.com/x"}`))["id"].(string)
	path := "/api/webhooks/endpoints/" + id + "/recover"
	for body, field := range map[string]string{
		`{}`:                    "since",
		`{"since":"yesterday"}`: "since",
		`{"since":0}`:           "since",
		`{"since":10,"until":"2026-01-01T00:00:00Z"}`:                     "until",
		`{"since":20,"until":10}`:                                         "until",
		`{"since":"2026-01-02T00:00:00Z","until":"2026-01-01T00:00:00Z"}`: "until",
	} {
		r := h.admin(t, "POST", path, body)
		if r.status != 400 || errorOf(t, r) != apikit.CodeValidation || r.body["error"].(map[string]any)["details"].(map[string]any)["field"] != field {
			t.Errorf("%s: %d %s, want a 400 naming %s", body, r.status, r.raw, field)
		}
	}
	for _, body := range []string{`{"since":10}`, `{"since":"10","until":"20"}`, `{"since":"2026-01-01T00:00:00Z","until":"2026-01-02T00:00:00Z"}`} {
		r := h.admin(t, "POST", path, body)
		if r.status != 202 || data(t, r)["queued"] != float64(0) {
			t.Errorf("%s: %d %s", body, r.status, r.raw)
		}
	}
}

func TestWebhookDeliveriesListing(t *testing.T) {
	h, store := newWebhooksHarness(t)
	ctx := context.Background()
	ep := data(t, h.admin(t, "POST", "/api/webhooks/endpoints", `{"url":"https://hooks.example.com/x"}`))["id"].(string)
	var jobs []webhooks.Job
	for i := range 5 {
		jobs = append(jobs, webhooks.Job{ID: domain.DerivedEventUUID("d", fmt.Sprint(i)), EndpointID: ep,
			EventID: domain.DerivedEventUUID("e", fmt.Sprint(i)), EventType: fluxora.WebhookStreamCreated, Body: []byte(`{}`)})
	}
	if err := store.Enqueue(ctx, jobs, now); err != nil {
		t.Fatal(err)
	}
	failed := webhooks.Attempt{DeliveryID: jobs[0].ID, Number: 8, At: now, Status: 500, Latency: 42 * time.Millisecond,
		Response: "boom", Outcome: webhooks.Retry}
	if err := store.Finish(ctx, jobs[0].ID, failed, webhooks.Dead, time.Time{}); err != nil {
		t.Fatal(err)
	}

	var seen []string
	next := ""
	for page := 0; ; page++ {
		path := "/api/webhooks/deliveries?limit=2"
		if next != "" {
			path += "&cursor=" + next
		}
		r := h.admin(t, "GET", path, "")
		if r.status != 200 {
			t.Fatalf("page %d: %d %s", page, r.status, r.raw)
		}
		for _, d := range r.body["data"].([]any) {
			seen = append(seen, d.(map[string]any)["id"].(string))
		}
		p := r.body["page"].(map[string]any)
		if p["hasMore"] != true {
			break
		}
		next = p["nextCursor"].(string)
	}
	want := []string{jobs[4].ID, jobs[3].ID, jobs[2].ID, jobs[1].ID, jobs[0].ID}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("pages: %v, want newest first %v", seen, want)
	}

	r := h.admin(t, "GET", "/api/webhooks/deliveries?status=dead&endpointId="+ep, "")
	if list := r.body["data"].([]any); r.status != 200 || len(list) != 1 || list[0].(map[string]any)["id"] != jobs[0].ID ||
		list[0].(map[string]any)["nextAttemptAt"] != nil {
		t.Fatalf("dead ones: %d %s", r.status, r.raw)
	}
	r = h.admin(t, "GET", "/api/webhooks/deliveries?eventId="+jobs[3].EventID, "")
	if list := r.body["data"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != jobs[3].ID {
		t.Fatalf("by event: %s", r.raw)
	}
	for query, field := range map[string]string{"status=failed": "status", "eventId=x": "eventId", "endpointId=x": "endpointId",
		"limit=0": "limit", "cursor=forged": "cursor", "sort=asc": "sort"} {
		r := h.admin(t, "GET", "/api/webhooks/deliveries?"+query, "")
		if r.status != 400 || r.body["error"].(map[string]any)["details"].(map[string]any)["field"] != field {
			t.Errorf("?%s: %d %s", query, r.status, r.raw)
		}
	}
	// A cursor of one filter is not accepted by another.
	r = h.admin(t, "GET", "/api/webhooks/deliveries?limit=1", "")
	cursor := r.body["page"].(map[string]any)["nextCursor"].(string)
	if r := h.admin(t, "GET", "/api/webhooks/deliveries?status=pending&cursor="+cursor, ""); r.status != 400 {
		t.Fatalf("a cursor moved to another filter: %d", r.status)
	}

	r = h.admin(t, "GET", "/api/webhooks/deliveries/"+jobs[0].ID, "")
	d := data(t, r)
	log := d["attemptLog"].([]any)
	if r.status != 200 || d["status"] != "dead" || len(log) != 1 || log[0].(map[string]any)["latencyMs"] != float64(42) ||
		log[0].(map[string]any)["response"] != "boom" {
		t.Fatalf("one delivery: %d %s", r.status, r.raw)
	}
	r = h.admin(t, "POST", "/api/webhooks/deliveries/"+jobs[0].ID+"/redeliver", "")
	if d := data(t, r); r.status != 202 || d["status"] != "pending" || d["nextAttemptAt"] == nil {
		t.Fatalf("redeliver: %d %s", r.status, r.raw)
	}
	if r := h.admin(t, "POST", "/api/webhooks/deliveries/"+domain.DerivedEventUUID("d", "none")+"/redeliver", ""); r.status != 404 {
		t.Fatalf("redeliver an unknown delivery: %d %s", r.status, r.raw)
	}
}

func TestWebhookRoutesWithoutWebhooks(t *testing.T) {
	h := newHarness(t, func(c *testConfig) {
		c.APIKeys = append(c.APIKeys, APIKey{Key: hooksKey, ClientID: "ops", Scopes: []string{ScopeWebhooksAdmin}})
	})
	if r := h.admin(t, "GET", "/api/webhooks/endpoints", ""); r.status != 404 || errorOf(t, r) != apikit.CodeNotFound {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}
