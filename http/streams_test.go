package http

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/ledgers"
	"github.com/streamledger/streamledger/projections/streams"
)

// simulated is an API over a simulated chain with reorgs, ingested and projected.
func simulated(t *testing.T) (*harness, *streams.Memory) {
	t.Helper()
	store := memory.New()
	simtest.Ingest(t, sim.Config{Seed: 21, Streams: 12, TxPerLedger: 4, Ledgers: 90, Reorgs: true, ReorgEvery: 8, ReorgDepth: 2}, 2, store)
	proj := streams.NewMemory(store)
	index := ledgers.NewMemory()
	for _, p := range []projections.Projection{proj, index} {
		r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: p})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.CatchUp(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	contract := proj.All()[0].ContractID
	return newHarness(t, func(c *testConfig) {
		c.Streams, c.Events, c.Contracts, c.CursorSecret = proj.Reader(), store, []domain.Address{contract}, []byte("k")
		c.Ledgers, c.SafetyMargin = index, 2
	}), proj
}

func TestLedgers(t *testing.T) {
	h, _ := simulated(t)
	total := 0
	for seq := 2; seq <= 91; seq++ {
		r := h.do(t, "GET", fmt.Sprintf("/api/ledgers/%d", seq), nil)
		if r.status != 200 {
			t.Fatalf("ledger %d: %d %s", seq, r.status, r.raw)
		}
		d := r.body["data"].(map[string]any)
		events := d["events"].([]any)
		if len(events) != int(d["eventCount"].(float64)) {
			t.Fatalf("ledger %d: %d events listed, marker says %v", seq, len(events), d["eventCount"])
		}
		if final := d["final"].(bool); final != (seq <= 89) {
			t.Fatalf("ledger %d final %v", seq, final)
		}
		total += len(events)
	}
	if total == 0 {
		t.Fatal("no events in 90 ledgers")
	}
	if r := h.do(t, "GET", "/api/ledgers/92", nil); r.status != 404 || errorOf(t, r) != apikit.CodeNotFound {
		t.Fatalf("future ledger: %d", r.status)
	}
	for _, bad := range []string{"0", "-1", "x", "99999999999"} {
		if r := h.do(t, "GET", "/api/ledgers/"+bad, nil); r.status != 400 {
			t.Fatalf("ledger %q: %d", bad, r.status)
		}
	}
}

func TestPointInTime(t *testing.T) {
	h, proj := simulated(t)
	var s fluxora.Stream
	for _, c := range proj.All() {
		if c.Version > s.Version && c.UpdatedLedger > c.CreatedLedger {
			s = c
		}
	}
	id := s.Ref().String()
	get := func(q string) response { return h.do(t, "GET", "/api/streams/"+id+q, nil) }
	if r := get(fmt.Sprintf("?asOfLedger=%d", s.CreatedLedger-1)); r.status != 404 {
		t.Fatalf("before creation: %d %s", r.status, r.raw)
	}
	now := get(fmt.Sprintf("?asOfLedger=%d", s.UpdatedLedger))
	d := now.body["data"].(map[string]any)
	if now.status != 200 || d["version"] != float64(s.Version) || d["lastEventId"] != s.LastEventID {
		t.Fatalf("as of its last ledger: %s", now.raw)
	}
	before := get(fmt.Sprintf("?asOfLedger=%d", s.UpdatedLedger-1)).body["data"].(map[string]any)
	if before["version"].(float64) >= float64(s.Version) {
		t.Fatalf("as of the ledger before: version %v of %d", before["version"], s.Version)
	}
	// asOf at the close of the last ledger equals asOfLedger there, amounts included.
	byTime := get("?asOf=" + url.QueryEscape(d["asOf"].(string))).body["data"].(map[string]any)
	for _, f := range []string{"version", "accruedAmount", "withdrawableAmount", "lastEventId"} {
		if byTime[f] != d[f] {
			t.Fatalf("%s: by time %v, by ledger %v", f, byTime[f], d[f])
		}
	}
	for q, field := range map[string]string{"?asOfLedger=0": "asOfLedger", "?asOfLedger=x": "asOfLedger",
		"?asOf=yesterday": "asOf", "?asOf=2026-01-01T00:00:00Z&asOfLedger=5": "asOf"} {
		if r := get(q); r.status != 400 || r.body["error"].(map[string]any)["details"].(map[string]any)["field"] != field {
			t.Fatalf("%s: %d %s", q, r.status, r.raw)
		}
	}
	if r := get("?asOfLedger=100000"); r.status != 404 {
		t.Fatalf("a ledger not ingested: %d", r.status)
	}
}

