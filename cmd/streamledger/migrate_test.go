package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/streamledger/streamledger/internal/pgtest"
)

func TestMigrateCommand(t *testing.T) {
	url := pgtest.Database(t, pgtest.URL(t))
	for i := 0; i < 2; i++ { // idempotent
		code, _, stderr := runCLI([]string{"migrate"}, map[string]string{"DATABASE_URL": url})
		if code != exitOK || !strings.Contains(stderr, "migrations applied") {
			t.Fatalf("migrate: exit %d: %s", code, stderr)
		}
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(context.Background(), "SELECT to_regclass('streamledger.events') IS NOT NULL").Scan(&exists); err != nil || !exists {
		t.Fatalf("events table missing: %v", err)
	}
	if code, _, stderr := runCLI([]string{"migrate"}, nil); code != exitUsage || !strings.Contains(stderr, "DATABASE_URL") {
		t.Fatalf("without a database: exit %d: %s", code, stderr)
	}
}
