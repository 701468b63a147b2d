package main

import (
	"context"
	"fmt"
	"log/slog"
)

func runServe(ctx context.Context, env *runEnv, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: serve takes no arguments, got %q", errUsage, args)
	}
	env.log.LogAttrs(ctx, slog.LevelInfo, "starting", append([]slog.Attr{slog.String("version", version)}, env.summ...)...)
	return fmt.Errorf("serve: the ingestion and API pipeline is not part of this build yet")
}
