package features

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cucumber/godog"
	fws "github.com/fasthttp/websocket"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/streamledger/streamledger/contracts/fluxora"
	api "github.com/streamledger/streamledger/http"
	"github.com/streamledger/streamledger/http/escrowsapi"
	"github.com/streamledger/streamledger/http/streamsapi"
	"github.com/streamledger/streamledger/internal/syncbuf"
	"github.com/streamledger/streamledger/webhooks"
	"github.com/streamledger/streamledger/webhooks/webhookstest"
)

// The features run against `streamledger serve` as users run it: the binary, built once, as a process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "streamledger-features")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "streamledger")
	if out, err := exec.Command("go", "build", "-o", binary, "../cmd/streamledger").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build streamledger: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	for _, svc := range []*service{shared.svc, escrowShared.svc} {
		if svc != nil {
			svc.stop()
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestFeatures(t *testing.T) {
	suite := godog.TestSuite{
		ScenarioInitializer: initializeScenario,
		Options: &godog.Options{Format: "pretty", Paths: []string{"."}, Strict: true, TestingT: t,
			Output: io.Discard},
	}
	if testing.Verbose() {
		suite.Options.Output = os.Stdout
	}
	if suite.Run() != 0 {
		t.Fatal("a feature failed")
	}
}

const adminKey = "features-key-0123456789abcdef"

// service is one running `streamledger serve`.
type service struct {
	cmd  *exec.Cmd
	base string
	logs *syncbuf.Buffer
	dir  string
}

// start runs serve on the simulator with env over the defaults, and waits until it listens.
func start(env map[string]string) (*service, error) {
	dir, err := os.MkdirTemp("", "streamledger-feature-data")
	if err != nil {
		return nil, err
	}
	s := &service{dir: dir, logs: &syncbuf.Buffer{}}
	s.cmd = exec.Command(binary, "serve")
	s.cmd.Env = append(os.Environ(), "DATA_DIR="+dir, "LISTEN_ADDR=127.0.0.1:0", "SAFETY_MARGIN=2", "SIM_REORG_DEPTH=2",
		"SIM_REORG_EVERY=7", "SIM_STREAMS=8", "WEBHOOK_ALLOW_PRIVATE=true",
		`API_KEYS=[{"key":"`+adminKey+`","clientId":"features","scopes":["webhooks:admin","audit:read","streams:read"]}]`)
	for k, v := range env {
		s.cmd.Env = append(s.cmd.Env, k+"="+v)
	}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`"msg":"serving HTTP","addr":"([^"]+)"`)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.logs.Write([]byte(sc.Text() + "\n"))
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- "http://" + m[1]
			}
		}
	}()
	select {
	case s.base = <-addr:
		return s, nil
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("serve did not start: %s", s.logs.String())
	}
}

func (s *service) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(s.dir)
}

// get reads a JSON response of the API into v, with the features' key.
func (s *service) get(path string, v any) error {
	req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// post sends body as JSON with the features' key and reads the answer into v, which must come with status.
func (s *service) post(path, body string, status int, v any) error {
	req, _ := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, v)
}

func (s *service) tip() (uint32, uint32, error) {
	var h struct {
		Indexer struct {
			TipLedger      uint32 `json:"tipLedger"`
			LastSafeLedger uint32 `json:"lastSafeLedger"`
		} `json:"indexer"`
	}
	err := s.get("/health", &h)
	return h.Indexer.TipLedger, h.Indexer.LastSafeLedger, err
}

func (s *service) waitForTip(tip uint32) error {
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got, _, err := s.tip(); err == nil && got >= tip {
			return nil
		}
	}
	return fmt.Errorf("the network did not reach ledger %d: %s", tip, s.logs.String())
}

type stream struct {
	ID                 string `json:"id"`
	Status             string `json:"status"`
	DepositAmountRaw   string `json:"depositAmountRaw"`
	WithdrawnAmount    string `json:"withdrawnAmount"`
	WithdrawnAmountRaw string `json:"withdrawnAmountRaw"`
	Version            int    `json:"version"`
	LastEventID        string `json:"lastEventId"`
}

