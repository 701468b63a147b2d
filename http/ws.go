package http

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/streamledger/streamledger/http/apikit"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/view"
	"github.com/streamledger/streamledger/projections"
)

// WebSocket limits (DESIGN §7).
const (
	wsMaxMessage   = 4096
	wsRateMessages = 30
	wsRateWindow   = 10 * time.Second
	wsSendBuffer   = 256
	wsPingEvery    = 30 * time.Second
	wsPongWait     = 75 * time.Second
	wsWriteWait    = 10 * time.Second
	// wsReadLimit is where a connection is dropped rather than answered: far beyond any valid message.
	wsReadLimit = 64 << 10
)

// LiveSource is the event store's live feed.
type LiveSource interface {
	SubscribeAll(ctx context.Context, from eventstore.Position) (<-chan eventstore.Recorded, <-chan error)
	Head(ctx context.Context) (eventstore.Position, error)
}

// hub fans the event log out to WebSocket clients. It owns one subscription to the store; each client owns one
// writer goroutine fed by a bounded channel (a client that cannot keep up is closed, never waited for).
type hub struct {
	s       *Server
	mu      sync.RWMutex
	clients map[*wsClient]struct{}
	count   atomic.Int64
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

type wsClient struct {
	conn   *websocket.Conn
	send   chan []byte
	closed chan struct{}
	once   sync.Once
	code   atomic.Int32 // close code chosen by whoever closes

	mu         sync.Mutex
	streams    map[domain.StreamRef]bool
	recipients map[domain.Address]bool
	status     bool                         // subscribed to the status feed
	replaying  map[domain.StreamRef][]wsOut // live messages held while a stream's history is replayed
	// replayedTo is where a finished replay stopped: the live feed can reach an event after the replay read it
	// from the store, and must not send it again.
	replayedTo map[domain.StreamRef]eventstore.Position
}

type wsOut struct {
	position eventstore.Position
	body     []byte
}

// start subscribes to the live log from its current head, and watches the service's health for notices.
func (h *hub) start() {
	h.clients = map[*wsClient]struct{}{}
	h.ctx, h.stop = context.WithCancel(context.Background())
	if h.s.cfg.Live == nil {
		return
	}
	if h.s.cfg.Ingestion != nil {
		h.wg.Go(h.watchHealth)
	}
	h.wg.Go(h.feedStatus)
	h.wg.Go(func() {
		for h.ctx.Err() == nil {
			head, err := h.s.cfg.Live.Head(h.ctx)
			if err == nil {
				err = h.follow(head)
			}
			if h.ctx.Err() == nil {
				h.s.cfg.Logger.Warn("websocket feed lost the event log; resubscribing", "err", err)
				select {
				case <-h.ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	})
}

// notice is the current service.degraded notice, or nil while ingestion is healthy.
func (h *hub) notice() []byte {
	st := h.s.cfg.Ingestion()
	status := "degraded"
	switch st.Health {
	case chain.HealthHealthy, chain.HealthStarting, chain.HealthBackfilling:
		return nil
	case chain.HealthHalted:
		status = "halted"
	}
	body, _ := json.Marshal(map[string]any{"type": "service.degraded", "status": status, "indexer": st.Health,
		"reason": st.HaltReason, "tipLedger": st.Tip})
	return body
}

// watchHealth tells every client when ingestion degrades or halts, and when it recovers (status ok).
func (h *hub) watchHealth() {
	tick := time.NewTicker(h.s.cfg.NoticeInterval)
	defer tick.Stop()
	var last []byte
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-tick.C:
		}
		cur := h.notice()
		if string(cur) == string(last) {
			continue
		}
		out := cur
		if cur == nil {
			out = []byte(`{"type":"service.degraded","status":"ok"}`)
		}
		last = cur
		h.mu.RLock()
		for c := range h.clients {
			c.enqueue(out)
		}
		h.mu.RUnlock()
	}
}

// statusMessage is the status feed's message: what /health says, typed.
func (h *hub) statusMessage() []byte {
	view := h.s.healthView()
	view["type"] = "status"
	body, _ := json.Marshal(view)
	return body
}

// feedStatus sends the service's health to the clients subscribed to the status feed, every StatusInterval.
func (h *hub) feedStatus() {
	tick := time.NewTicker(h.s.cfg.StatusInterval)
	defer tick.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-tick.C:
		}
		var body []byte
		h.mu.RLock()
		for c := range h.clients {
			c.mu.Lock()
			subscribed := c.status
			c.mu.Unlock()
			if !subscribed {
				continue
			}
			if body == nil {
				body = h.statusMessage()
			}
			c.enqueue(body)
		}
		h.mu.RUnlock()
	}
}

