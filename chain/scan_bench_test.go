package chain

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/stellar/go-stellar-sdk/network"
)

// BenchmarkScanUntouched scans a real pubnet ledger none of whose events is a followed contract's, with 1 to 4096
// followed contracts (an escrow module discovers one per invoice): the prefilter is what it costs. The limit is
// one pass over the same bytes looking for one absent 32-byte id (bytes.Contains).
func BenchmarkScanUntouched(b *testing.B) {
	raw := pubnetLedger(b)
	for _, n := range []int{1, 16, 256, 4096} {
		b.Run(fmt.Sprintf("contracts=%d", n), func(b *testing.B) {
			d, err := NewDecoder(DecoderConfig{NetworkPassphrase: network.PublicNetworkPassphrase, Contracts: fluxoraContracts(b, absentContracts(n)...)})
			if err != nil {
				b.Fatal(err)
			}
			absent := sha256.Sum256([]byte("limit"))
			b.SetBytes(int64(len(raw)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				l, err := d.Scan(raw)
				if err != nil || len(l.Events) != 0 {
					b.Fatalf("%v, %d events", err, len(l.Events))
				}
			}
			scan := b.Elapsed()
			b.StopTimer()
			limitN := 200
			start := time.Now()
			for i := 0; i < limitN; i++ {
				if bytes.Contains(raw, absent[:]) {
					b.Fatal("the absent id is present")
				}
			}
			limit := time.Since(start) / time.Duration(limitN)
			b.ReportMetric(float64(b.N)/scan.Seconds(), "ledgers/s")
			b.ReportMetric(1/limit.Seconds(), "limit-ledgers/s")
		})
	}
}
