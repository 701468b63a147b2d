package chain_test

import (
	"context"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/eventstore/postgres"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/simtest"
)

// BenchmarkDecode measures verification plus decoding of simulated ledgers (meta v4, ~40 contract calls per
// ledger, one Fluxora event and a token transfer in most): SDK transaction reader, header and tx-set hashes, and
// the ScVal → domain event decoding of every Fluxora event.
func BenchmarkDecode(b *testing.B) {
	c := simChain(b, sim.Config{Seed: 1, Streams: 500, TxPerLedger: 20, Ledgers: 100})
	var lcms []xdr.LedgerCloseMeta
	for seq := uint32(2); seq <= 101; seq++ {
		lcm, err := c.Canonical(seq)
		if err != nil {
			b.Fatal(err)
		}
		lcms = append(lcms, lcm)
	}
	d, err := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: passphrase, Contracts: simtest.Fluxora(b, c.ContractID())})
	if err != nil {
		b.Fatal(err)
	}
	events := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := d.Decode(lcms[i%len(lcms)])
		if err != nil {
			b.Fatal(err)
		}
		events += len(l.Events)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkIngestPostgres measures the pipeline simulator → decoder → ingester → PostgreSQL event store while
// catching up (the network is ahead, so ledgers are appended in batches).
func BenchmarkIngestPostgres(b *testing.B) {
	url := pgtest.URL(b)
	const ledgers = 2000 // long enough that filling and draining the read-ahead does not dominate
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := simChain(b, sim.Config{Seed: uint64(i + 1), Streams: 500, TxPerLedger: 20, Ledgers: ledgers})
		if _, err := c.Ledger(context.Background(), ledgers+1); err != nil {
			b.Fatal(err)
		}
		for seq := uint32(2); seq <= ledgers+1; seq++ { // build the ledgers outside the measurement
			if _, err := c.Canonical(seq); err != nil {
				b.Fatal(err)
			}
		}
		store, err := postgres.Open(context.Background(), url, postgres.Config{Schema: pgtest.Schema(b, url)})
		if err != nil {
			b.Fatal(err)
		}
		d, _ := chain.NewDecoder(chain.DecoderConfig{NetworkPassphrase: passphrase, Contracts: simtest.Fluxora(b, c.ContractID())})
		in, err := chain.NewIngester(chain.Config{Store: store, Decoder: d, StartLedger: 2, SafetyMargin: 1,
			Open: func() (ledgerbackend.LedgerBackend, error) { return c.Backend(), nil }})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := ingestUntil(b, in, ledgers+1); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		// Contract events only: the store also holds the ledger markers.
		b.ReportMetric(float64(in.Status().Events)/elapsed.Seconds(), "events/s")
		b.ReportMetric(ledgers/elapsed.Seconds(), "ledgers/s")
		store.Close()
	}
}
