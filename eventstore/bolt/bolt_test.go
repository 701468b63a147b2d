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

func TestCorruptRecord(t *testing.T) {
	for _, b := range [][]byte{nil, {1}, {200, 200, 200}, append(encode(eventstore.Recorded{ID: "6f1c0a52-3b9e-5d0e-9a57-5e2f0c1d7a10", Stream: "s", Type: "t", Data: []byte("{}")}), 0)} {
		if _, err := decode(1, b); err == nil {
			t.Errorf("decode(%v) succeeded", b)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode(eventstore.Recorded{ID: "6f1c0a52-3b9e-5d0e-9a57-5e2f0c1d7a10", Stream: "s", Type: "t", Data: []byte(`{"a":1}`), Metadata: []byte(`{}`)}))
	f.Add([]byte{5, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decode(1, b)
		if err != nil {
			return
		}
		if again, err := decode(1, encode(r)); err != nil || again.Stream != r.Stream || again.Version != r.Version {
			t.Fatalf("re-encode: %v", err)
		}
	})
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