type event struct {
	EventID    string          `json:"eventId"`
	Type       string          `json:"type"`
	Position   uint64          `json:"position"`
	Ledger     uint32          `json:"ledger"`
	TxHash     string          `json:"txHash"`
	Reverted   bool            `json:"reverted"`
	RevertedBy string          `json:"revertedBy"`
	Event      json.RawMessage `json:"event"`
}

// applied are the events that changed the stream: neither reverted nor reversals.
func applied(events []event) []event {
	var out []event
	for _, e := range events {
		if !e.Reverted && e.Type != "EventReverted" {
			out = append(out, e)
		}
	}
	return out
}

// world is one scenario's state.
type world struct {
	svc      *service
	own      bool // the scenario started svc and stops it
	streamID string
	events   []event
	asOf     stream
	listed   []stream
	received []event
	ws       *fws.Conn
	consumer *webhookstest.Receiver
	// safeAtArrival is the last safe ledger when each delivery arrived, by event id.
	arrivalMu     sync.Mutex
	safeAtArrival map[string]uint32
	endpointID    string
	export        string
	manifest      string
	verdict       string
	verified      int
}

// shared is the network the read-only scenarios look at, started once.
var shared struct {
	once sync.Once
	svc  *service
	err  error
}

func initializeScenario(sc *godog.ScenarioContext) {
	w := &world{}
	sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
		if w.ws != nil {
			w.ws.Close()
		}
		if w.consumer != nil {
			w.consumer.Close()
		}
		if w.own && w.svc != nil {
			w.svc.stop()
		}
		return ctx, nil
	})
	registerEscrowSteps(sc)
	sc.Step(`^streamledger has ingested a simulated network of (\d+) ledgers, with reorganisations$`, w.ingested)
	sc.Step(`^a stream that has been withdrawn from$`, w.withdrawnStream)
	sc.Step(`^a stream whose history was reorganised$`, w.reorganisedStream)
	sc.Step(`^a stream with at least (\d+) stored events$`, w.streamWithEvents)
	sc.Step(`^I read the stream's history$`, w.readHistory)
	sc.Step(`^every event shows its ledger and its transaction, in the order the ledgers closed$`, w.historyInOrder)
	sc.Step(`^the stream's state is the result of every event that was not reverted$`, w.stateFromApplied)
	sc.Step(`^I look at the stream as of the ledger before its first withdrawal$`, w.asOfBeforeWithdrawal)
	sc.Step(`^nothing has been withdrawn yet$`, w.nothingWithdrawn)
	sc.Step(`^I look at the stream as of the ledger of its first withdrawal$`, w.asOfWithdrawal)
	sc.Step(`^the amount withdrawn is the amount of that withdrawal$`, w.withdrawnIsFirstWithdrawal)
	sc.Step(`^the event the reorganisation undid is still in the history, marked as reverted$`, w.revertedStillThere)
	sc.Step(`^a reversal event names it and the ledger the chain forked at$`, w.reversalNamesIt)
	sc.Step(`^I list the streams with status "([^"]*)", two at a time$`, w.listByStatus)
	sc.Step(`^every stream listed is active$`, w.allActive)
	sc.Step(`^following the pages lists each active stream exactly once$`, w.eachOnce)
	sc.Step(`^I follow the stream over WebSocket from its beginning$`, w.followFromStart)
	sc.Step(`^I disconnect after (\d+) events$`, w.disconnectAfter)
	sc.Step(`^I follow it again from the position of the last event I received$`, w.resume)
	sc.Step(`^I have received each of the stream's events exactly once, in order$`, w.receivedAllOnce)
	sc.Step(`^streamledger is following a simulated network that is still closing ledgers, with reorganisations$`, w.liveNetwork)
	sc.Step(`^I registered a webhook endpoint for every stream event$`, w.registerEndpoint)
	sc.Step(`^the network has closed (\d+) more ledgers$`, w.moreLedgers)
	sc.Step(`^every webhook I received carries a valid signature from my secret$`, w.signed)
	sc.Step(`^every event I was sent is final and was never reverted$`, w.onlyFinal)
	sc.Step(`^no event was sent to me twice$`, w.noDuplicates)
	sc.Step(`^I ask to recover every event from ledger (\d+) on$`, w.recoverFrom)
	sc.Step(`^I receive every final event of ledger (\d+) and later that was not reverted, exactly once$`, w.receivedFrom)
	sc.Step(`^I export the audit log as CSV, with its manifest$`, w.exportAudit)
	sc.Step(`^I exported the audit log as CSV, with its manifest$`, w.exportAudit)
	sc.Step(`^verifying the export with the log's public key says it is OK$`, w.verifyOK)
	sc.Step(`^someone changes an amount in the export$`, w.tamper)
	sc.Step(`^verifying the export fails and names the row that was altered$`, w.verifyFails)
}

