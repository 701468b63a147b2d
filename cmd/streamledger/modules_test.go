package main

import (
	"testing"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/config"
)

// Every module of the build binds, and the registry of a command that follows no source knows every module's
// events: a log a LiquiFact escrow was ingested into replays.
func TestEveryModuleBindsAndIsInTheRegistry(t *testing.T) {
	const c = "CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP"
	for _, m := range config.Modules() {
		if _, err := bindContracts([]config.Contract{{Module: m, ID: c}}); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
	codec, err := codecOf(&config.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"StreamCreated", "FactoryInitialized", "EscrowFunded", "EscrowInitialized"} {
		if codec.Events().New(domainType(typ)) == nil {
			t.Errorf("the registry does not know %s", typ)
		}
	}
}

func domainType(s string) domain.EventType { return domain.EventType(s) }
