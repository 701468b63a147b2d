package memory_test

import (
	"testing"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/eventstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) eventstore.Store {
			s := memory.New()
			t.Cleanup(func() { s.Close() })
			return s
		},
		// A memory store has nothing to reopen; the same instance stands for the restarted one.
		Reopen: func(t *testing.T, s eventstore.Store) eventstore.Store { return s },
	})
}