func (w *world) ingested(ledgers int) error {
	shared.once.Do(func() {
		shared.svc, shared.err = start(map[string]string{"SIM_LEDGERS": strconv.Itoa(ledgers), "SIM_LEDGER_INTERVAL": "0s"})
		if shared.err == nil {
			shared.err = shared.svc.waitForTip(uint32(ledgers))
		}
	})
	w.svc = shared.svc
	return shared.err
}

// findStream returns the first stream whose history satisfies ok.
func (w *world) findStream(ok func([]event) bool) error {
	var list struct {
		Data []stream `json:"data"`
	}
	if err := w.svc.get("/api/streams?limit=100", &list); err != nil {
		return err
	}
	for _, s := range list.Data {
		events, err := w.history(s.ID)
		if err != nil {
			return err
		}
		if ok(events) {
			w.streamID, w.events = s.ID, events
			return nil
		}
	}
	return errors.New("no such stream in the simulated network")
}

func (w *world) history(id string) ([]event, error) {
	var page struct {
		Data []event `json:"data"`
	}
	err := w.svc.get("/api/streams/"+url.PathEscape(id)+"/events?limit=100", &page)
	return page.Data, err
}

func firstWithdrawal(events []event) (event, bool) {
	for _, e := range applied(events) {
		if e.Type == "StreamWithdrawn" {
			return e, true
		}
	}
	return event{}, false
}

func (w *world) withdrawnStream() error {
	return w.findStream(func(es []event) bool {
		first, ok := firstWithdrawal(es)
		if !ok {
			return false
		}
		for _, e := range applied(es) { // one withdrawal in that ledger, so the ledger's state shows just it
			if e.Type == "StreamWithdrawn" && e.Ledger == first.Ledger && e.EventID != first.EventID {
				return false
			}
		}
		return true
	})
}

func (w *world) reorganisedStream() error {
	return w.findStream(func(es []event) bool {
		for _, e := range es {
			if e.Reverted {
				return true
			}
		}
		return false
	})
}

func (w *world) streamWithEvents(n int) error {
	return w.findStream(func(es []event) bool { return len(es) >= n })
}

func (w *world) readHistory() error {
	events, err := w.history(w.streamID)
	w.events = events
	return err
}

func (w *world) historyInOrder() error {
	var last uint32
	for _, e := range applied(w.events) {
		if e.Ledger == 0 || len(e.TxHash) != 64 {
			return fmt.Errorf("event %s (%s) shows ledger %d and transaction %q", e.EventID, e.Type, e.Ledger, e.TxHash)
		}
		if e.Ledger < last {
			return fmt.Errorf("event %s of ledger %d comes after ledger %d", e.EventID, e.Ledger, last)
		}
		last = e.Ledger
	}
	return nil
}

func (w *world) stateFromApplied() error {
	var s struct {
		Data stream `json:"data"`
	}
	if err := w.svc.get("/api/streams/"+url.PathEscape(w.streamID), &s); err != nil {
		return err
	}
	kept := applied(w.events)
	if s.Data.Version != len(kept) || s.Data.LastEventID != kept[len(kept)-1].EventID {
		return fmt.Errorf("the state counts %d events up to %s; the history has %d not reverted, the last %s",
			s.Data.Version, s.Data.LastEventID, len(kept), kept[len(kept)-1].EventID)
	}
	// The amounts, added up here from the events' own fields (the contract's rules, not the fold's code).
	deposit, withdrawn, depositKnown, err := amountsOf(kept)
	if err != nil {
		return err
	}
	if s.Data.WithdrawnAmountRaw != withdrawn.String() {
		return fmt.Errorf("withdrawn %s; the history's withdrawals add up to %s", s.Data.WithdrawnAmountRaw, withdrawn)
	}
	if depositKnown && s.Data.DepositAmountRaw != deposit.String() {
		return fmt.Errorf("deposit %s; the history's creation, top-ups and refunds make %s", s.Data.DepositAmountRaw, deposit)
	}
	return nil
}

