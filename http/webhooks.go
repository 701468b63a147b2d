package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/webhooks"
)

// WebhookService is the webhooks administration the API exposes (scope webhooks:admin).
type WebhookService interface {
	Register(ctx context.Context, req webhooks.NewEndpoint) (webhooks.Endpoint, error)
	Endpoint(ctx context.Context, id string) (webhooks.Endpoint, error)
	Endpoints(ctx context.Context) ([]webhooks.Endpoint, error)
	Remove(ctx context.Context, id string) error
	Change(ctx context.Context, id string, ch webhooks.EndpointChange) (webhooks.Endpoint, error)
	Rotate(ctx context.Context, id string, grace time.Duration) (webhooks.Endpoint, error)
	Deliveries(ctx context.Context, f webhooks.DeliveryFilter, limit int) ([]webhooks.Job, error)
	Delivery(ctx context.Context, id string) (webhooks.Job, error)
	Redeliver(ctx context.Context, id string) (webhooks.Job, error)
	Recover(ctx context.Context, id string, r webhooks.Range) (int, error)
}

func (s *Server) routeWebhooks() {
	admin, on := s.require(ScopeWebhooksAdmin), s.webhooksOn
	s.app.Post("/api/webhooks/endpoints", admin, on, s.registerEndpoint)
	s.app.Get("/api/webhooks/endpoints", admin, on, s.listEndpoints)
	s.app.Get("/api/webhooks/endpoints/:id", admin, on, s.getEndpoint)
	s.app.Patch("/api/webhooks/endpoints/:id", admin, on, s.changeEndpoint)
	s.app.Delete("/api/webhooks/endpoints/:id", admin, on, s.removeEndpoint)
	s.app.Post("/api/webhooks/endpoints/:id/rotate-secret", admin, on, s.rotateSecret)
	s.app.Post("/api/webhooks/endpoints/:id/recover", admin, on, s.recoverEndpoint)
	s.app.Get("/api/webhooks/deliveries", admin, on, s.listDeliveries)
	s.app.Get("/api/webhooks/deliveries/:id", admin, on, s.getDelivery)
	s.app.Post("/api/webhooks/deliveries/:id/redeliver", admin, on, s.redeliver)
}

// webhookError answers the webhooks service's errors with the envelope.
func webhookError(err error) error {
	var invalid *webhooks.InvalidError
	switch {
	case errors.As(err, &invalid):
		return apikit.Invalid(invalid.Field, invalid.Reason)
	case errors.Is(err, webhooks.ErrNotFound):
		return apikit.New(fiber.StatusNotFound, apikit.CodeNotFound, err.Error())
	case errors.Is(err, webhooks.ErrDisabled):
		return apikit.New(fiber.StatusConflict, apikit.CodeConflict, err.Error()+"; enable it first (PATCH enabled=true)")
	}
	return err
}

// webhooksOn answers the webhooks routes with 404 on a server without webhooks.
func (s *Server) webhooksOn(c *fiber.Ctx) error {
	if s.cfg.Webhooks == nil {
		return apikit.New(fiber.StatusNotFound, apikit.CodeNotFound, "webhooks are not enabled on this server")
	}
	return c.Next()
}

// pathID is the :id of a webhooks route: endpoint and delivery ids are UUIDs.
func pathID(c *fiber.Ctx) (string, error) {
	id := c.Params("id")
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return "", apikit.Invalid("id", "must be a UUID")
	}
	return strings.ToLower(id), nil
}

// decodeBody decodes a JSON request body into v, refusing other media types and unknown fields. An empty body
// decodes to v's zero value when emptyOK.
func decodeBody(c *fiber.Ctx, v any, emptyOK bool) error {
	body := c.Body()
	if emptyOK && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) {
		return apikit.New(fiber.StatusUnsupportedMediaType, apikit.CodeUnsupported, "send application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apikit.Invalid("body", "malformed JSON: "+err.Error())
	}
	if dec.More() {
		return apikit.Invalid("body", "one JSON object expected")
	}
	return nil
}

// endpointWithSecret is an endpoint with the secret it signs with: only in the responses that create one.
type endpointWithSecret struct {
	webhooks.Endpoint
	Secret string `json:"secret"`
}

type registerRequest struct {
	URL             *string  `json:"url"`
	EventTypes      []string `json:"eventTypes"`
	ExtraSignatures []string `json:"extraSignatures"`
	Description     string   `json:"description"`
	Enabled         *bool    `json:"enabled"`
}

