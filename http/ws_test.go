package http

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	stdhttp "net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
)

const bob = domain.Address("GAZDGNBVGY3TQOJ2HM6D2PR7IBAUEQ2EIVDEOSCJJJFUYTKOJ5IFDANM")

// appendWithdrawal stores a withdrawal of stream id n at ledger l and returns its position.
func appendWithdrawal(t *testing.T, store *memory.Store, n uint64, l uint32) eventstore.Position {
	t.Helper()
	e := &fluxora.StreamWithdrawn{ChainMeta: domain.ChainMeta{ContractID: contract, Ledger: l,
		LedgerClosedAt: time.Unix(1767225600+int64(l), 0).UTC()}, StreamID: n, Recipient: bob, Amount: domain.NewAmount(int64(l))}
	data, err := domain.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Append(context.Background(), fluxora.StreamRef{ContractID: e.ContractID, StreamID: e.StreamID}.StoreStream(), eventstore.Any,
		eventstore.NewEvent{ID: domain.DerivedEventUUID("ws-test", fmt.Sprint(n, "/", l)), Type: string(e.Type()), Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return res.Events[0].Position
}

func wsHarness(t *testing.T) (*harness, *memory.Store, string) {
	t.Helper()
	store := memory.New()
	h := newHarness(t, func(c *testConfig) { c.Live, c.Events = store, store })
	base := listen(t, h)
	return h, store, "ws" + strings.TrimPrefix(base, "http") + "/ws/streams"
}

func dial(t *testing.T, url string) *fws.Conn {
	t.Helper()
	conn, _, err := fws.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func send(t *testing.T, conn *fws.Conn, v any) {
	t.Helper()
	raw, _ := json.Marshal(v)
	if err := conn.WriteMessage(fws.TextMessage, raw); err != nil {
		t.Fatal(err)
	}
}

// settle waits until the server has handled every message sent so far: it handles a connection's messages in
// order, so the answer to a deliberately invalid one comes after them.
func settle(t *testing.T, conn *fws.Conn) {
	t.Helper()
	send(t, conn, map[string]any{"type": "settle"})
	for {
		if m := next(t, conn); m["type"] == "error" && m["code"] == "UNKNOWN_TYPE" {
			return
		}
	}
}

func next(t *testing.T, conn *fws.Conn) map[string]any {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, raw, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := ValidateWebSocketMessage(testDoc(t), raw); err != nil {
		t.Fatalf("a message off the WebSocket schema: %v\n%s", err, raw)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWebSocketResumeHasNoGapAndNoDuplicate(t *testing.T) {
	h, store, url := wsHarness(t)
	var positions []eventstore.Position
	for l := uint32(1); l <= 5; l++ {
		positions = append(positions, appendWithdrawal(t, store, 42, l))
	}
	appendWithdrawal(t, store, 7, 1) // another stream: never sent
	conn := dial(t, url)
	send(t, conn, map[string]any{"type": "subscribe", "streamId": string(contract) + ":42", "fromPosition": positions[1]})
	// Events appended while the client replays must arrive exactly once, after the replayed ones.
	go func() {
		for l := uint32(6); l <= 8; l++ {
			appendWithdrawal(t, store, 42, l)
		}
	}()
	var ledgers []float64
	replayed := false
	for len(ledgers) < 6 || !replayed {
		m := next(t, conn)
		switch m["type"] {
		case "stream_update":
			if m["streamId"] != string(contract)+":42" {
				t.Fatalf("message for another stream: %v", m)
			}
			ledgers = append(ledgers, m["ledger"].(float64))
		case "replay_complete":
			replayed = true
		default:
			t.Fatalf("unexpected %v", m)
		}
	}
	if fmt.Sprint(ledgers) != "[3 4 5 6 7 8]" {
		t.Fatalf("ledgers %v", ledgers)
	}
	var health struct {
		WS int `json:"wsConnections"`
	}
	r := h.do(t, "GET", "/health", nil)
	json.Unmarshal([]byte(r.raw), &health)
	if health.WS != 1 {
		t.Fatalf("wsConnections %d", health.WS)
	}
}

func TestWebSocketRecipientAndErrors(t *testing.T) {
	_, store, url := wsHarness(t)
	conn := dial(t, url)
	errorCode := func() string {
		m := next(t, conn)
		if m["type"] != "error" {
			t.Fatalf("want an error, got %v", m)
		}
		return m["code"].(string)
	}
	for _, tc := range []struct {
		kind int
		msg  string
		code string
	}{
		{fws.BinaryMessage, `{"type":"subscribe"}`, "BINARY_NOT_SUPPORTED"},
		{fws.TextMessage, `{"type":`, "INVALID_JSON"},
		{fws.TextMessage, `{"type":"dance"}`, "UNKNOWN_TYPE"},
		{fws.TextMessage, `{"type":"subscribe"}`, "INVALID_MESSAGE"},
		{fws.TextMessage, `{"type":"subscribe","streamId":"x:y"}`, "INVALID_MESSAGE"},
		{fws.TextMessage, `{"type":"subscribe","recipient":"GABC"}`, "INVALID_MESSAGE"},
		{fws.TextMessage, `{"type":"subscribe","streamId":"` + strings.Repeat("9", 5000) + `"}`, "PAYLOAD_TOO_LARGE"},
	} {
		if err := conn.WriteMessage(tc.kind, []byte(tc.msg)); err != nil {
			t.Fatal(err)
		}
		if got := errorCode(); got != tc.code {
			t.Fatalf("%s: %s, want %s", tc.msg, got, tc.code)
		}
	}
	// The connection is still open: a recipient subscription works.
	send(t, conn, map[string]any{"type": "subscribe", "recipient": string(bob)})
	settle(t, conn)
	appendWithdrawal(t, store, 9, 3)
	if m := next(t, conn); m["type"] != "stream_update" || m["streamId"] != string(contract)+":9" {
		t.Fatalf("recipient subscription: %v", m)
	}
	// Rate limit: 30 messages per 10 s; the rest are answered with an error and ignored.
	sent := 9 // the seven in the table, the subscription and the settle
	for ; sent < 31; sent++ {
		send(t, conn, map[string]any{"type": "unsubscribe", "recipient": string(bob)})
	}
	if got := errorCode(); got != "RATE_LIMIT_EXCEEDED" {
		t.Fatalf("rate limit: %s", got)
	}
}

func TestWebSocketSlowConsumerAndShutdown(t *testing.T) {
	h, store, url := wsHarness(t)
	slow := dial(t, url)
	send(t, slow, map[string]any{"type": "subscribe", "streamId": "42"})
	settle(t, slow)
	// Enough to fill the socket buffers as well as the send buffer (the messages are about 700 bytes).
	for l := uint32(1); l <= 30_000; l++ {
		appendWithdrawal(t, store, 42, l)
	}
	// The client never read: the server gave up on it with 1013 rather than wait.
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	var closeErr *fws.CloseError
	for {
		if _, _, err := slow.ReadMessage(); err != nil {
			if ce, ok := err.(*fws.CloseError); ok {
				closeErr = ce
			} else {
				t.Fatalf("slow consumer: %v", err)
			}
			break
		}
	}
	if closeErr.Code != fws.CloseTryAgainLater {
		t.Fatalf("slow consumer closed with %d", closeErr.Code)
	}
	other := dial(t, url)
	done := make(chan int, 1)
	go func() {
		other.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, _, err := other.ReadMessage(); err != nil {
				if ce, ok := err.(*fws.CloseError); ok {
					done <- ce.Code
				} else {
					done <- -1
				}
				return
			}
		}
	}()
	// Shut down once the server holds the connection (the slow one is gone): then it must close it with 1001.
	for deadline := time.Now().Add(5 * time.Second); h.srv.hub.count.Load() != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("the server holds %d connections, want the one open", h.srv.hub.count.Load())
		}
		time.Sleep(time.Millisecond) // polling the condition, not waiting for it to hold
	}
	h.srv.Shutdown(5 * time.Second)
	if code := <-done; code != fws.CloseGoingAway {
		t.Fatalf("shutdown closed with %d", code)
	}
}

func TestWebSocketServiceNotices(t *testing.T) {
	var health atomic.Value
	health.Store(chain.Status{Health: chain.HealthHealthy})
	store := memory.New()
	h := newHarness(t, func(c *testConfig) {
		c.Live, c.Events, c.NoticeInterval = store, store, 10*time.Millisecond
		c.Ingestion = func() chain.Status { return health.Load().(chain.Status) }
	})
	url := "ws" + strings.TrimPrefix(listen(t, h), "http") + "/ws/streams"
	conn := dial(t, url)
	settle(t, conn)
	health.Store(chain.Status{Health: chain.HealthHalted, HaltReason: chain.HaltReorgBelowSafeLedger, Tip: 9})
	if m := next(t, conn); m["type"] != "service.degraded" || m["status"] != "halted" || m["reason"] != chain.HaltReorgBelowSafeLedger {
		t.Fatalf("halted notice: %v", m)
	}
	late := dial(t, url) // connecting while halted: told at once
	if m := next(t, late); m["type"] != "service.degraded" || m["status"] != "halted" {
		t.Fatalf("notice on connect: %v", m)
	}
	health.Store(chain.Status{Health: chain.HealthHealthy})
	if m := next(t, conn); m["type"] != "service.degraded" || m["status"] != "ok" {
		t.Fatalf("recovery notice: %v", m)
	}
}

// The status feed sends what /health says at once and then every StatusInterval, until unsubscribed.
func TestWebSocketStatusFeed(t *testing.T) {
	store := memory.New()
	var tip atomic.Uint32
	tip.Store(40)
	h := newHarness(t, func(c *testConfig) {
		c.Live, c.Events, c.StatusInterval = store, store, 20*time.Millisecond
		c.Ingestion = func() chain.Status {
			return chain.Status{Health: chain.HealthHealthy, Tip: tip.Load(), LastSafeLedger: tip.Load() - 1}
		}
	})
	base := listen(t, h)
	conn := dial(t, "ws"+strings.TrimPrefix(base, "http")+"/ws/streams")
	send(t, conn, map[string]any{"type": "subscribe", "feed": "status"})
	first := next(t, conn)
	if first["type"] != "status" || first["status"] != "ok" || first["indexer"].(map[string]any)["tipLedger"] != float64(40) {
		t.Fatalf("first status: %v", first)
	}
	tip.Store(41)
	for deadline := time.Now().Add(5 * time.Second); ; {
		m := next(t, conn)
		if m["type"] == "status" && m["indexer"].(map[string]any)["tipLedger"] == float64(41) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the feed did not follow the tip")
		}
	}
	for _, bad := range []map[string]any{{"type": "subscribe", "feed": "ledgers"}, {"type": "subscribe", "feed": "status", "streamId": "1"}} {
		send(t, conn, bad)
		for {
			if m := next(t, conn); m["type"] == "error" {
				if m["code"] != "INVALID_MESSAGE" {
					t.Fatalf("%v: %v", bad, m)
				}
				break
			}
		}
	}
	send(t, conn, map[string]any{"type": "unsubscribe", "feed": "status"})
	settle(t, conn)
	// Nothing more arrives, shown by a condition rather than a wait: a second client, subscribed after the
	// unsubscription took effect, receives two statuses, so at least one whole tick ran after it; then a marker on
	// the first connection must be the next thing it reads (one writer per connection keeps its order).
	witness := dial(t, "ws"+strings.TrimPrefix(base, "http")+"/ws/streams")
	send(t, witness, map[string]any{"type": "subscribe", "feed": "status"})
	for seen := 0; seen < 2; {
		if m := next(t, witness); m["type"] == "status" {
			seen++
		}
	}
	send(t, conn, map[string]any{"type": "settle"})
	if m := next(t, conn); m["type"] != "error" || m["code"] != "UNKNOWN_TYPE" {
		t.Fatalf("a message after unsubscribing: %v", m)
	}
}

// The live feed can reach an event after a replay has read it from the store and finished: the client got it
// from the replay and must not get it twice. (CI once saw ledgers [3 4 5 6 6 7] in the resume test above.)
func TestLiveMessageAlreadyReplayedIsNotSentAgain(t *testing.T) {
	h, store, _ := wsHarness(t)
	var positions []eventstore.Position
	for l := uint32(1); l <= 3; l++ {
		positions = append(positions, appendWithdrawal(t, store, 42, l))
	}
	ref := fluxora.StreamRef{ContractID: contract, StreamID: 42}
	c := newWSClient(nil)
	feed, key := h.srv.cfg.Feeds[0], "stream:"+ref.String()
	h.srv.wsReplay(c, feed, key, ref.StoreStream(), positions[0])
	sent := func() (n int) {
		for {
			select {
			case <-c.send:
				n++
			default:
				return n
			}
		}
	}
	if n := sent(); n != 3 { // ledgers 2 and 3, then replay_complete
		t.Fatalf("replay sent %d messages, want 3", n)
	}
	c.offer([]string{key}, wsOut{position: positions[2], body: []byte(`{"ledger":3}`)})
	if n := sent(); n != 0 {
		t.Fatalf("the live copy of a replayed event was sent again (%d messages)", n)
	}
	later := appendWithdrawal(t, store, 42, 4)
	c.offer([]string{key}, wsOut{position: later, body: []byte(`{"ledger":4}`)})
	if n := sent(); n != 1 {
		t.Fatalf("%d messages for the event after the replay, want 1", n)
	}
}

// TestWebSocketAuth: with WS_AUTH_REQUIRED a handshake needs a key with streams:read, as a header, as the
// subprotocol the console sends (bearer.<base64url key>, beside streamledger.v1, which the server selects), or as
// ?token=; without one it is refused before the upgrade.
func TestWebSocketAuth(t *testing.T) {
	store := memory.New()
	h := newHarness(t, func(c *testConfig) { c.Live, c.Events, c.WSAuthRequired = store, store, true })
	url := "ws" + strings.TrimPrefix(listen(t, h), "http") + "/ws/streams"
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name      string
		url       string
		header    stdhttp.Header
		protocols []string
		status    int // 0: upgraded
	}{
		{"no key", url, nil, nil, 401},
		{"header", url, stdhttp.Header{"Authorization": {"Bearer reader-key"}}, nil, 0},
		{"subprotocol", url, nil, []string{wsProtocol, "bearer." + b64("reader-key")}, 0},
		{"subprotocol, unknown key", url, nil, []string{wsProtocol, "bearer." + b64("guessed-key-000000")}, 401},
		{"subprotocol, key without the scope", url, nil, []string{wsProtocol, "bearer." + b64("ingest-key")}, 403},
		{"query", url + "?token=reader-key", nil, nil, 0},
	}
	for _, tt := range tests {
		d := fws.Dialer{Subprotocols: tt.protocols, HandshakeTimeout: 5 * time.Second}
		conn, resp, err := d.Dial(tt.url, tt.header)
		if tt.status != 0 {
			if err == nil || resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("%s: %v, response %+v", tt.name, err, resp)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if tt.protocols != nil && conn.Subprotocol() != wsProtocol {
			t.Fatalf("%s: selected subprotocol %q", tt.name, conn.Subprotocol())
		}
		send(t, conn, map[string]any{"type": "subscribe", "feed": "status"})
		conn.Close()
	}
}