// amountsOf adds up a stream's deposit and withdrawn amounts from its events: the deposit is the creation's, then
// each top-up's new deposit, less each refund of a shortened end or a lowered rate; withdrawn is the sum of the
// withdrawals and of a keeper's payout to the recipient. A delegation reshapes the deposit by the accrual rules,
// which this does not repeat: depositKnown is then false.
func amountsOf(events []event) (deposit, withdrawn *big.Int, depositKnown bool, err error) {
	deposit, withdrawn, depositKnown = new(big.Int), new(big.Int), true
	for _, e := range events {
		var f map[string]any
		if err := json.Unmarshal(e.Event, &f); err != nil {
			return nil, nil, false, fmt.Errorf("event %s: %w", e.EventID, err)
		}
		amount := func(name string) *big.Int {
			n, ok := new(big.Int).SetString(fmt.Sprint(f[name]), 10)
			if !ok {
				err = fmt.Errorf("event %s (%s): %s is %v", e.EventID, e.Type, name, f[name])
				return new(big.Int)
			}
			return n
		}
		switch e.Type {
		case "StreamCreated":
			deposit = amount("depositAmount")
		case "StreamToppedUp":
			deposit = amount("newDepositAmount")
		case "StreamEndShortened", "StreamRateDecreased":
			deposit.Sub(deposit, amount("refundAmount"))
		case "StreamWithdrawn":
			withdrawn.Add(withdrawn, amount("amount"))
		case "StreamKeeperCancelled":
			withdrawn.Add(withdrawn, amount("recipientAmount"))
		case "StreamShareDelegated", "StreamDelegatedFrom":
			depositKnown = false
		}
		if err != nil {
			return nil, nil, false, err
		}
	}
	return deposit, withdrawn, depositKnown, nil
}

func (w *world) lookAsOf(ledger uint32) error {
	var s struct {
		Data stream `json:"data"`
	}
	err := w.svc.get(fmt.Sprintf("/api/streams/%s?asOfLedger=%d", url.PathEscape(w.streamID), ledger), &s)
	w.asOf = s.Data
	return err
}

func (w *world) asOfBeforeWithdrawal() error {
	first, _ := firstWithdrawal(w.events)
	return w.lookAsOf(first.Ledger - 1)
}

func (w *world) nothingWithdrawn() error {
	if w.asOf.WithdrawnAmountRaw != "0" {
		return fmt.Errorf("withdrawn %s before the first withdrawal", w.asOf.WithdrawnAmount)
	}
	return nil
}

func (w *world) asOfWithdrawal() error {
	first, _ := firstWithdrawal(w.events)
	return w.lookAsOf(first.Ledger)
}

func (w *world) withdrawnIsFirstWithdrawal() error {
	first, _ := firstWithdrawal(w.events)
	var e struct {
		Amount string `json:"amount"`
	}
	if err := json.Unmarshal(first.Event, &e); err != nil {
		return err
	}
	if w.asOf.WithdrawnAmountRaw != e.Amount {
		return fmt.Errorf("withdrawn %s base units at the ledger of a withdrawal of %s", w.asOf.WithdrawnAmountRaw, e.Amount)
	}
	return nil
}

func (w *world) revertedStillThere() error {
	for _, e := range w.events {
		if e.Reverted && e.RevertedBy != "" {
			return nil
		}
	}
	return errors.New("no event of the history is marked reverted")
}

func (w *world) reversalNamesIt() error {
	byID := map[string]event{}
	for _, e := range w.events {
		byID[e.EventID] = e
	}
	for _, e := range w.events {
		if !e.Reverted {
			continue
		}
		rev, ok := byID[e.RevertedBy]
		var body struct {
			RevertedEventID string `json:"revertedEventId"`
			Fork            uint32 `json:"fork"`
		}
		if !ok || rev.Type != "EventReverted" || json.Unmarshal(rev.Event, &body) != nil || body.RevertedEventID != e.EventID ||
			body.Fork == 0 || body.Fork >= e.Ledger {
			return fmt.Errorf("the reversal of %s does not name it and a fork below its ledger %d: %s", e.EventID, e.Ledger, rev.Event)
		}
	}
	return nil
}

