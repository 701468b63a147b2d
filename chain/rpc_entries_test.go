package chain_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
)

// LedgerEntries asks an RPC server for keys with getLedgerEntries in pages of 200, and reads the entries back: the
// JSON-RPC exchange is the SDK client's against a server answering as stellar-rpc does.
func TestRPCLedgerEntries(t *testing.T) {
	const contract = domain.Address("CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP")
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Keys []string `json:"keys"`
			} `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Method != "getLedgerEntries" || len(req.Params.Keys) > 200 {
			http.Error(w, "bad request", 400)
			return
		}
		requests++
		var entries []map[string]any
		for _, k := range req.Params.Keys {
			var key xdr.LedgerKey
			if err := xdr.SafeUnmarshalBase64(k, &key); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			cd := key.ContractData
			val := xdr.ScVal{Type: xdr.ScValTypeScvU32, U32: new(xdr.Uint32)}
			*val.U32 = xdr.Uint32(len(entries))
			data, _ := xdr.MarshalBase64(xdr.LedgerEntryData{Type: xdr.LedgerEntryTypeContractData,
				ContractData: &xdr.ContractDataEntry{Contract: cd.Contract, Key: cd.Key, Durability: cd.Durability, Val: val}})
			entries = append(entries, map[string]any{"key": k, "xdr": data, "lastModifiedLedgerSeq": 90})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID,
			"result": map[string]any{"entries": entries, "latestLedger": 99}})
	}))
	defer srv.Close()
	src, err := chain.NewRPCSource(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []xdr.LedgerKey
	for i := range 250 {
		investor := domain.Address("GAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPSABOV")
		if i == 0 {
			k, err := liquifact.InstanceKey(contract)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
			continue
		}
		k, err := liquifact.ContributionKey(contract, investor)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	entries, ledger, err := src.LedgerEntries(context.Background(), keys)
	if err != nil || ledger != 99 || len(entries) != 250 || requests != 2 {
		t.Fatalf("%d entries at ledger %d in %d requests: %v", len(entries), ledger, requests, err)
	}
	if entries[0].LastModifiedLedgerSeq != 90 || !reflect.DeepEqual(entries[0].Data.ContractData.Key, keys[0].ContractData.Key) {
		t.Fatalf("first entry: %+v", entries[0])
	}
}
