package escrowsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	stdhttp "net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/network"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/contracts/liquifact/liquifactsim"
	"github.com/streamledger/streamledger/eventstore/memory"
	api "github.com/streamledger/streamledger/http"
	"github.com/streamledger/streamledger/http/escrowsapi"
	"github.com/streamledger/streamledger/http/streamsapi"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/escrows"
)

type fixture struct {
	t      *testing.T
	srv    *api.Server
	doc    *openapi3.T
	played []liquifact.Escrow
	store  *memory.Store
}

// newFixture ingests a simulated chain with escrows, projects them, and serves the escrow routes.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	sc, err := liquifactsim.New(5, 6)
	if err != nil {
		t.Fatal(err)
	}
	net, err := sim.New(sim.Config{Seed: 5, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 2, TxPerLedger: 1,
		Ledgers: 400, Scenarios: []sim.Scenario{sc}})
	if err != nil {
		t.Fatal(err)
	}
	bindings := []chain.Binding{{Contract: net.ContractID(), Module: fluxora.Module{}}}
	for _, c := range sc.Contracts() {
		bindings = append(bindings, chain.Binding{Contract: c, Module: liquifact.Module{}})
	}
	bound, err := chain.NewContracts(bindings...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: bound})
	if err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, StartLedger: net.StartLedger(), SafetyMargin: 1,
		Open: func() (ledgerbackend.LedgerBackend, error) { return net.Backend(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() { _ = in.Run(ctx) }()
	for in.Status().Tip < net.LastLedger() && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	cancel()
	p := escrows.NewMemory(store)
	r, err := projections.NewRunner(projections.RunnerConfig{Store: store, Projection: p, Codec: bound})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	routes := escrowsapi.New(escrowsapi.Config{Escrows: p.Reader(), Events: store})
	doc, err := api.LoadOpenAPI(streamsapi.OpenAPI(), escrowsapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Version: "test", NetworkPassphrase: network.TestNetworkPassphrase, PublicReads: true,
		Modules: []api.Module{routes}, Feeds: []api.Feed{routes.Feed()}, Events: store, Live: store, Codec: bound})
	t.Cleanup(func() { _ = srv.Shutdown(time.Second) })
	return &fixture{t: t, srv: srv, doc: doc, played: sc.States(), store: store}
}