func (w *world) listByStatus(status string) error {
	cursor := ""
	for {
		var page struct {
			Data []stream `json:"data"`
			Page struct {
				NextCursor *string `json:"nextCursor"`
				HasMore    bool    `json:"hasMore"`
			} `json:"page"`
		}
		path := "/api/streams?limit=2&status=" + status
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := w.svc.get(path, &page); err != nil {
			return err
		}
		if len(page.Data) > 2 {
			return fmt.Errorf("a page of %d streams, asked for 2", len(page.Data))
		}
		w.listed = append(w.listed, page.Data...)
		if !page.Page.HasMore {
			return nil
		}
		cursor = *page.Page.NextCursor
	}
}

func (w *world) allActive() error {
	if len(w.listed) == 0 {
		return errors.New("no active stream listed")
	}
	for _, s := range w.listed {
		if s.Status != "active" {
			return fmt.Errorf("stream %s is %s", s.ID, s.Status)
		}
	}
	return nil
}

func (w *world) eachOnce() error {
	var all struct {
		Data []stream `json:"data"`
	}
	if err := w.svc.get("/api/streams?limit=100", &all); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, s := range all.Data {
		if s.Status == "active" {
			want[s.ID] = true
		}
	}
	seen := map[string]bool{}
	for _, s := range w.listed {
		if seen[s.ID] {
			return fmt.Errorf("stream %s listed twice", s.ID)
		}
		seen[s.ID] = true
	}
	if len(seen) != len(want) {
		return fmt.Errorf("listed %d active streams, there are %d", len(seen), len(want))
	}
	return nil
}

func (w *world) dial(from uint64) error {
	conn, _, err := fws.DefaultDialer.Dial("ws"+strings.TrimPrefix(w.svc.base, "http")+"/ws/streams", nil)
	if err != nil {
		return err
	}
	w.ws = conn
	msg, _ := json.Marshal(map[string]any{"type": "subscribe", "streamId": w.streamID, "fromPosition": from})
	return conn.WriteMessage(fws.TextMessage, msg)
}