func (s *Server) registerEndpoint(c *fiber.Ctx) error {
	var req registerRequest
	if err := decodeBody(c, &req, false); err != nil {
		return err
	}
	if req.URL == nil {
		return apikit.Invalid("url", "required")
	}
	enabled := req.Enabled == nil || *req.Enabled
	e, err := s.cfg.Webhooks.Register(c.UserContext(), webhooks.NewEndpoint{URL: *req.URL, EventTypes: req.EventTypes, ExtraSignatures: req.ExtraSignatures,
		Description: req.Description, Enabled: enabled})
	if err != nil {
		return webhookError(err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"data": endpointWithSecret{Endpoint: e, Secret: e.Secret}})
}

func (s *Server) listEndpoints(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c); err != nil {
		return err
	}
	list, err := s.cfg.Webhooks.Endpoints(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"data": list})
}

func (s *Server) getEndpoint(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	e, err := s.cfg.Webhooks.Endpoint(c.UserContext(), id)
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(fiber.Map{"data": e})
}

type changeRequest struct {
	Enabled     *bool   `json:"enabled"`
	Description *string `json:"description"`
}

func (s *Server) changeEndpoint(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req changeRequest
	if err := decodeBody(c, &req, false); err != nil {
		return err
	}
	e, err := s.cfg.Webhooks.Change(c.UserContext(), id, webhooks.EndpointChange{Enabled: req.Enabled, Description: req.Description})
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(fiber.Map{"data": e})
}

