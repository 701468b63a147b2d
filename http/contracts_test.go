package http

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
)

// The contract route folds the contract-level events of the contract's store stream: the expected body is written
// out by hand from the events below (a reverted admin change left out, the legacy upgrade tuple merged into the
// upgrade it accompanies, the contract's own times where its events carry them).
func TestContractState(t *testing.T) {
	store := memory.New()
	const admin1, admin2 = domain.Address("GAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPSABOV"),
		domain.Address("GAZDGNBVGY3TQOJ2HM6D2PR7IBAUEQ2EIVDEOSCJJJFUYTKOJ5IFDANM")
	const hash = "0101010101010101010101010101010101010101010101010101010101010101"
	closed := func(l uint32) time.Time {
		return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(l) * 5 * time.Second)
	}
	meta := func(l uint32) domain.ChainMeta {
		return domain.ChainMeta{NetworkID: "n", ContractID: contract, Ledger: l, LedgerHash: "h", LedgerClosedAt: closed(l)}
	}
	add := func(id string, e domain.Event) {
		t.Helper()
		data, err := domain.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.AppendMany(context.Background(), []eventstore.StreamAppend{{Stream: domain.ContractStoreStream(contract),
			Expected: eventstore.Any, Events: []eventstore.NewEvent{{ID: id, Type: string(e.Type()), Data: data}}}}); err != nil {
			t.Fatal(err)
		}
	}
	add("00000000-0000-5000-8000-000000000001", &fluxora.ContractAdminUpdated{ChainMeta: meta(10), OldAdmin: admin1, NewAdmin: admin1})
	add("00000000-0000-5000-8000-000000000002", &fluxora.GlobalPauseChanged{ChainMeta: meta(20), Paused: true})
	add("00000000-0000-5000-8000-000000000003", &fluxora.ContractUpgraded{ChainMeta: meta(30), NewWasmHash: hash, NewVersion: 3,
		UpgradedAt: uint64(closed(30).Unix()), UpgradedBy: admin1})
	add("00000000-0000-5000-8000-000000000004", &fluxora.ContractUpgradedLegacy{ChainMeta: meta(30), NewWasmHash: hash, OldVersion: 3,
		NewVersion: 3, Admin: admin1})
	add("00000000-0000-5000-8000-000000000005", &fluxora.GlobalResumed{ChainMeta: meta(40), ResumedAt: 1772323400})
	add("00000000-0000-5000-8000-000000000006", &fluxora.ProtocolPaused{ChainMeta: meta(50), Admin: admin1, Reason: "audit",
		PausedAt: 1772323500})
	add("00000000-0000-5000-8000-000000000007", &fluxora.ContractAdminUpdated{ChainMeta: meta(60), OldAdmin: admin1, NewAdmin: admin2})
	add("00000000-0000-5000-8000-000000000008", &domain.EventReverted{RevertedEventID: "00000000-0000-5000-8000-000000000007",
		RevertedType: fluxora.TypeContractAdminUpdated, RevertedLedger: 60, ContractID: contract, Reason: domain.RevertReasonReorg, Fork: 59})
	h := newHarness(t, func(c *testConfig) { c.Events = store })

	get := func(path string) string {
		t.Helper()
		r := h.do(t, "GET", path, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.raw)
		}
		out, _ := json.Marshal(r.body["data"])
		return string(out)
	}
	want := `{"admin":"` + string(admin1) + `","contractId":"` + string(contract) + `","events":6,"lastEventId":"00000000-0000-5000-8000-000000000006",` +
		`"migrations":[],"pauses":{"creation":{"by":null,"ledger":null,"paused":false,"reason":null,"since":null},` +
		`"global":{"by":null,"ledger":40,"paused":false,"reason":null,"since":"2026-03-01T00:03:20Z"},` +
		`"protocol":{"by":"` + string(admin1) + `","ledger":50,"paused":true,"reason":"audit","since":"2026-03-01T00:05:00Z"}},` +
		`"updatedLedger":50,"upgrades":[{"at":"2026-03-01T00:02:30Z","by":"` + string(admin1) + `","executingVersion":3,` +
		`"ledger":30,"legacyOldVersion":3,"newWasmHash":"` + hash + `"}],"wasmHash":"` + hash + `"}`
	if got := get("/api/contracts/" + string(contract)); got != want {
		t.Fatalf("now:\n got %s\nwant %s", got, want)
	}
	wantAt25 := `{"admin":"` + string(admin1) + `","asOfLedger":25,"contractId":"` + string(contract) + `","events":2,` +
		`"lastEventId":"00000000-0000-5000-8000-000000000002","migrations":[],"pauses":{"creation":{"by":null,"ledger":null,` +
		`"paused":false,"reason":null,"since":null},"global":{"by":null,"ledger":20,"paused":true,"reason":null,` +
		`"since":"2026-03-01T00:01:40Z"},"protocol":{"by":null,"ledger":null,"paused":false,"reason":null,"since":null}},` +
		`"updatedLedger":20,"upgrades":[],"wasmHash":null}`
	if got := get("/api/contracts/" + string(contract) + "?asOfLedger=25"); got != wantAt25 {
		t.Fatalf("as of ledger 25:\n got %s\nwant %s", got, wantAt25)
	}
	for path, status := range map[string]int{
		"/api/contracts/CAOPNR76354QDB5YXT3H6F5FDO6KHLUCIDUJB6LW322BD7JFMBRB6GER": 404, // not followed
		"/api/contracts/" + string(admin1):                                        400, // an account
		"/api/contracts/" + string(contract) + "?asOfLedger=0":                    400,
		"/api/contracts/" + string(contract) + "?ledger=3":                        400,
	} {
		if r := h.do(t, "GET", path, nil); r.status != status {
			t.Errorf("%s: %d %s, want %d", path, r.status, r.raw, status)
		}
	}
}

// A followed factory is served too: its admin from its initialisation, creation paused through it.
func TestFactoryContractState(t *testing.T) {
	const factory = domain.Address("CAOPNR76354QDB5YXT3H6F5FDO6KHLUCIDUJB6LW322BD7JFMBRB6GER")
	const admin = domain.Address("GAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPSABOV")
	store := memory.New()
	closedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var events []eventstore.NewEvent
	for i, e := range []domain.Event{
		&fluxora.FactoryInitialized{ChainMeta: domain.ChainMeta{ContractID: factory, Ledger: 5, LedgerClosedAt: closedAt}, Admin: admin,
			StreamContract: contract, MaxDeposit: domain.NewAmount(100), MinDuration: 60},
		&fluxora.FactoryPauseChanged{ChainMeta: domain.ChainMeta{ContractID: factory, Ledger: 6, LedgerClosedAt: closedAt.Add(5 * time.Second)},
			Paused: true},
	} {
		data, err := domain.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, eventstore.NewEvent{ID: "00000000-0000-5000-8000-00000000010" + string(rune('0'+i)), Type: string(e.Type()), Data: data})
	}
	if _, err := store.AppendMany(context.Background(), []eventstore.StreamAppend{{Stream: domain.ContractStoreStream(factory),
		Expected: eventstore.NoStream, Events: events}}); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *testConfig) { c.Events, c.Followed = store, []domain.Address{contract, factory} })
	r := h.do(t, "GET", "/api/contracts/"+string(factory), nil)
	d, _ := r.body["data"].(map[string]any)
	creation, _ := d["pauses"].(map[string]any)["creation"].(map[string]any)
	if r.status != 200 || d["admin"] != string(admin) || creation["paused"] != true || creation["since"] != "2026-03-01T00:00:05Z" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}
