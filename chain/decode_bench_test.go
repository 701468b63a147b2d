package chain

import (
	"io"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest"
	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
)

// BenchmarkDecodeEvents measures the decoding of Fluxora contract events from their XDR into domain events with
// full chain metadata, identity and the preserved raw XDR: the per-event work, without the per-ledger
// verification that BenchmarkDecode (in chain_test) adds.
func BenchmarkDecodeEvents(b *testing.B) {
	c, err := sim.New(sim.Config{Seed: 1, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 500, TxPerLedger: 20, Ledgers: 50})
	if err != nil {
		b.Fatal(err)
	}
	d, err := NewDecoder(DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: fluxoraContracts(b, c.ContractID())})
	if err != nil {
		b.Fatal(err)
	}
	var events []xdr.ContractEvent
	for seq := uint32(2); seq <= 51; seq++ {
		lcm, err := c.Canonical(seq)
		if err != nil {
			b.Fatal(err)
		}
		r, err := ingest.NewLedgerTransactionReaderFromLedgerCloseMeta(network.TestNetworkPassphrase, lcm)
		if err != nil {
			b.Fatal(err)
		}
		for {
			tx, err := r.Read()
			if err == io.EOF {
				break
			}
			evs, _ := tx.GetTransactionEvents()
			for _, op := range evs.OperationEvents {
				for _, ev := range op {
					if _, keep := d.keep(ev); keep {
						events = append(events, ev)
					}
				}
			}
		}
	}
	l := &Ledger{Sequence: 1000, Hash: "ab", ClosedAt: unixTime(1767225600)}
	enc := newScValEncoder()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := events[i%len(events)]
		if _, err := d.decodeOne(enc, l, binding{address: c.ContractID(), module: fluxora.Module{}}, "cd", 1, 0, uint32(i%3), ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func unixTime(s int64) time.Time { return time.Unix(s, 0).UTC() }
