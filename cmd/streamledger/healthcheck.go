package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// runHealthcheck asks the serve listening on LISTEN_ADDR (on this host) for /health and fails unless it answers
// 200: the container image's HEALTHCHECK, which has no shell or curl to do it.
func runHealthcheck(ctx context.Context, env *runEnv, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: healthcheck takes no arguments, got %q", errUsage, args)
	}
	_, port, err := net.SplitHostPort(env.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("%w: --listen-addr / LISTEN_ADDR %q: %v", errUsage, env.cfg.ListenAddr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort("127.0.0.1", port)+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s", resp.Status)
	}
	fmt.Fprintln(env.stdout, "healthy")
	return nil
}