// walk follows nextCursor through every page of a listing and returns the ids.
func walk(t *testing.T, h *harness, path string, limit int) []string {
	t.Helper()
	var ids []string
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	next := path + sep + fmt.Sprintf("limit=%d", limit)
	for {
		r := h.do(t, "GET", next, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", next, r.status, r.raw)
		}
		for _, d := range r.body["data"].([]any) {
			item := d.(map[string]any)
			if id, ok := item["id"]; ok {
				ids = append(ids, id.(string))
			} else {
				ids = append(ids, item["eventId"].(string))
			}
		}
		page := r.body["page"].(map[string]any)
		if page["hasMore"] != true {
			if page["nextCursor"] != nil {
				t.Fatalf("a last page with a cursor: %s", r.raw)
			}
			return ids
		}
		next = path + sep + fmt.Sprintf("limit=%d&cursor=%s", limit, url.QueryEscape(page["nextCursor"].(string)))
	}
}

func TestListStreams(t *testing.T) {
	h, proj := simulated(t)
	all := proj.All()
	var want []string
	for _, s := range all {
		want = append(want, s.Ref().String())
	}
	for _, limit := range []int{1, 5, 100} {
		if got := walk(t, h, "/api/streams", limit); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("limit %d: %v, want %v", limit, got, want)
		}
	}
	var active []string
	for _, s := range all {
		if s.Status == fluxora.StatusActive && s.Sender == all[0].Sender {
			active = append(active, s.Ref().String())
		}
	}
	if got := walk(t, h, "/api/streams?status=active&sender="+string(all[0].Sender), 2); fmt.Sprint(got) != fmt.Sprint(active) {
		t.Fatalf("filtered: %v, want %v", got, active)
	}
	if r := h.do(t, "GET", "/api/streams", nil); r.body["page"].(map[string]any)["limit"] != 20.0 {
		t.Fatalf("default limit: %s", r.raw)
	}
	// A cursor is bound to its listing: reusing it with other filters, or editing it, is refused.
	first := h.do(t, "GET", "/api/streams?limit=1", nil)
	cursor := first.body["page"].(map[string]any)["nextCursor"].(string)
	for path, field := range map[string]string{
		"/api/streams?limit=1&status=active&cursor=" + url.QueryEscape(cursor):          "cursor",
		"/api/streams?cursor=" + url.QueryEscape("x"+cursor):                            "cursor",
		"/api/streams?cursor=" + url.QueryEscape(strings.Replace(cursor, ".", "A.", 1)): "cursor",
		"/api/streams?limit=0":                             "limit",
		"/api/streams?limit=101":                           "limit",
		"/api/streams?limit=ten":                           "limit",
		"/api/streams?status=sleeping":                     "status",
		"/api/streams?sender=GABC":                         "sender",
		"/api/streams?contractId=" + string(all[0].Sender): "contractId",
		"/api/streams?colour=blue":                         "colour",
	} {
		r := h.do(t, "GET", path, nil)
		if r.status != 400 || errorOf(t, r) != apikit.CodeValidation || r.body["error"].(map[string]any)["details"].(map[string]any)["field"] != field {
			t.Fatalf("%s: %d %s", path, r.status, r.raw)
		}
	}
}