func (h *hub) follow(from eventstore.Position) error {
	events, errs := h.s.cfg.Live.SubscribeAll(h.ctx, from)
	for rec := range events {
		ev, err := projections.Decode(rec, h.s.cfg.Codec)
		if err != nil {
			h.s.cfg.Logger.Warn("websocket feed skips an undecodable event", "eventId", rec.ID, "err", err)
			continue
		}
		ref, ok := domain.StreamOf(ev.Domain)
		if !ok {
			continue
		}
		out, recipient := h.s.message(h.ctx, ref, ev)
		h.mu.RLock()
		for c := range h.clients {
			c.offer(ref, recipient, out)
		}
		h.mu.RUnlock()
	}
	return <-errs
}

// message renders an event for clients, with the stream's recipient (for recipient subscriptions).
func (s *Server) message(ctx context.Context, ref domain.StreamRef, ev projections.Event) (wsOut, domain.Address) {
	var recipient domain.Address
	var state any
	if st, ok, err := s.cfg.Streams.Get(ctx, ref); err == nil && ok {
		recipient = st.Recipient
		state = view.NewStream(st, s.cfg.Now().Truncate(time.Second), s.cfg.Decimals)
	}
	// Events that name the recipient are believed over a projection that may not have caught up with them.
	switch e := ev.Domain.(type) {
	case *domain.StreamCreated:
		recipient = e.Recipient
	case *domain.StreamCloned:
		recipient = e.Recipient
	case *domain.StreamWithdrawn:
		recipient = e.Recipient
	case *domain.StreamRecipientUpdated:
		recipient = e.NewRecipient
	}
	var raw struct {
		Event json.RawMessage `json:"event"`
	}
	_ = json.Unmarshal(ev.Data, &raw)
	msg := map[string]any{"streamId": ref.String(), "eventId": ev.ID, "position": ev.Position, "event": raw.Event,
		"stream": state}
	msg["type"] = "stream_update"
	if r, ok := ev.Domain.(*domain.EventReverted); ok {
		msg["type"] = "stream_reverted"
		msg["revertedEventId"] = r.RevertedEventID
		msg["ledger"] = r.RevertedLedger
		msg["final"] = false
	} else if r, ok := ev.Domain.(*domain.EventRestored); ok {
		// The chain came back to the branch of an event it had taken back: an update, the event standing again.
		msg["restoredEventId"] = r.RestoredEventID
		msg["ledger"] = r.RestoredLedger
		msg["final"] = false
	} else if ce, ok := ev.Domain.(domain.ChainEvent); ok {
		ledger := ce.ChainMetadata().Ledger
		msg["ledger"] = ledger
		final := false
		if s.cfg.Ingestion != nil {
			final = ledger <= s.cfg.Ingestion().LastSafeLedger
		}
		msg["final"] = final
	}
	body, _ := json.Marshal(msg)
	return wsOut{position: ev.Position, body: body}, recipient
}

// offer sends a live message to the client if it follows the stream or its recipient; while the stream's history
// is being replayed the message is held, so that the replay and the live feed neither miss nor repeat one.
func (c *wsClient) offer(ref domain.StreamRef, recipient domain.Address, out wsOut) {
	c.mu.Lock()
	wanted := c.streams[ref] || (recipient != "" && c.recipients[recipient])
	if held, replaying := c.replaying[ref]; replaying {
		c.replaying[ref] = append(held, out)
		c.mu.Unlock()
		return
	}
	if to, replayed := c.replayedTo[ref]; replayed {
		if out.position <= to {
			c.mu.Unlock()
			return
		}
		delete(c.replayedTo, ref) // the live feed is in order: it is past the replay for good
	}
	c.mu.Unlock()
	if wanted {
		c.enqueue(out.body)
	}
}

// enqueue hands a message to the writer; a full buffer means a slow consumer, which is closed.
func (c *wsClient) enqueue(body []byte) {
	select {
	case <-c.closed:
	case c.send <- body:
	default:
		c.close(websocket.CloseTryAgainLater)
	}
}

func (c *wsClient) close(code int) {
	c.once.Do(func() {
		c.code.Store(int32(code))
		close(c.closed)
	})
}

