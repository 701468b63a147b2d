package http

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/http/apikit"
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

	mu      sync.Mutex
	follows map[string]bool // the modules' subscription keys (a stream, a recipient, an escrow, …)
	status  bool            // subscribed to the status feed
	// replaying holds the live messages of a key whose history is being replayed.
	replaying map[string][]wsOut
	// replayedTo is where a finished replay stopped: the live feed can reach an event after the replay read it
	// from the store, and must not send it again.
	replayedTo map[string]eventstore.Position
}

// Feed is a module's side of the WebSocket feed (DESIGN §12): what a subscription follows, and how the module's
// events read. The hub names no module.
type Feed interface {
	// Follow reads a subscription's module fields (the message's fields but type, feed and fromPosition): the key
	// it follows and, when the key has a history a replay reads, that history's store stream. ok is false when
	// none of the module's fields is there; err, when they are and are wrong (the client gets its text).
	Follow(fields map[string]json.RawMessage, replay bool) (key, history string, ok bool, err error)
	// Message renders one of the module's events for clients: the keys that follow it (the first is the key of the
	// history the event belongs to) and the body; ok is false for another module's event. final tells whether a
	// ledger is final.
	Message(ctx context.Context, ev projections.Event, final func(ledger uint32) bool) (keys []string, body []byte, ok bool)
	// ReplayComplete is the message that ends a replay of key, at position last.
	ReplayComplete(key string, last eventstore.Position) []byte
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
		keys, out, ok := h.s.message(h.ctx, ev)
		if !ok {
			continue
		}
		h.mu.RLock()
		for c := range h.clients {
			c.offer(keys, out)
		}
		h.mu.RUnlock()
	}
	return <-errs
}

// message renders an event for clients with the module that has it, and the keys that follow it.
func (s *Server) message(ctx context.Context, ev projections.Event) ([]string, wsOut, bool) {
	final := func(ledger uint32) bool {
		return s.cfg.Ingestion != nil && ledger <= s.cfg.Ingestion().LastSafeLedger
	}
	for _, f := range s.cfg.Feeds {
		if keys, body, ok := f.Message(ctx, ev, final); ok && len(keys) > 0 {
			return keys, wsOut{position: ev.Position, body: body}, true
		}
	}
	return nil, wsOut{}, false
}

// offer sends a live message to the client if it follows one of its keys; while the history of its first key (a
// stream's) is being replayed the message is held, so that the replay and the live feed neither miss nor repeat one.
func (c *wsClient) offer(keys []string, out wsOut) {
	c.mu.Lock()
	wanted := false
	for _, k := range keys {
		wanted = wanted || c.follows[k]
	}
	history := keys[0]
	if held, replaying := c.replaying[history]; replaying {
		c.replaying[history] = append(held, out)
		c.mu.Unlock()
		return
	}
	if to, replayed := c.replayedTo[history]; replayed {
		if out.position <= to {
			c.mu.Unlock()
			return
		}
		delete(c.replayedTo, history) // the live feed is in order: it is past the replay for good
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
		return apikit.New(fiber.StatusBadRequest, apikit.CodeValidation, "this route speaks WebSocket only")
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
			return apikit.New(fiber.StatusUnauthorized, apikit.CodeUnauthorized,
				"an API key is required (Authorization: Bearer, the subprotocol bearer.<base64url key>, or ?token=)")
		}
		if !sk.scopes[ScopeStreamsRead] {
			return apikit.New(fiber.StatusForbidden, apikit.CodeForbidden, "this key lacks the scope "+ScopeStreamsRead)
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
		follows: map[string]bool{}, replaying: map[string][]wsOut{}, replayedTo: map[string]eventstore.Position{}}
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

func (s *Server) wsHandle(c *wsClient, raw []byte) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		c.errorMsg("INVALID_JSON", "the message is not a JSON object")
		return
	}
	var req struct {
		Type         string  `json:"type"`
		Feed         string  `json:"feed"`
		FromPosition *uint64 `json:"fromPosition"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		c.errorMsg("INVALID_MESSAGE", "type and feed are strings, fromPosition an unsigned integer")
		return
	}
	switch req.Type {
	case "subscribe", "unsubscribe":
	default:
		c.errorMsg("UNKNOWN_TYPE", "type must be subscribe or unsubscribe")
		return
	}
	delete(fields, "type")
	delete(fields, "feed")
	delete(fields, "fromPosition")
	if req.Feed != "" {
		if req.Feed != "status" || len(fields) > 0 || req.FromPosition != nil {
			c.errorMsg("INVALID_MESSAGE", `feed must be "status", with no other field`)
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
	replay := req.Type == "subscribe" && req.FromPosition != nil
	for _, f := range s.cfg.Feeds {
		key, history, ok, err := f.Follow(fields, replay)
		if err != nil {
			c.errorMsg("INVALID_MESSAGE", err.Error())
			return
		}
		if !ok {
			continue
		}
		c.mu.Lock()
		switch {
		case req.Type == "unsubscribe":
			delete(c.follows, key)
			delete(c.replayedTo, key)
		case !replay:
			c.follows[key] = true
		}
		c.mu.Unlock()
		if replay {
			if history == "" {
				c.errorMsg("INVALID_MESSAGE", "fromPosition: this subscription has no history to replay")
				return
			}
			s.wsReplay(c, f, key, history, eventstore.Position(*req.FromPosition))
		}
		return
	}
	c.errorMsg("INVALID_MESSAGE", "nothing to subscribe to: give a subscription's fields (streamId, recipient, …) or feed")
}

// wsReplay sends the stored events of a key's history after from, then goes live: live messages of the history are
// held during the replay and released after it, skipping those the replay already sent.
func (s *Server) wsReplay(c *wsClient, f Feed, key, history string, from eventstore.Position) {
	c.mu.Lock()
	c.replaying[key] = nil
	c.follows[key] = true
	c.mu.Unlock()
	final := func(ledger uint32) bool {
		return s.cfg.Ingestion != nil && ledger <= s.cfg.Ingestion().LastSafeLedger
	}
	last := from
	var next eventstore.Version
	for {
		page, err := s.cfg.Events.ReadStream(context.Background(), history, next, 500)
		if err != nil {
			s.cfg.Logger.Error("websocket replay failed", "history", history, "err", err)
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
			if _, body, ok := f.Message(context.Background(), ev, final); ok {
				c.enqueue(body)
				last = rec.Position
			}
		}
		if len(page) < 500 {
			break
		}
		next = page[len(page)-1].Version + 1
	}
	// Release the held messages under the lock: a live message arriving meanwhile waits, and so follows them.
	c.mu.Lock()
	for _, out := range c.replaying[key] {
		if out.position > last {
			c.enqueue(out.body)
			last = out.position
		}
	}
	delete(c.replaying, key)
	c.replayedTo[key] = last
	c.mu.Unlock()
	c.enqueue(f.ReplayComplete(key, last))
}
