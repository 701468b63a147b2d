package chain

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/domain"
)

// FuzzDecodeLedger feeds arbitrary bytes as pushed ledger metadata: refused with an error, never a panic.
func FuzzDecodeLedger(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 2})
	d, err := NewDecoder(DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase,
		Contracts: fluxoraContracts(f, "CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP")})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var lcm xdr.LedgerCloseMeta
		if xdr.SafeUnmarshal(raw, &lcm) != nil {
			return
		}
		if _, err := d.Decode(lcm); err == nil && lcm.CountTransactions() > 0 {
			t.Fatal("a ledger of fuzz bytes with transactions verified")
		}
	})
}

// A contract event of a known topic whose payload is not what the topic promises is kept as observed, with its
// decode error, and counted by the decode-error metric under its topic: the decoder reports it, not the test. The
// event's payload is broken in the ledger's metadata, which the header does not commit to, so the ledger still
// verifies.
func TestADecodeErrorIsKeptAndCounted(t *testing.T) {
	c, err := sim.New(sim.Config{Seed: 3, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 3, TxPerLedger: 3, Ledgers: 10})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecoder(DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: fluxoraContracts(t, c.ContractID()),
		OnDecodeError: metrics.DecodeError})
	if err != nil {
		t.Fatal(err)
	}
	for seq := c.StartLedger(); seq <= c.LastLedger(); seq++ {
		lcm, err := c.Ledger(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		// The first transaction's first event of the contract (a token's transfer may come before it).
		var ev *xdr.ContractEvent
		if meta := lcm.MustV2().TxProcessing; len(meta) > 0 {
			events := meta[0].TxApplyProcessing.MustV4().Operations[0].Events
			for i := range events {
				if _, ok := d.keep(events[i]); ok {
					ev = &events[i]
					break
				}
			}
		}
		if ev == nil {
			continue
		}
		topic := string(*ev.Body.V0.Topics[0].Sym)
		ev.Body.V0.Data = sim.U64(1) // no topic of the contract has a bare u64 as its payload
		l, err := d.Decode(lcm)
		if err != nil {
			t.Fatal(err)
		}
		obs, ok := l.Events[0].Event.(*domain.ContractEventObserved)
		if !ok || obs.Topic != topic || obs.DecodeError == "" {
			t.Fatalf("the broken %s event decoded to %T %+v", topic, l.Events[0].Event, l.Events[0].Event)
		}
		if got := testutil.ToFloat64(metrics.decodeErrors.WithLabelValues(topic)); got != 1 {
			t.Fatalf("decode errors counted for %s: %v, want 1", topic, got)
		}
		if n, err := testutil.GatherAndCount(reg, "streamledger_ingest_decode_errors_total"); err != nil || n != 1 {
			t.Fatalf("the metric has %d series (%v), want 1", n, err)
		}
		if !strings.Contains(obs.DecodeError, "unexpected event shape") {
			t.Fatalf("decode error %q", obs.DecodeError)
		}
		return
	}
	t.Fatal("no ledger of the simulated chain has a contract event")
}
