// Package webhookstest is an API consumer's webhook endpoint for tests: a local HTTP server that verifies every
// delivery with signature.Verify, as a consumer must, and keeps what it was sent.
package webhookstest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	api "github.com/streamledger/streamledger/http"
	"github.com/streamledger/streamledger/http/escrowsapi"
	"github.com/streamledger/streamledger/http/streamsapi"
	"github.com/streamledger/streamledger/webhooks"
	"github.com/streamledger/streamledger/webhooks/signature"
)

// Receiver accepts deliveries signed with its secret and refuses the rest.
type Receiver struct {
	srv *httptest.Server

	// arrived, when set, is called with every verified delivery as it arrives, before it is acknowledged.
	arrived func(webhooks.Payload)

	// doc is the API's OpenAPI document (with the stream module's fragment) that payloads are held to.
	doc *openapi3.T

	mu        sync.Mutex
	secret    string
	payloads  []webhooks.Payload
	arrivals  map[string]int // by delivery id
	refused   int
	offSchema []string // why payloads failed the OpenAPI webhook schema
}

// NewReceiver starts a receiver; Close stops it.
func NewReceiver() *Receiver { return NewReceiverFunc(nil) }

// NewReceiverFunc starts a receiver that calls arrived with every verified delivery as it arrives (to record what
// was true then).
func NewReceiverFunc(arrived func(webhooks.Payload)) *Receiver {
	doc, err := api.LoadOpenAPI(streamsapi.OpenAPI(), escrowsapi.OpenAPI())
	if err != nil {
		panic(err) // the embedded documents are checked by the http tests
	}
	r := &Receiver{arrivals: map[string]int{}, arrived: arrived, doc: doc}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// URL is where the receiver listens.
func (r *Receiver) URL() string { return r.srv.URL }

// Close stops the receiver.
func (r *Receiver) Close() { r.srv.Close() }

// SetSecret is the endpoint secret registration returned; deliveries must be signed with it.
func (r *Receiver) SetSecret(secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = secret
}

// serve verifies and records a delivery. Only the bookkeeping holds the lock: concurrent deliveries are verified,
// checked against the schema and told to the arrival hook side by side, as a real consumer would take them.
func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	secret := r.secret
	r.mu.Unlock()
	d, err := signature.Verify(req, signature.VerifyConfig{Secrets: []string{secret}})
	if err != nil {
		r.count(func() { r.refused++ })
		w.WriteHeader(err.(*signature.VerifyError).Status)
		return
	}
	// Every payload is held to the OpenAPI document's webhook schema, as a consumer generating its types would.
	if err := api.ValidateWebhookPayload(r.doc, d.Body); err != nil {
		r.count(func() { r.offSchema = append(r.offSchema, err.Error()) })
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var p webhooks.Payload
	if err := json.Unmarshal(d.Body, &p); err != nil {
		r.count(func() { r.refused++ })
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	// The hook runs before the delivery is recorded and acknowledged: what it notes is what held on arrival.
	if r.arrived != nil {
		r.arrived(p)
	}
	r.count(func() {
		r.arrivals[d.ID]++
		r.payloads = append(r.payloads, p)
	})
}

func (r *Receiver) count(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}

// Payloads are the verified deliveries, in the order they arrived.
func (r *Receiver) Payloads() []webhooks.Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]webhooks.Payload(nil), r.payloads...)
}

// OffSchema are the reasons verified payloads failed the OpenAPI document's webhook schema.
func (r *Receiver) OffSchema() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.offSchema...)
}

// Refused is how many requests failed verification.
func (r *Receiver) Refused() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused
}

// Repeated are the delivery ids that arrived more than once, with their counts.
func (r *Receiver) Repeated() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for id, n := range r.arrivals {
		if n > 1 {
			out[id] = n
		}
	}
	return out
}
