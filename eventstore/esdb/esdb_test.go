package esdb_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/esdb"
	"github.com/streamledger/streamledger/eventstore/esdb/esdbtest"
	"github.com/streamledger/streamledger/eventstore/storetest"
)

func startServer(t testing.TB) *esdbtest.Server {
	t.Helper()
	srv, err := esdbtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func open(t testing.TB, url string, cfg esdb.Config) *esdb.Store {
	t.Helper()
	s, err := esdb.Open(context.Background(), url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type target struct {
	url string
	cfg esdb.Config
}

// harness opens each store on a target of its own; Reopen connects again to the same one.
func harness(newTarget func(t *testing.T) target) storetest.Harness {
	var mu sync.Mutex
	targets := map[eventstore.Store]target{}
	openOn := func(t *testing.T, tg target) eventstore.Store {
		s := open(t, tg.url, tg.cfg)
		mu.Lock()
		targets[s] = tg
		mu.Unlock()
		return s
	}
	return storetest.Harness{
		Open: func(t *testing.T) eventstore.Store { return openOn(t, newTarget(t)) },
		Reopen: func(t *testing.T, s eventstore.Store) eventstore.Store {
			mu.Lock()
			tg := targets[s]
			mu.Unlock()
			s.Close()
			return openOn(t, tg)
		},
	}
}

// TestConformance runs the store suite over real gRPC against the in-process server.
func TestConformance(t *testing.T) {
	storetest.Run(t, harness(func(t *testing.T) target { return target{url: startServer(t).URL()} }))
}

// TestConformanceRealServer runs the same suite against an EventStoreDB server when EVENTSTORE_URL names one
// (docs/eventstore.md, "EventStoreDB"). Every store gets a namespace of its own, so one server serves any number of runs.
func TestConformanceRealServer(t *testing.T) {
	url := os.Getenv("EVENTSTORE_URL")
	if url == "" {
		t.Skip("EVENTSTORE_URL is not set; TestConformance covers the backend against the in-process server")
	}
	storetest.Run(t, harness(func(t *testing.T) target {
		return target{url: url, cfg: esdb.Config{Namespace: "conformance-" + uuid.NewString()[:8] + "-"}}
	}))
}

// BenchmarkAppend measures appends over gRPC to the in-process server: the backend's own cost (encoding, the index,
// the mirror writes) plus the protocol's, not a real server's disk. 500 events of the benchmark's 1.1 KiB are what
// fits EventStoreDB's default 1 MiB append limit.
func BenchmarkAppend(b *testing.B) {
	storetest.BenchmarkAppendSizes(b, func(b *testing.B) eventstore.Store { return open(b, startServer(b).URL(), esdb.Config{}) }, 1, 100, 500)
}

func BenchmarkReadAll(b *testing.B) {
	storetest.BenchmarkReadAll(b, func(b *testing.B) eventstore.Store { return open(b, startServer(b).URL(), esdb.Config{}) })
}
