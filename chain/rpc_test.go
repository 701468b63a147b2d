package chain_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	protocol "github.com/stellar/go-stellar-sdk/protocols/rpc"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/simtest"
)

// stubRPC is a Stellar RPC server in miniature: JSON-RPC 2.0 over HTTP with the protocols/rpc types, serving
// getHealth, getNetwork, getLatestLedger and getLedgers for ledgers oldest..latest of whatever chain ledger gives.
// The test moves its tip (even backwards), takes it down, or has it answer 503 while unavailable counts down.
type stubRPC struct {
	latest      atomic.Uint32
	down        atomic.Bool
	unavailable *atomic.Int32
	oldest      uint32
	ledger      func(ctx context.Context, seq uint32) (xdr.LedgerCloseMeta, error)
	network     string
}

// rpcServer serves the simulated chain's ledgers from its start to latest; while unavailable is positive it
// answers 503 and counts down.
func rpcServer(t *testing.T, c *sim.Chain, latest uint32, unavailable *atomic.Int32) *httptest.Server {
	t.Helper()
	if _, err := c.Ledger(context.Background(), latest); err != nil {
		t.Fatal(err)
	}
	s := &stubRPC{network: passphrase, ledger: c.Ledger, oldest: c.StartLedger(), unavailable: unavailable}
	s.latest.Store(latest)
	return s.serve(t)
}

// rpcSource is an RPCSource over rpcServer(t, c, latest, unavailable), closed when the test ends.
func rpcSource(t *testing.T, c *sim.Chain, latest uint32, unavailable *atomic.Int32) *chain.RPCSource {
	t.Helper()
	srv := rpcServer(t, c, latest, unavailable)
	src, err := chain.NewRPCSource(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func (s *stubRPC) serve(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() || (s.unavailable != nil && s.unavailable.Add(-1) >= 0) {
			http.Error(w, "upstream core not synced", http.StatusServiceUnavailable)
			return
		}
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reply := func(result any, rpcErr map[string]any) {
			resp := map[string]any{"jsonrpc": "2.0", "id": req.ID}
			if rpcErr != nil {
				resp["error"] = rpcErr
			} else {
				resp["result"] = result
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(resp)
		}
		latest, oldest := s.latest.Load(), max(s.oldest, 2)
		switch req.Method {
		case protocol.GetHealthMethodName:
			reply(protocol.GetHealthResponse{Status: "healthy", LatestLedger: latest, OldestLedger: oldest,
				LedgerRetentionWindow: latest - oldest + 1}, nil)
		case protocol.GetNetworkMethodName:
			reply(protocol.GetNetworkResponse{Passphrase: s.network, ProtocolVersion: 23}, nil)
		case protocol.GetLatestLedgerMethodName:
			lcm, err := s.ledger(r.Context(), latest)
			if err != nil {
				reply(nil, map[string]any{"code": -32603, "message": err.Error()})
				return
			}
			reply(protocol.GetLatestLedgerResponse{Hash: lcm.LedgerHash().HexString(), Sequence: latest,
				ProtocolVersion: lcm.ProtocolVersion(), LedgerCloseTime: lcm.LedgerCloseTime()}, nil)
		case protocol.GetLedgersMethodName:
			var p protocol.GetLedgersRequest
			if err := json.Unmarshal(req.Params, &p); err != nil {
				reply(nil, map[string]any{"code": -32602, "message": err.Error()})
				return
			}
			if err := p.Validate(200, protocol.LedgerSeqRange{FirstLedger: oldest, LastLedger: latest}); err != nil {
				reply(nil, map[string]any{"code": -32602, "message": err.Error()})
				return
			}
			limit := uint32(5)
			if p.Pagination != nil && p.Pagination.Limit > 0 {
				limit = uint32(p.Pagination.Limit)
			}
			resp := protocol.GetLedgersResponse{LatestLedger: latest, OldestLedger: oldest}
			for seq := p.StartLedger; seq <= latest && seq < p.StartLedger+limit; seq++ {
				lcm, err := s.ledger(r.Context(), seq)
				if err != nil {
					reply(nil, map[string]any{"code": -32603, "message": err.Error()})
					return
				}
				header, _ := xdr.MarshalBase64(lcm.LedgerHeaderHistoryEntry())
				meta, _ := xdr.MarshalBase64(lcm)
				resp.Ledgers = append(resp.Ledgers, protocol.LedgerInfo{Hash: lcm.LedgerHash().HexString(),
					Sequence: seq, LedgerCloseTime: lcm.LedgerCloseTime(), LedgerHeader: header, LedgerMetadata: meta})
				resp.Cursor = strconv.FormatUint(uint64(seq), 10)
			}
			reply(resp, nil)
		default:
			reply(nil, map[string]any{"code": -32601, "message": "method not found"})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRPCSource(t *testing.T) {
	cfg := sim.Config{Seed: 81, Ledgers: 60}
	want := clean(t, cfg, 61)
	c := simChain(t, cfg)
	var unavailable atomic.Int32
	unavailable.Store(3)
	src := rpcSource(t, c, 61, &unavailable)

	d, _ := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: passphrase, Contracts: simtest.Fluxora(t, c.ContractID())})
	store := memory.New()
	var retries atomic.Int32
	in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, Open: src.Open, StartLedger: 2, SafetyMargin: 1,
		Sleep: func(ctx context.Context, _ time.Duration) error { retries.Add(1); return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	if err := ingestUntil(t, in, 61); err != nil {
		t.Fatal(err)
	}
	if retries.Load() == 0 {
		t.Fatal("the 503s were not retried")
	}
	sameOutcome(t, outcomeOf(t, readAll(t, store)), want)

	latest, err := src.Latest(context.Background())
	if err != nil || latest != 61 {
		t.Fatalf("latest %d, %v", latest, err)
	}
	// The SDK backend must have been driven through getLedgers, not handed ledgers some other way.
	b, _ := src.Open()
	defer b.Close()
	if err := b.PrepareRange(context.Background(), ledgerbackend.UnboundedRange(10)); err != nil {
		t.Fatal(err)
	}
	lcm, err := b.GetLedger(context.Background(), 10)
	canon, _ := c.Canonical(10)
	if err != nil || lcm.LedgerHash() != canon.LedgerHash() {
		t.Fatalf("ledger 10 over RPC: %v", err)
	}
}

func TestRPCSourceURL(t *testing.T) {
	for _, bad := range []string{"", "localhost:8000", "ftp://x", "http://"} {
		if _, err := chain.NewRPCSource(bad, nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