func (c *wsClient) errorMsg(code, message string) {
	body, _ := json.Marshal(map[string]string{"type": "error", "code": code, "message": message})
	c.enqueue(body)
}

// wsUpgrade admits WebSocket handshakes: auth when required, then the upgrade.
func (s *Server) wsUpgrade(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return apikit.New(fiber.StatusBadRequest, CodeValidation, "this route speaks WebSocket only")
	}
	if s.cfg.WSAuthRequired {
		key := presentedKey(c)
		if key == "" {
			key = protocolKey(c.Get(fiber.HeaderSecWebSocketProtocol))
		}
		if key == "" {
			key = c.Query("token")
		}
		sk, ok := s.keys.lookup(key)
		if key == "" || !ok {
			return apikit.New(fiber.StatusUnauthorized, CodeUnauthorized,
				"an API key is required (Authorization: Bearer, the subprotocol bearer.<base64url key>, or ?token=)")
		}
		if !sk.scopes[ScopeStreamsRead] {
			return apikit.New(fiber.StatusForbidden, CodeForbidden, "this key lacks the scope "+ScopeStreamsRead)
		}
	}
	return c.Next()
}

// wsProtocol is the subprotocol the server speaks. A browser cannot send headers with a WebSocket handshake, so the
// console offers it together with "bearer.<the API key, base64url without padding>" (Sec-WebSocket-Protocol),
// which keeps the key out of the URL, where proxies and access logs keep it. The server selects wsProtocol, never
// the key.
const wsProtocol = "streamledger.v1"

// protocolKey is the API key a Sec-WebSocket-Protocol header offers as bearer.<base64url>, if any.
func protocolKey(header string) string {
	for _, p := range strings.Split(header, ",") {
		if enc, ok := strings.CutPrefix(strings.TrimSpace(p), "bearer."); ok {
			if key, err := base64.RawURLEncoding.DecodeString(enc); err == nil {
				return string(key)
			}
		}
	}
	return ""
}

func newWSClient(conn *websocket.Conn) *wsClient {
	return &wsClient{conn: conn, send: make(chan []byte, wsSendBuffer), closed: make(chan struct{}),
		streams: map[domain.StreamRef]bool{}, recipients: map[domain.Address]bool{}, replaying: map[domain.StreamRef][]wsOut{},
		replayedTo: map[domain.StreamRef]eventstore.Position{}}
}

// serveWS runs one connection: this goroutine reads, one writer goroutine writes.
func (s *Server) serveWS(conn *websocket.Conn) {
	c := newWSClient(conn)
	h := &s.hub
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	h.count.Add(1)
	if h.s.cfg.Ingestion != nil { // a client that connects while the service is degraded is told at once
		if n := h.notice(); n != nil {
			c.enqueue(n)
		}
	}
	defer func() {
		h.mu.Lock()
		delete(h.clients, c)
		h.mu.Unlock()
		h.count.Add(-1)
	}()

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.wsWriter(c)
	}()
	go func() { // the server shutting down closes every connection with 1001
		select {
		case <-h.ctx.Done():
			c.close(websocket.CloseGoingAway)
		case <-c.closed:
		}
	}()
	conn.SetReadLimit(wsReadLimit)
	conn.SetReadDeadline(time.Now().Add(wsPongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wsPongWait)) })
	var window time.Time
	count := 0
	for {
		kind, msg, err := conn.ReadMessage()
		if err != nil {
			c.close(websocket.CloseNormalClosure)
			break
		}
		if now := time.Now(); now.Sub(window) > wsRateWindow {
			window, count = now, 0
		}
		count++
		switch {
		case count > wsRateMessages:
			c.errorMsg("RATE_LIMIT_EXCEEDED", "more than 30 messages in 10 seconds; this one was ignored")
		case kind != websocket.TextMessage:
			c.errorMsg("BINARY_NOT_SUPPORTED", "send text JSON frames")
		case len(msg) > wsMaxMessage:
			c.errorMsg("PAYLOAD_TOO_LARGE", "messages are at most 4096 bytes")
		default:
			s.wsHandle(c, msg)
		}
	}
	<-writerDone
}

