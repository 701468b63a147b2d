package bolt

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/storetest"
)

func harness() storetest.Harness {
	paths := map[eventstore.Store]string{}
	return storetest.Harness{
		Open: func(t *testing.T) eventstore.Store {
			path := filepath.Join(t.TempDir(), "data", "events.db")
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			paths[s] = path
			t.Cleanup(func() { s.Close() })
			return s
		},
		Reopen: func(t *testing.T, s eventstore.Store) eventstore.Store {
			path := paths[s]
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			again, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			paths[again] = path
			t.Cleanup(func() { again.Close() })
			return again
		},
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, harness()) }

func TestSecondProcessIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second open: %v", err)
	}
}

func openBench(b *testing.B) eventstore.Store {
	s, err := Open(filepath.Join(b.TempDir(), "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkAppend(b *testing.B)  { storetest.BenchmarkAppend(b, openBench) }
func BenchmarkReadAll(b *testing.B) { storetest.BenchmarkReadAll(b, openBench) }
