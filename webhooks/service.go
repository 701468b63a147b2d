package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/outbox"
	"github.com/streamledger/streamledger/webhooks/signature"
)

// ErrDisabled means an operation needs an enabled endpoint.
var ErrDisabled = errors.New("the endpoint is disabled")

// InvalidError is a request the service refuses, naming the field at fault.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Log is the event log as the service uses it: registrations are events, payloads are read from stored events.
type Log interface {
	Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.NewEvent) (eventstore.AppendResult, error)
	ReadStream(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error)
	ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error)
}

// Outbox is the outbox projection's messages.
type Outbox interface {
	MessagesAfter(ctx context.Context, after outbox.Cursor, limit int) ([]outbox.Message, error)
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Store  Store
	Log    Log
	Outbox Outbox
	// Margin is SAFETY_MARGIN: what is final, for recovery (the outbox applies it to everything else).
	Margin uint32
	// Ledgers, the ledger index, lets a recovery read the log from its range's start; without it, a recovery
	// reads the whole log.
	Ledgers LedgerIndex
	// Subjects say what each event is about, for its payload (a stream, an escrow): the modules', asked in turn;
	// required.
	Subjects []Subjects
	// EventTypes are the webhook types the modules' events announce (domain.Announced): what endpoints may
	// subscribe to.
	EventTypes []string
	// Codec decodes the stored events (DESIGN §12); required.
	Codec  projections.Codec
	Now    func() time.Time
	Logger *slog.Logger
}

// LedgerIndex says where in the log the events of a range of ledgers begin (ledgers.Memory and ledgers.Postgres).
type LedgerIndex interface {
	Start(ctx context.Context, seq uint32, since time.Time) (eventstore.Position, error)
}

// Service runs webhooks for serve: the endpoint registry (registrations are events in the log, secrets stay in
// the Store), the dispatch of the outbox into deliveries, redelivery and recovery.
type Service struct {
	cfg ServiceConfig
}