func (s *Server) removeEndpoint(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.cfg.Webhooks.Remove(c.UserContext(), id); err != nil {
		return webhookError(err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type rotateRequest struct {
	GraceSeconds *int64 `json:"graceSeconds"`
}

func (s *Server) rotateSecret(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req rotateRequest
	if err := decodeBody(c, &req, true); err != nil {
		return err
	}
	grace := webhooks.DefaultRotationGrace
	if req.GraceSeconds != nil {
		if *req.GraceSeconds < 0 || *req.GraceSeconds > int64(webhooks.MaxRotationGrace.Seconds()) {
			return apikit.Invalid("graceSeconds", fmt.Sprintf("must be between 0 and %d", int64(webhooks.MaxRotationGrace.Seconds())))
		}
		grace = time.Duration(*req.GraceSeconds) * time.Second
	}
	e, err := s.cfg.Webhooks.Rotate(c.UserContext(), id, grace)
	if err != nil {
		return webhookError(err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"data": endpointWithSecret{Endpoint: e, Secret: e.Secret}})
}

type recoverRequest struct {
	Since json.RawMessage `json:"since"`
	Until json.RawMessage `json:"until"`
}

// rangeBound reads a ledger sequence (a JSON number, or a string of digits) or an RFC 3339 time.
func rangeBound(field string, raw json.RawMessage) (ledger uint32, at time.Time, err error) {
	bad := apikit.Invalid(field, "must be a ledger sequence or an RFC 3339 time")
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		text = string(raw)
	}
	if n, err := strconv.ParseUint(text, 10, 32); err == nil {
		if n == 0 {
			return 0, time.Time{}, apikit.Invalid(field, "ledger sequences start at 1")
		}
		return uint32(n), time.Time{}, nil
	}
	t, perr := time.Parse(time.RFC3339Nano, text)
	if perr != nil {
		return 0, time.Time{}, bad
	}
	return 0, t, nil
}

func parseRange(req recoverRequest) (webhooks.Range, error) {
	var r webhooks.Range
	if len(req.Since) == 0 || string(req.Since) == "null" {
		return r, apikit.Invalid("since", "required: a ledger sequence or an RFC 3339 time")
	}
	var err error
	if r.SinceLedger, r.Since, err = rangeBound("since", req.Since); err != nil {
		return r, err
	}
	if len(req.Until) == 0 || string(req.Until) == "null" {
		return r, nil
	}
	if r.UntilLedger, r.Until, err = rangeBound("until", req.Until); err != nil {
		return r, err
	}
	switch {
	case (r.SinceLedger == 0) != (r.UntilLedger == 0):
		return r, apikit.Invalid("until", "must be of the same kind as since (both ledgers or both times)")
	case r.UntilLedger != 0 && r.UntilLedger < r.SinceLedger, !r.Until.IsZero() && r.Until.Before(r.Since):
		return r, apikit.Invalid("until", "must not be before since")
	}
	return r, nil
}

func (s *Server) recoverEndpoint(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req recoverRequest
	if err := decodeBody(c, &req, false); err != nil {
		return err
	}
	r, err := parseRange(req)
	if err != nil {
		return err
	}
	n, err := s.cfg.Webhooks.Recover(c.UserContext(), id, r)
	if err != nil {
		return webhookError(err)
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"data": fiber.Map{"endpointId": id, "queued": n}})
}

// deliveryView is a delivery as the API shows it; the attempt log only on the delivery's own route.
type deliveryView struct {
	ID            string        `json:"id"`
	EndpointID    string        `json:"endpointId"`
	EventID       string        `json:"eventId"`
	EventType     string        `json:"eventType"`
	Status        string        `json:"status"`
	Attempts      int           `json:"attempts"`
	CreatedAt     time.Time     `json:"createdAt"`
	NextAttemptAt *time.Time    `json:"nextAttemptAt"`
	Log           []attemptView `json:"attemptLog,omitempty"`
}

type attemptView struct {
	Attempt      int       `json:"attempt"`
	At           time.Time `json:"at"`
	Status       int       `json:"status,omitempty"`
	LatencyMs    int64     `json:"latencyMs"`
	Response     string    `json:"response,omitempty"`
	Error        string    `json:"error,omitempty"`
	Outcome      string    `json:"outcome"`
	RetryAfterMs int64     `json:"retryAfterMs,omitempty"`
}

func newDeliveryView(j webhooks.Job, withLog bool) deliveryView {
	v := deliveryView{ID: j.ID, EndpointID: j.EndpointID, EventID: j.EventID, EventType: j.EventType, Status: string(j.State),
		Attempts: j.Attempts, CreatedAt: j.CreatedAt.UTC()}
	if j.State == webhooks.Pending {
		next := j.NextAt.UTC()
		v.NextAttemptAt = &next
	}
	if withLog {
		v.Log = []attemptView{}
		for _, a := range j.Log {
			v.Log = append(v.Log, attemptView{Attempt: a.Number, At: a.At.UTC(), Status: a.Status, LatencyMs: a.Latency.Milliseconds(),
				Response: a.Response, Error: a.Error, Outcome: string(a.Outcome), RetryAfterMs: a.RetryAfter.Milliseconds()})
		}
	}
	return v
}

var deliveryStates = []string{string(webhooks.Pending), string(webhooks.Succeeded), string(webhooks.Dead), string(webhooks.Disabled)}

// listDeliveries lists deliveries newest first, filtered by endpoint, status and event, keyset-paginated.
func (s *Server) listDeliveries(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "endpointId", "status", "eventId", "limit", "cursor"); err != nil {
		return err
	}
	f := webhooks.DeliveryFilter{EndpointID: c.Query("endpointId"), State: webhooks.JobState(c.Query("status")),
		EventID: c.Query("eventId")}
	for field, v := range map[string]string{"endpointId": f.EndpointID, "eventId": f.EventID} {
		if _, err := uuid.Parse(v); v != "" && (err != nil || len(v) != 36) {
			return apikit.Invalid(field, "must be a UUID")
		}
	}
	if f.State != "" && !slices.Contains(deliveryStates, string(f.State)) {
		return apikit.Invalid("status", fmt.Sprintf("must be one of %v", deliveryStates))
	}
	limit, err := apikit.ParseLimit(c)
	if err != nil {
		return err
	}
	scope := fmt.Sprintf("deliveries|%s|%s|%s", f.EndpointID, f.State, f.EventID)
	if raw := c.Query("cursor"); raw != "" {
		if err := s.cursors.Decode(scope, raw, &f.BeforeSeq); err != nil {
			return err
		}
	}
	jobs, err := s.cfg.Webhooks.Deliveries(c.UserContext(), f, limit+1)
	if err != nil {
		return err
	}
	info := apikit.PageInfo{Limit: limit, HasMore: len(jobs) > limit}
	if info.HasMore {
		jobs = jobs[:limit]
		next, err := s.cursors.Encode(scope, jobs[len(jobs)-1].Seq)
		if err != nil {
			return err
		}
		info.NextCursor = &next
	}
	views := make([]deliveryView, len(jobs))
	for i, j := range jobs {
		views[i] = newDeliveryView(j, false)
	}
	return c.JSON(fiber.Map{"data": views, "page": info})
}

func (s *Server) getDelivery(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	j, err := s.cfg.Webhooks.Delivery(c.UserContext(), id)
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(fiber.Map{"data": newDeliveryView(j, true)})
}

func (s *Server) redeliver(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	j, err := s.cfg.Webhooks.Redeliver(c.UserContext(), id)
	if err != nil {
		return webhookError(err)
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"data": newDeliveryView(j, true)})
}
