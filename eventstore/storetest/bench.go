package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/streamledger/streamledger/eventstore"
)

// benchData is the size and shape of a real chain event (a StreamCreated with its chain metadata, ~1 KiB).
var benchData = []byte(`{"type":"StreamCreated","schemaVersion":1,"event":{"chain":{"networkId":"cee0302d59844d32bdca915c8203dd44b33fbb7edc19051ea37abedf28ecd472","contractId":"CA3D5KRYM6CB7OWQ6TWYRR3Z4T7GNZLKERYNZGGA5SOAOPIFY6YQGAXE","ledger":123456,"ledgerHash":"` +
	strings.Repeat("ab", 32) + `","ledgerClosedAt":"2026-11-21T19:40:21Z","txHash":"` + strings.Repeat("cd", 32) +
	`","txIndex":3,"opIndex":0,"eventIndex":0,"chainEventId":"0000530242871959552-0000000000","topicsXdr":["AAAADwAAAAdjcmVhdGVkAA==","AAAABQAAAAAAAAAq"],"valueXdr":"` +
	strings.Repeat("A", 200) + `"},"streamId":42,"sender":"GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7","recipient":"GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H","depositAmount":"10000000000","ratePerSecond":"116","startTime":1700000000,"cliffTime":1700086400,"endTime":1786206896,"withdrawDustThreshold":"0"}}`)

// BenchEvents returns n events of the benchmarks' size and shape, each with a fresh id.
func BenchEvents(n int) []eventstore.NewEvent { return benchEvents(n) }

func benchEvents(n int) []eventstore.NewEvent {
	out := make([]eventstore.NewEvent, n)
	for i := range out {
		out[i] = eventstore.NewEvent{ID: uuid.NewString(), Type: "StreamCreated", Data: benchData}
	}
	return out
}

// BenchmarkAppend measures batched appends of 1, 100 and 1000 events to a store opened by open, in events/s.
func BenchmarkAppend(b *testing.B, open func(b *testing.B) eventstore.Store) {
	BenchmarkAppendSizes(b, open, 1, 100, 1000)
}

// BenchmarkAppendSizes is BenchmarkAppend with the batch sizes a backend can take.
func BenchmarkAppendSizes(b *testing.B, open func(b *testing.B) eventstore.Store, sizes ...int) {
	for _, size := range sizes {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := open(b)
			ctx := context.Background()
			batches := make([][]eventstore.NewEvent, min(b.N, 64))
			for i := range batches {
				batches[i] = benchEvents(size)
			}
			b.SetBytes(int64(size * len(benchData)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch := batches[i%len(batches)]
				if i >= len(batches) {
					b.StopTimer()
					batch = benchEvents(size)
					b.StartTimer()
				}
				if _, err := s.Append(ctx, fmt.Sprintf("fluxora-bench-%d", i%997), eventstore.Any, batch...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkReadAll measures paged global reads of 1000 events, in events/s.
func BenchmarkReadAll(b *testing.B, open func(b *testing.B) eventstore.Store) {
	s := open(b)
	ctx := context.Background()
	const stored, batch = 50_000, 500 // a batch of 500 fits EventStoreDB's default append limit
	for i := 0; i < stored; i += batch {
		if _, err := s.Append(ctx, fmt.Sprintf("fluxora-bench-%d", i%97), eventstore.Any, benchEvents(batch)...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	read := 0
	for i := 0; i < b.N; i++ {
		page, err := s.ReadAll(ctx, eventstore.Position((i*1000)%stored), 1000)
		if err != nil || len(page) != 1000 {
			b.Fatalf("read %d events: %v", len(page), err)
		}
		read += len(page)
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "events/s")
}
