package domain

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestStoreStreamNamesAndIDs(t *testing.T) {
	if ContractStoreStream(testContract) != "contract-"+testContract || LedgerStoreStream("ab") != "ledgers-ab" {
		t.Fatal("store stream names")
	}
	// TOID of ledger 1, tx 1, op 0 is 1<<32 | 1<<12.
	if got := ChainEventID(1, 1, 0, 7); got != "0000000004294971392-0000000007" {
		t.Fatalf("chain event id %s", got)
	}
	a := ChainEventUUID("net", "lh", "tx", 0, 1)
	if a != ChainEventUUID("net", "lh", "tx", 0, 1) || a == ChainEventUUID("net", "lh2", "tx", 0, 1) || a == ChainEventUUID("net", "lh", "tx", 0, 2) {
		t.Fatal("chain event ids must be stable per position and differ per branch")
	}
	if DerivedEventUUID("ledger", "1") == DerivedEventUUID("ledger", "2") {
		t.Fatal("derived ids must differ")
	}
	if NetworkID("Public Global Stellar Network ; September 2015") != "7ac33997544e3175d266bd022439b22cdb16508c01163f26e5cb2a3e1045a979" {
		t.Fatal("network id")
	}
}

// TestChainEventUUIDIsUUIDv5: chain and derived ids are exactly uuid.NewSHA1's over the name, as they always were (stored
// events are found again by them), also for names longer than the stack buffer.
func TestChainEventUUIDIsUUIDv5(t *testing.T) {
	long := strings.Repeat("f", 300)
	for _, c := range []struct {
		network, ledger, tx string
		op, event           uint32
	}{
		{"cee0302d59844d32bdca915c8203dd44b33fbb7edc19051ea37abedf28ecd472", "963f3cb6", "6f8f0676", 0, 1},
		{"", "", "", 0, 0},
		{long, long, long, 1<<32 - 1, 7},
	} {
		name := fmt.Sprintf("%s|%s|%s|%d|%d", c.network, c.ledger, c.tx, c.op, c.event)
		want := uuid.NewSHA1(eventNamespace, []byte(name)).String()
		if got := ChainEventUUID(c.network, c.ledger, c.tx, c.op, c.event); got != want {
			t.Fatalf("%q: %s, want %s", name, got, want)
		}
	}
	for _, parts := range [][]string{nil, {"1"}, {"a", "", long}} {
		name := strings.Join(append([]string{"ledger"}, parts...), "|")
		if got, want := DerivedEventUUID("ledger", parts...), uuid.NewSHA1(eventNamespace, []byte(name)).String(); got != want {
			t.Fatalf("derived %q: %s, want %s", name, got, want)
		}
	}
}
