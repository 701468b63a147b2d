package escrowsapi_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"

	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	api "github.com/streamledger/streamledger/http"
)

// Following an escrow over the WebSocket feed replays its history from a position and then goes live; following an
// investor sends the updates of the escrows they are in. Every message is on the OpenAPI document's schema.
func TestEscrowFeed(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = f.srv.App().Listener(ln) }()
	url := "ws://" + ln.Addr().String() + "/ws/streams"
	e := f.played[0]
	recs, err := f.store.ReadStream(context.Background(), liquifact.EscrowStoreStream(e.Contract), 0, 1000)
	if err != nil || len(recs) == 0 {
		t.Fatalf("the escrow's stream: %d events, %v", len(recs), err)
	}
	read := func(conn *fws.Conn) map[string]any {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, raw, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if err := api.ValidateWebSocketMessage(f.doc, raw); err != nil {
			t.Fatalf("off the schema: %v\n%s", err, raw)
		}
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return m
	}
	byEscrow, _, err := fws.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer byEscrow.Close()
	_ = byEscrow.WriteJSON(map[string]any{"type": "subscribe", "escrowId": e.InvoiceID, "fromPosition": 0})
	updates := 0
	for {
		m := read(byEscrow)
		if m["type"] == "replay_complete" {
			if m["escrowId"] != string(e.Contract) {
				t.Fatalf("replay of %v", m["escrowId"])
			}
			break
		}
		if !strings.HasPrefix(m["type"].(string), "escrow_") || m["escrowId"] != string(e.Contract) {
			t.Fatalf("a message of another escrow: %v", m)
		}
		updates++
	}
	if updates != len(recs) {
		t.Fatalf("%d messages replayed, the escrow has %d events", updates, len(recs))
	}

	investor := e.Positions[0].Investor
	byInvestor, _, err := fws.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer byInvestor.Close()
	_ = byInvestor.WriteJSON(map[string]any{"type": "subscribe", "investor": string(investor)})
	_ = byInvestor.WriteJSON(map[string]any{"type": "subscribe", "escrowId": "INV-NOPE"})
	if m := read(byInvestor); m["type"] != "error" || m["code"] != "INVALID_MESSAGE" {
		t.Fatalf("an unknown escrow: %v", m)
	}
	// A legal hold on the escrow: both followers hear of it, live.
	hold := &liquifact.EscrowLegalHoldChanged{Head: liquifact.Head{ChainMeta: domain.ChainMeta{ContractID: e.Contract, Ledger: 9999,
		LedgerClosedAt: time.Unix(1_800_000_000, 0).UTC()}, Name: "legalhld", InvoiceID: e.InvoiceID}, Active: 1}
	data, err := domain.Marshal(hold)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Append(context.Background(), liquifact.EscrowStoreStream(e.Contract), eventstore.Any,
		eventstore.NewEvent{ID: domain.DerivedEventUUID("feed-test", e.InvoiceID), Type: string(hold.Type()), Data: data}); err != nil {
		t.Fatal(err)
	}
	for name, conn := range map[string]*fws.Conn{"the escrow's follower": byEscrow, "the investor": byInvestor} {
		m := read(conn)
		if m["type"] != "escrow_update" || m["escrowId"] != string(e.Contract) || m["ledger"] != float64(9999) {
			t.Fatalf("%s got %v", name, m)
		}
	}
}