// wsWriter is the connection's only writer: queued messages, pings, and the close frame.
func (s *Server) wsWriter(c *wsClient) {
	ping := time.NewTicker(wsPingEvery)
	defer ping.Stop()
	for {
		select {
		case body := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
			if err := c.conn.WriteMessage(websocket.TextMessage, body); err != nil {
				c.close(websocket.CloseNormalClosure)
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteWait)); err != nil {
				c.close(websocket.CloseNormalClosure)
			}
		case <-c.closed:
			code := int(c.code.Load())
			reason := map[int]string{websocket.CloseTryAgainLater: "slow consumer: the send buffer is full",
				websocket.CloseGoingAway: "server shutting down"}[code]
			c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(wsWriteWait))
			c.conn.Close()
			return
		}
	}
}

type wsRequest struct {
	Type         string  `json:"type"`
	Feed         string  `json:"feed"`
	StreamID     string  `json:"streamId"`
	Recipient    string  `json:"recipient"`
	FromPosition *uint64 `json:"fromPosition"`
}

func (s *Server) wsHandle(c *wsClient, raw []byte) {
	var req wsRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		c.errorMsg("INVALID_JSON", "the message is not JSON")
		return
	}
	switch req.Type {
	case "subscribe", "unsubscribe":
	default:
		c.errorMsg("UNKNOWN_TYPE", "type must be subscribe or unsubscribe")
		return
	}
	if req.Feed != "" {
		if req.Feed != "status" || req.StreamID != "" || req.Recipient != "" || req.FromPosition != nil {
			c.errorMsg("INVALID_MESSAGE", `feed must be "status", without streamId, recipient or fromPosition`)
			return
		}
		c.mu.Lock()
		c.status = req.Type == "subscribe"
		c.mu.Unlock()
		if req.Type == "subscribe" {
			c.enqueue(s.hub.statusMessage()) // the current state at once, then every StatusInterval
		}
		return
	}
	if (req.StreamID == "") == (req.Recipient == "") {
		c.errorMsg("INVALID_MESSAGE", "give streamId, recipient or feed")
		return
	}
	if req.Recipient != "" {
		addr, err := domain.ParseAddress(req.Recipient)
		if err != nil || req.FromPosition != nil {
			c.errorMsg("INVALID_MESSAGE", "recipient must be a G… or C… address (fromPosition applies to streamId)")
			return
		}
		c.mu.Lock()
		c.recipients[addr] = req.Type == "subscribe"
		c.mu.Unlock()
		return
	}
	ref, apiErr := s.parseRef(req.StreamID)
	if apiErr != nil {
		c.errorMsg("INVALID_MESSAGE", "streamId: use {contractId}:{streamId}")
		return
	}
	if req.Type == "unsubscribe" {
		c.mu.Lock()
		delete(c.streams, ref)
		delete(c.replayedTo, ref)
		c.mu.Unlock()
		return
	}
	if req.FromPosition == nil {
		c.mu.Lock()
		c.streams[ref] = true
		c.mu.Unlock()
		return
	}
	s.wsReplay(c, ref, eventstore.Position(*req.FromPosition))
}

// wsReplay sends a stream's stored events after from, then goes live: live messages for the stream are held
// during the replay and released after it, skipping those the replay already sent.
func (s *Server) wsReplay(c *wsClient, ref domain.StreamRef, from eventstore.Position) {
	c.mu.Lock()
	c.replaying[ref] = nil
	c.streams[ref] = true
	c.mu.Unlock()
	last := from
	var next eventstore.Version
	for {
		page, err := s.cfg.Events.ReadStream(context.Background(), ref.StoreStream(), next, 500)
		if err != nil {
			s.cfg.Logger.Error("websocket replay failed", "stream", ref.String(), "err", err)
			c.errorMsg("INTERNAL_ERROR", "the replay failed; subscribe again")
			break
		}
		for _, rec := range page {
			if rec.Position <= from {
				continue
			}
			ev, err := projections.Decode(rec, s.cfg.Codec)
			if err != nil {
				continue
			}
			out, _ := s.message(context.Background(), ref, ev)
			c.enqueue(out.body)
			last = rec.Position
		}
		if len(page) < 500 {
			break
		}
		next = page[len(page)-1].Version + 1
	}
	// Release the held messages under the lock: a live message arriving meanwhile waits, and so follows them.
	c.mu.Lock()
	for _, out := range c.replaying[ref] {
		if out.position > last {
			c.enqueue(out.body)
			last = out.position
		}
	}
	delete(c.replaying, ref)
	c.replayedTo[ref] = last
	c.mu.Unlock()
	body, _ := json.Marshal(map[string]any{"type": "replay_complete", "streamId": ref.String(), "position": last})
	c.enqueue(body)
}
