package main

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// The PostgreSQL registry holds the read models every command names, in the order they are built, and refuses
// another name as a usage error.
func TestReadModelRegistry(t *testing.T) {
	m := &pgReadModels{}
	if got := m.readModels().Names(); !slices.Equal(got, projectionNames) {
		t.Fatalf("registry %v, commands name %v", got, projectionNames)
	}
	if _, err := m.open(context.Background(), "balances", 1); !errors.Is(err, errUsage) {
		t.Fatalf("an unknown read model: %v", err)
	}
}