func TestStreamEvents(t *testing.T) {
	h, proj := simulated(t)
	// The stream with the most history, and one that went through a reorg.
	var busiest fluxora.Stream
	for _, s := range proj.All() {
		if s.Version > busiest.Version {
			busiest = s
		}
	}
	ids := walk(t, h, "/api/streams/"+busiest.Ref().String()+"/events", 3)
	if uint64(len(ids)) < busiest.Version {
		t.Fatalf("%d events for a stream of version %d", len(ids), busiest.Version)
	}
	reverted := 0
	for _, s := range proj.All() {
		r := h.do(t, "GET", "/api/streams/"+s.Ref().String()+"/events?limit=100", nil)
		for _, d := range r.body["data"].([]any) {
			e := d.(map[string]any)
			if e["reverted"] == true {
				reverted++
				if e["revertedBy"] == "" || e["ledger"] == nil {
					t.Fatalf("reverted event without its reversal: %v", e)
				}
			}
		}
	}
	if reverted == 0 {
		t.Fatal("no reverted event flagged in a chain with reorgs")
	}
	if r := h.do(t, "GET", "/api/streams/999999/events", nil); r.status != 404 {
		t.Fatalf("unknown stream: %d", r.status)
	}
	other := h.do(t, "GET", "/api/streams/"+busiest.Ref().String()+"/events?limit=1", nil)
	cursor := other.body["page"].(map[string]any)["nextCursor"].(string)
	var elsewhere fluxora.Stream
	for _, s := range proj.All() {
		if s.Ref() != busiest.Ref() {
			elsewhere = s
		}
	}
	if r := h.do(t, "GET", "/api/streams/"+elsewhere.Ref().String()+"/events?cursor="+url.QueryEscape(cursor), nil); r.status != 400 {
		t.Fatalf("a cursor of another stream: %d %s", r.status, r.raw)
	}
}

// TestLedgerInAVerifiedRange: a final ledger without events, kept as part of a verified range, is answered with the
// range (validated against the OpenAPI document like every response), its own hash only where the range knows it.
func TestLedgerInAVerifiedRange(t *testing.T) {
	cfg := sim.Config{Seed: 9, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 4, TxPerLedger: 1, Ledgers: 120}
	store := memory.New()
	simtest.Ingest(t, cfg, 1, store)
	// The oracle for the hashes: the simulated chain's own ledgers.
	canonical, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	header := func(seq int) xdr.LedgerHeaderHistoryEntry {
		lcm, err := canonical.Canonical(uint32(seq))
		if err != nil {
			t.Fatal(err)
		}
		return lcm.LedgerHeaderHistoryEntry()
	}
	hashOf := func(seq int) string { return header(seq).Hash.HexString() }
	previousOf := func(seq int) string { return header(seq).Header.PreviousLedgerHash.HexString() }
	index := ledgers.NewMemory()
	r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: index})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *testConfig) { c.Events, c.Ledgers, c.SafetyMargin = store, index, 1 })
	ranges := 0
	for seq := 2; seq <= 121; seq++ {
		res := h.do(t, "GET", fmt.Sprintf("/api/ledgers/%d", seq), nil)
		if res.status != 200 {
			t.Fatalf("ledger %d: %d %s", seq, res.status, res.raw)
		}
		d := res.body["data"].(map[string]any)
		vr, ok := d["verifiedRange"].(map[string]any)
		if !ok {
			if d["hash"] != hashOf(seq) || d["previousHash"] != previousOf(seq) {
				t.Fatalf("ledger %d: %s", seq, res.raw)
			}
			continue
		}
		ranges++
		first, last := int(vr["first"].(float64)), int(vr["last"].(float64))
		if vr["hash"] != hashOf(last) || vr["previousHash"] != previousOf(first) {
			t.Fatalf("ledger %d: range %v, want hashes %s..%s", seq, vr, previousOf(first), hashOf(last))
		}
		if first > seq || last < seq || first == last || d["eventCount"] != float64(0) || len(d["events"].([]any)) != 0 || d["final"] != true {
			t.Fatalf("ledger %d: %s", seq, res.raw)
		}
		if _, has := d["hash"]; has != (seq == last) || (has && d["hash"] != vr["hash"]) {
			t.Fatalf("ledger %d of %d..%d: hash %v", seq, first, last, d["hash"])
		}
		if _, has := d["previousHash"]; has != (seq == first) || (has && d["previousHash"] != vr["previousHash"]) {
			t.Fatalf("ledger %d of %d..%d: previous hash %v", seq, first, last, d["previousHash"])
		}
	}
	if ranges == 0 {
		t.Fatal("no ledger in a verified range")
	}
}