// readEvent reads the next stream_update or stream_reverted, skipping notices.
func (w *world) readEvent() (event, bool, error) {
	for {
		w.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, raw, err := w.ws.ReadMessage()
		if err != nil {
			return event{}, false, err
		}
		doc, err := apiDocument()
		if err != nil {
			return event{}, false, err
		}
		if err := api.ValidateWebSocketMessage(doc, raw); err != nil {
			return event{}, false, fmt.Errorf("a message off the OpenAPI WebSocket schema: %v: %s", err, raw)
		}
		var m struct {
			Type     string `json:"type"`
			EventID  string `json:"eventId"`
			Position uint64 `json:"position"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return event{}, false, err
		}
		switch m.Type {
		case "stream_update", "stream_reverted":
			return event{EventID: m.EventID, Position: m.Position}, true, nil
		case "replay_complete":
			return event{}, false, nil
		}
	}
}

func (w *world) followFromStart() error { return w.dial(0) }

func (w *world) disconnectAfter(n int) error {
	for len(w.received) < n {
		e, ok, err := w.readEvent()
		if err != nil || !ok {
			return fmt.Errorf("after %d events: %v", len(w.received), err)
		}
		w.received = append(w.received, e)
	}
	return w.ws.Close()
}

func (w *world) resume() error { return w.dial(w.received[len(w.received)-1].Position) }

func (w *world) receivedAllOnce() error {
	for {
		e, ok, err := w.readEvent()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		w.received = append(w.received, e)
	}
	if len(w.received) != len(w.events) {
		return fmt.Errorf("received %d events, the stream has %d", len(w.received), len(w.events))
	}
	for i, e := range w.events {
		if w.received[i].EventID != e.EventID {
			return fmt.Errorf("event %d: received %s, want %s", i, w.received[i].EventID, e.EventID)
		}
	}
	return nil
}

func (w *world) liveNetwork() error {
	svc, err := start(map[string]string{"SIM_LEDGERS": "0", "SIM_LEDGER_INTERVAL": "100ms"})
	w.svc, w.own = svc, true
	return err
}

func (w *world) registerEndpoint() error {
	// Finality is checked as each delivery arrives: the last safe ledger is read then, not when the check runs.
	w.safeAtArrival = map[string]uint32{}
	c := webhookstest.NewReceiverFunc(func(p webhooks.Payload) {
		_, safe, err := w.svc.tip()
		if err != nil {
			safe = 0 // unknown: the check fails on it
		}
		w.arrivalMu.Lock()
		w.safeAtArrival[p.Data.EventID] = safe
		w.arrivalMu.Unlock()
	})
	w.consumer = c
	var created struct {
		Data struct {
			ID     string `json:"id"`
			Secret string `json:"secret"`
		} `json:"data"`
	}
	// Every stream event: the stream contract's webhook types (the simulated network has escrows too).
	types, err := json.Marshal(fluxora.StreamWebhookTypes())
	if err != nil {
		return err
	}
	if err := w.svc.post("/api/webhooks/endpoints", `{"url":"`+c.URL()+`/fluxora","eventTypes":`+string(types)+`}`, http.StatusCreated, &created); err != nil {
		return err
	}
	w.endpointID = created.Data.ID
	c.SetSecret(created.Data.Secret)
	return nil
}

func (w *world) moreLedgers(n int) error {
	tip, _, err := w.svc.tip()
	if err != nil {
		return err
	}
	if err := w.svc.waitForTip(tip + uint32(n)); err != nil {
		return err
	}
	// Deliveries follow finality by a moment: wait until none is pending.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var pending struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := w.svc.get("/api/webhooks/deliveries?status=pending", &pending); err != nil {
			return err
		}
		got := len(w.consumer.Payloads())
		if len(pending.Data) == 0 && got > 0 {
			return nil
		}
	}
	return errors.New("no webhook arrived, or deliveries stayed pending")
}

func (w *world) signed() error {
	if n := w.consumer.Refused(); n != 0 {
		return fmt.Errorf("%d deliveries failed verification", n)
	}
	if off := w.consumer.OffSchema(); len(off) != 0 {
		return fmt.Errorf("%d deliveries are off the OpenAPI webhook schema: %s", len(off), off[0])
	}
	return nil
}

func (w *world) onlyFinal() error {
	var err error
	got := w.consumer.Payloads()
	histories := map[string][]event{}
	for _, p := range got {
		w.arrivalMu.Lock()
		safe, seen := w.safeAtArrival[p.Data.EventID]
		w.arrivalMu.Unlock()
		if !seen || p.Data.Ledger > safe {
			return fmt.Errorf("event %s of ledger %d arrived before it was final (last safe ledger then %d)", p.Data.EventID, p.Data.Ledger, safe)
		}
		id := p.Data.Subject.ID
		if histories[id] == nil {
			if histories[id], err = w.history(id); err != nil {
				return err
			}
		}
		for _, e := range histories[id] {
			if e.EventID == p.Data.EventID && e.Reverted {
				return fmt.Errorf("event %s was sent and later reverted", e.EventID)
			}
		}
	}
	return nil
}

func (w *world) noDuplicates() error {
	if repeated := w.consumer.Repeated(); len(repeated) != 0 {
		return fmt.Errorf("deliveries arrived more than once: %v", repeated)
	}
	return nil
}

// recoverFrom asks for the endpoint's missed events from ledger on, and waits until they have been delivered.
func (w *world) recoverFrom(ledger int) error {
	var recovered struct {
		Data struct {
			Queued int `json:"queued"`
		} `json:"data"`
	}
	if err := w.svc.post("/api/webhooks/endpoints/"+w.endpointID+"/recover", fmt.Sprintf(`{"since": %d}`, ledger),
		http.StatusAccepted, &recovered); err != nil {
		return err
	}
	if recovered.Data.Queued == 0 {
		return errors.New("recovering queued nothing")
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if len(w.consumer.Payloads()) >= recovered.Data.Queued {
			return nil
		}
	}
	return fmt.Errorf("%d of %d recovered deliveries arrived", len(w.consumer.Payloads()), recovered.Data.Queued)
}

// receivedFrom checks the deliveries against the streams' histories: every stream event of ledger from on that is
// final and was not reverted arrived once, and nothing else did.
func (w *world) receivedFrom(from int) error {
	_, safe, err := w.svc.tip()
	if err != nil {
		return err
	}
	var list struct {
		Data []stream `json:"data"`
		Page struct {
			HasMore bool `json:"hasMore"`
		} `json:"page"`
	}
	if err := w.svc.get("/api/streams?limit=100", &list); err != nil {
		return err
	}
	if list.Page.HasMore {
		return errors.New("more than 100 streams: the check would miss some")
	}
	var want []string
	for _, s := range list.Data {
		events, err := w.history(s.ID)
		if err != nil {
			return err
		}
		if len(events) == 100 {
			return fmt.Errorf("stream %s has 100 events or more: the check would miss some", s.ID)
		}
		for _, e := range events {
			if strings.HasPrefix(e.Type, "Stream") && !e.Reverted && e.Ledger >= uint32(from) && e.Ledger <= safe {
				want = append(want, e.EventID)
			}
		}
	}
	var got []string
	for _, p := range w.consumer.Payloads() {
		got = append(got, p.Data.EventID)
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) == 0 || !slices.Equal(got, want) {
		return fmt.Errorf("received %d events, want the %d final, never reverted stream events of ledgers %d to %d",
			len(got), len(want), from, safe)
	}
	return w.noDuplicates()
}

func (w *world) exportAudit() error {
	req, _ := http.NewRequest(http.MethodGet, w.svc.base+"/api/audit/export?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("export: %d %s", resp.StatusCode, body)
	}
	dir, err := os.MkdirTemp("", "streamledger-audit-export")
	if err != nil {
		return err
	}
	w.export, w.manifest = filepath.Join(dir, "audit.csv"), filepath.Join(dir, "audit.manifest.json")
	if err := os.WriteFile(w.export, body, 0o644); err != nil {
		return err
	}
	var manifest json.RawMessage
	if err := w.svc.get("/api/audit/export/manifest?format=csv&treeSize="+resp.Header.Get("X-Audit-Tree-Size"), &manifest); err != nil {
		return err
	}
	return os.WriteFile(w.manifest, manifest, 0o644)
}

// verify runs `streamledger audit verify` with the key the server publishes.
func (w *world) verify() error {
	var cp struct {
		Data struct {
			VerifierKey string `json:"verifierKey"`
		} `json:"data"`
	}
	if err := w.svc.get("/api/audit/checkpoint", &cp); err != nil {
		return err
	}
	out, err := exec.Command(binary, "audit", "verify", w.export, "--manifest", w.manifest, "--key", cp.Data.VerifierKey).Output()
	w.verdict = string(out)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		w.verified = exit.ExitCode()
		return nil
	}
	w.verified = 0
	return err
}

func (w *world) verifyOK() error {
	if err := w.verify(); err != nil {
		return err
	}
	if w.verified != 0 || !strings.HasPrefix(w.verdict, "OK: ") {
		return fmt.Errorf("exit %d: %s", w.verified, w.verdict)
	}
	return nil
}

func (w *world) tamper() error {
	raw, err := os.ReadFile(w.export)
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(raw), "\r\n")
	amount := regexp.MustCompile(`,(\d+)\.(\d{7}),`)
	for i := 1; i < len(lines); i++ {
		if loc := amount.FindStringSubmatchIndex(lines[i]); loc != nil {
			digit := lines[i][loc[5]-1]
			lines[i] = lines[i][:loc[5]-1] + string('0'+(digit-'0'+1)%10) + lines[i][loc[5]:]
			return os.WriteFile(w.export, []byte(strings.Join(lines, "")), 0o644)
		}
	}
	return errors.New("no amount in the export")
}

func (w *world) verifyFails() error {
	if err := w.verify(); err != nil {
		return err
	}
	if w.verified == 0 || !regexp.MustCompile(`^FAILED: .*row \d+ \(seq \d+\) is altered`).MatchString(w.verdict) {
		return fmt.Errorf("exit %d: %s", w.verified, w.verdict)
	}
	return nil
}

// apiDocument is the API's OpenAPI document with the stream module's fragment, which messages are held to.
var apiDocument = sync.OnceValues(func() (*openapi3.T, error) { return api.LoadOpenAPI(streamsapi.OpenAPI(), escrowsapi.OpenAPI()) })