// NewService checks the configuration.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Store == nil || cfg.Log == nil || cfg.Outbox == nil {
		return nil, errors.New("webhooks: a store, the event log and the outbox are required")
	}
	if len(cfg.EventTypes) == 0 {
		return nil, errors.New("webhooks: the modules' event types are required (endpoints subscribe to them)")
	}
	if cfg.Codec == nil {
		return nil, fmt.Errorf("webhooks: %w", projections.ErrNoCodec)
	}
	if len(cfg.Subjects) == 0 {
		return nil, errors.New("webhooks: the modules' payload subjects are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}, nil
}

// NewEndpoint is a registration request.
type NewEndpoint struct {
	URL             string
	EventTypes      []string
	ExtraSignatures []string
	Description     string
	Enabled         bool
}

// Limits of what a registration may carry.
const (
	maxURLLength         = 2048
	maxDescriptionLength = 500
	// DefaultRotationGrace is how long a rotated-out secret keeps signing unless the request says otherwise.
	DefaultRotationGrace = 24 * time.Hour
	// MaxRotationGrace bounds the grace window: an old secret must stop working at some point.
	MaxRotationGrace = 30 * 24 * time.Hour
)

func checkURL(raw string) error {
	if len(raw) > maxURLLength {
		return invalid("url", "longer than %d characters", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "" {
		return invalid("url", "must be an absolute http or https URL")
	}
	if u.User != nil {
		return invalid("url", "must not carry credentials; deliveries are authenticated by their signature")
	}
	if u.Fragment != "" {
		return invalid("url", "must not have a fragment")
	}
	return nil
}

func (s *Service) checkEventTypes(types []string) ([]string, error) {
	known := s.cfg.EventTypes
	out := []string{}
	for i, t := range types {
		if !slices.Contains(known, t) {
			return nil, invalid(fmt.Sprintf("eventTypes[%d]", i), "unknown event type %q (one of %v)", t, known)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Register adds an endpoint with a new secret, which the returned Endpoint carries: the only time it is shown.
// The registration is an event in the log (the outbox routes events to endpoints from there); the endpoint is
// stored first, so that no message is ever routed to an endpoint the store does not know.
func (s *Service) Register(ctx context.Context, req NewEndpoint) (Endpoint, error) {
	if err := checkURL(req.URL); err != nil {
		return Endpoint{}, err
	}
	types, err := s.checkEventTypes(req.EventTypes)
	if err != nil {
		return Endpoint{}, err
	}
	if len(req.Description) > maxDescriptionLength {
		return Endpoint{}, invalid("description", "longer than %d characters", maxDescriptionLength)
	}
	for _, scheme := range req.ExtraSignatures {
		if scheme != signature.SchemeLiquiFact {
			return Endpoint{}, invalid("extraSignatures", "unknown scheme %q (known: %s)", scheme, signature.SchemeLiquiFact)
		}
	}
	e := Endpoint{ID: uuid.NewString(), URL: req.URL, EventTypes: types, ExtraSignatures: slices.Compact(slices.Sorted(slices.Values(req.ExtraSignatures))), Description: req.Description, Enabled: req.Enabled,
		CreatedAt: s.cfg.Now().UTC().Truncate(time.Microsecond), Secret: signature.GenerateSecret()}
	if err := s.cfg.Store.AddEndpoint(ctx, e); err != nil {
		return Endpoint{}, err
	}
	added := &domain.WebhookEndpointAdded{EndpointID: e.ID, URL: e.URL, EventTypes: e.EventTypes, Description: e.Description,
		ExtraSignatures: e.ExtraSignatures}
	if err := s.appendRegistry(ctx, "added", e.ID, added); err != nil {
		if rmErr := s.cfg.Store.RemoveEndpoint(ctx, e.ID); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("undo the registration: %w", rmErr))
		}
		return Endpoint{}, err
	}
	s.cfg.Logger.Info("webhook endpoint registered", "endpointId", e.ID, "url", e.URL, "eventTypes", e.EventTypes)
	return e, nil
}

func (s *Service) appendRegistry(ctx context.Context, what, endpointID string, ev domain.Event) error {
	data, err := domain.Marshal(ev)
	if err != nil {
		return err
	}
	id := domain.DerivedEventUUID("webhook-endpoint", what, endpointID)
	_, err = s.cfg.Log.Append(ctx, domain.WebhookEndpointsStream, eventstore.Any,
		eventstore.NewEvent{ID: id, Type: string(ev.Type()), Data: data})
	if err != nil {
		return fmt.Errorf("record endpoint %s %s: %w", endpointID, what, err)
	}
	return nil
}

// Endpoint returns a registered endpoint.
func (s *Service) Endpoint(ctx context.Context, id string) (Endpoint, error) {
	e, ok, err := s.cfg.Store.Endpoint(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	if !ok {
		return Endpoint{}, fmt.Errorf("endpoint %s: %w", id, ErrNotFound)
	}
	return e, nil
}

// Endpoints lists the registered endpoints.
func (s *Service) Endpoints(ctx context.Context) ([]Endpoint, error) {
	return s.cfg.Store.ListEndpoints(ctx)
}

// Remove unregisters an endpoint: the removal is recorded first, so that the outbox stops routing to it before its
// secret is forgotten; its pending deliveries end as disabled.
func (s *Service) Remove(ctx context.Context, id string) error {
	if _, err := s.Endpoint(ctx, id); err != nil {
		return err
	}
	if err := s.appendRegistry(ctx, "removed", id, &domain.WebhookEndpointRemoved{EndpointID: id}); err != nil {
		return err
	}
	if err := s.cfg.Store.RemoveEndpoint(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	s.cfg.Logger.Info("webhook endpoint removed", "endpointId", id)
	return nil
}

// EndpointChange is a change to an endpoint's settings; nil fields stay as they are.
type EndpointChange struct {
	Enabled     *bool
	Description *string
}

// Change applies a change to an endpoint. Enabling clears the reason it was disabled.
func (s *Service) Change(ctx context.Context, id string, ch EndpointChange) (Endpoint, error) {
	e, err := s.Endpoint(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	if ch.Description != nil {
		if len(*ch.Description) > maxDescriptionLength {
			return Endpoint{}, invalid("description", "longer than %d characters", maxDescriptionLength)
		}
		e.Description = *ch.Description
	}
	if ch.Enabled != nil {
		e.Enabled = *ch.Enabled
		if e.Enabled {
			e.DisabledReason = ""
		} else {
			e.DisabledReason = "disabled by an operator"
		}
	}
	if err := s.cfg.Store.UpdateEndpoint(ctx, e); err != nil {
		return Endpoint{}, err
	}
	return e, nil
}

// Rotate gives an endpoint a new secret (returned, shown once); the old one keeps signing beside it for grace.
func (s *Service) Rotate(ctx context.Context, id string, grace time.Duration) (Endpoint, error) {
	if grace < 0 || grace > MaxRotationGrace {
		return Endpoint{}, invalid("graceSeconds", "must be between 0 and %d", int(MaxRotationGrace.Seconds()))
	}
	e, err := s.Endpoint(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	e.PreviousSecret, e.PreviousUntil, e.Secret = e.Secret, s.cfg.Now().UTC().Add(grace).Truncate(time.Microsecond), signature.GenerateSecret()
	if grace == 0 {
		e.PreviousSecret, e.PreviousUntil = "", time.Time{}
	}
	if err := s.cfg.Store.UpdateEndpoint(ctx, e); err != nil {
		return Endpoint{}, err
	}
	s.cfg.Logger.Info("webhook secret rotated", "endpointId", id, "previousSecretExpiresAt", e.PreviousUntil)
	return e, nil
}

// Deliveries lists deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, f DeliveryFilter, limit int) ([]Job, error) {
	return s.cfg.Store.List(ctx, f, limit)
}

// Delivery returns a delivery with its attempt log.
func (s *Service) Delivery(ctx context.Context, id string) (Job, error) {
	j, ok, err := s.cfg.Store.Get(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if !ok {
		return Job{}, fmt.Errorf("delivery %s: %w", id, ErrNotFound)
	}
	return j, nil
}

// Redeliver queues a delivery again now, with its delivery id and exact body.
func (s *Service) Redeliver(ctx context.Context, id string) (Job, error) {
	if err := s.cfg.Store.Redeliver(ctx, id, s.cfg.Now()); err != nil {
		return Job{}, err
	}
	return s.Delivery(ctx, id)
}

// Range bounds a recovery by ledger or by ledger close time, both ends included; zero ends are open.
type Range struct {
	SinceLedger, UntilLedger uint32
	Since, Until             time.Time
}

func (r Range) ledgerOutside(l uint32) bool {
	return l < r.SinceLedger || (r.UntilLedger != 0 && l > r.UntilLedger)
}

func (r Range) timeOutside(t time.Time) bool {
	return (!r.Since.IsZero() && t.Before(r.Since)) || (!r.Until.IsZero() && t.After(r.Until))
}

// Recover queues, once each, every final event in r that the endpoint's filter matches and that it has not
// received: failed deliveries (dead or disabled) are queued again under their delivery id, events it never had a
// delivery for (from before it was registered) get one. Delivered and still pending ones are left alone. It
// replays the log as a registration from the beginning of time would have seen it, from where the ledger index
// says the range begins (outbox.Matching releases the same messages from there).
func (s *Service) Recover(ctx context.Context, id string, r Range) (int, error) {
	e, err := s.Endpoint(ctx, id)
	if err != nil {
		return 0, err
	}
	if !e.Enabled {
		return 0, fmt.Errorf("recover %s: %w", id, ErrDisabled)
	}
	var after eventstore.Position
	if s.cfg.Ledgers != nil {
		if after, err = s.cfg.Ledgers.Start(ctx, r.SinceLedger, r.Since); err != nil {
			return 0, fmt.Errorf("recover %s: %w", id, err)
		}
	}
	queued := 0
	now := s.cfg.Now()
	err = outbox.Matching(ctx, s.cfg.Log, s.cfg.Codec, s.cfg.Margin, e.Routing(), after, func(m outbox.Message) error {
		if r.ledgerOutside(m.Ledger) {
			return nil
		}
		j, ok, err := s.cfg.Store.Get(ctx, m.ID)
		if err != nil {
			return err
		}
		if ok {
			if j.State != Dead && j.State != Disabled || r.timeOutside(j.eventTime()) {
				return nil
			}
			queued++
			return s.cfg.Store.Redeliver(ctx, m.ID, now)
		}
		job, closedAt, err := s.job(ctx, m)
		if err != nil || r.timeOutside(closedAt) {
			return err
		}
		queued++
		return s.cfg.Store.Enqueue(ctx, []Job{job}, now)
	})
	if err != nil {
		return queued, fmt.Errorf("recover %s: %w", id, err)
	}
	s.cfg.Logger.Info("webhook deliveries recovered", "endpointId", id, "queued", queued)
	return queued, nil
}

// eventTime is the close time of the ledger of the event a job delivers, from its body.
func (j Job) eventTime() time.Time {
	var p struct {
		Timestamp time.Time `json:"timestamp"`
	}
	_ = json.Unmarshal(j.Body, &p)
	return p.Timestamp
}

// forgetter is an outbox that can drop the messages already dispatched (the one in memory).
type forgetter interface{ Forget(upTo outbox.Cursor) }

// dispatchBatch is how many outbox messages one dispatch step turns into deliveries.
const dispatchBatch = 500

// Dispatch turns the outbox's new messages into deliveries, in order, and returns how many it read. Messages to
// endpoints that are gone are passed over. A crash between queueing and moving the cursor queues the same
// delivery ids again, which the store ignores: nothing is lost or sent twice.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	after, err := s.cfg.Store.DispatchCursor(ctx)
	if err != nil {
		return 0, err
	}
	read := 0
	for {
		msgs, err := s.cfg.Outbox.MessagesAfter(ctx, after, dispatchBatch)
		if err != nil {
			return read, fmt.Errorf("read the outbox: %w", err)
		}
		if len(msgs) == 0 {
			return read, nil
		}
		// An event final for several endpoints is one payload, and an endpoint is looked up once per batch.
		jobs := make([]Job, 0, len(msgs))
		registered := map[string]bool{}
		events := map[string]PayloadData{}
		for _, m := range msgs {
			ok, seen := registered[m.EndpointID]
			if !seen {
				if _, ok, err = s.cfg.Store.Endpoint(ctx, m.EndpointID); err != nil {
					return read, err
				}
				registered[m.EndpointID] = ok
			}
			if !ok {
				continue
			}
			data, cached := events[m.EventID]
			if !cached {
				if data, err = s.payloadData(ctx, m); err != nil {
					return read, err
				}
				events[m.EventID] = data
			}
			j, err := jobOf(m, data)
			if err != nil {
				return read, err
			}
			jobs = append(jobs, j)
		}
		if err := s.cfg.Store.Enqueue(ctx, jobs, s.cfg.Now()); err != nil {
			return read, err
		}
		after = outbox.CursorOf(msgs[len(msgs)-1])
		if err := s.cfg.Store.SetDispatchCursor(ctx, after); err != nil {
			return read, err
		}
		if f, ok := s.cfg.Outbox.(forgetter); ok {
			f.Forget(after) // an outbox in memory need not keep what is dispatched
		}
		read += len(msgs)
	}
}

// RunDispatch dispatches every poll until ctx ends.
func (s *Service) RunDispatch(ctx context.Context, poll time.Duration) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		if _, err := s.Dispatch(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("webhook dispatch", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