func (f *fixture) get(path string, status int, schema string, out any) {
	f.t.Helper()
	resp, err := f.srv.App().Test(httptest.NewRequest(stdhttp.MethodGet, path, nil), -1)
	if err != nil {
		f.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		f.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	var envelope struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		f.t.Fatal(err)
	}
	if schema != "" {
		var items []json.RawMessage
		if json.Unmarshal(envelope.Data, &items) != nil {
			items = []json.RawMessage{envelope.Data}
		}
		for _, it := range items {
			if err := api.ValidateSchema(f.doc, schema, it); err != nil {
				f.f(path, err, it)
			}
		}
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) f(path string, err error, body []byte) {
	f.t.Helper()
	f.t.Fatalf("GET %s: off the OpenAPI schema: %v\n%s", path, err, body)
}

type page struct {
	Data []escrows.View `json:"data"`
	Page struct {
		NextCursor *string `json:"nextCursor"`
		HasMore    bool    `json:"hasMore"`
	} `json:"page"`
}

// The escrow routes serve what the scenario played: every escrow (paged), one by invoice id or contract id, its
// history, filters and investors' positions; every body on the OpenAPI document's schema.
func TestEscrowRoutes(t *testing.T) {
	f := newFixture(t)
	byContract := map[string]liquifact.Escrow{}
	for _, e := range f.played {
		byContract[string(e.Contract)] = e
	}
	var all []escrows.View
	path := "/api/escrows?limit=2"
	for {
		var p page
		f.get(path, 200, "Escrow", &p)
		all = append(all, p.Data...)
		if !p.Page.HasMore {
			break
		}
		path = "/api/escrows?limit=2&cursor=" + url.QueryEscape(*p.Page.NextCursor)
	}
	if len(all) != len(f.played) || len(all) != 6 {
		t.Fatalf("%d escrows listed, %d played", len(all), len(f.played))
	}
	settled := 0
	for _, v := range all {
		want := byContract[string(v.ContractID)]
		if v.FundedAmountRaw != want.FundedAmount.String() || v.Status != want.Status.String() || v.InvoiceID != want.InvoiceID {
			t.Fatalf("escrow %s: %+v, played %+v", v.InvoiceID, v, want)
		}
		if want.Status == liquifact.StatusSettled {
			settled++
		}
		var one, byID struct {
			Data escrows.View `json:"data"`
		}
		f.get("/api/escrows/"+v.InvoiceID, 200, "Escrow", &one)
		f.get("/api/escrows/"+string(v.ContractID), 200, "Escrow", &byID)
		if one.Data.LastEventID != v.LastEventID || byID.Data.LastEventID != v.LastEventID {
			t.Fatalf("escrow %s read three ways: %s %s %s", v.InvoiceID, v.LastEventID, one.Data.LastEventID, byID.Data.LastEventID)
		}
		f.get("/api/escrows/"+v.InvoiceID+"/events?limit=100", 200, "HistoryEvent", nil)
		var then struct {
			Data escrows.View `json:"data"`
		}
		f.get(fmt.Sprintf("/api/escrows/%s?asOfLedger=%d", v.InvoiceID, v.UpdatedLedger), 200, "Escrow", &then)
		if then.Data.LastEventID != v.LastEventID {
			t.Fatalf("escrow %s as of its last ledger %d: %s, now %s", v.InvoiceID, v.UpdatedLedger, then.Data.LastEventID, v.LastEventID)
		}
		f.get(fmt.Sprintf("/api/escrows/%s?asOfLedger=%d", v.InvoiceID, v.CreatedLedger-1), 404, "", nil)
	}
	var onlySettled page
	f.get("/api/escrows?status=settled&limit=100", 200, "Escrow", &onlySettled)
	if len(onlySettled.Data) != settled {
		t.Fatalf("%d settled escrows listed, %d played", len(onlySettled.Data), settled)
	}
	investor := all[0].Investors[0].Investor
	var positions struct {
		Data []struct {
			ContractID string               `json:"contractId"`
			Position   escrows.PositionView `json:"position"`
		} `json:"data"`
	}
	f.get("/api/investors/"+string(investor)+"/positions", 200, "EscrowHolding", &positions)
	want := 0
	for _, e := range f.played {
		if _, ok := e.Position(investor); ok {
			want++
		}
	}
	if len(positions.Data) != want || want == 0 {
		t.Fatalf("%d positions of %s, %d played", len(positions.Data), investor, want)
	}
	f.get("/api/escrows/INV-NOPE", 404, "", nil)
	// Bad input is refused naming the field, in the envelope's details.
	for path, field := range map[string]string{"/api/escrows?status=lost": "status", "/api/escrows?colour=red": "colour",
		"/api/investors/nobody/positions": "address", "/api/escrows?sme=GBAD": "sme", "/api/escrows?limit=0": "limit",
		"/api/escrows/INV-1?asOfLedger=x": "asOfLedger", "/api/escrows?fundingToken=x": "fundingToken"} {
		f.refused(path, field)
	}
}

// refused checks that path is answered 400 VALIDATION_ERROR naming field.
func (f *fixture) refused(path, field string) {
	f.t.Helper()
	resp, err := f.srv.App().Test(httptest.NewRequest(stdhttp.MethodGet, path, nil), -1)
	if err != nil {
		f.t.Fatal(err)
	}
	var env struct {
		Error struct {
			Code    string            `json:"code"`
			Details map[string]string `json:"details"`
		} `json:"error"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &env); err != nil || resp.StatusCode != 400 || env.Error.Code != "VALIDATION_ERROR" ||
		env.Error.Details["field"] != field {
		f.t.Fatalf("GET %s: %d %s, want 400 naming %q", path, resp.StatusCode, body, field)
	}
}
