package main

import (
	"context"
	"fmt"

	"github.com/streamledger/streamledger/eventstore/postgres"
)

// runMigrate brings the PostgreSQL schema up to date. serve runs the same migrations at start; this command is for
// deployments that migrate before rolling out, or with a different database role.
func runMigrate(ctx context.Context, env *runEnv, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: migrate takes no arguments, got %q", errUsage, args)
	}
	if env.cfg.DatabaseURL == "" {
		return fmt.Errorf("%w: --database-url / DATABASE_URL is required", errUsage)
	}
	store, err := postgres.Open(ctx, env.cfg.DatabaseURL, postgres.Config{Logger: env.log})
	if err != nil {
		return err
	}
	defer store.Close()
	env.log.Info("migrations applied", "schema", "streamledger")
	return nil
}
