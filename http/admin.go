package http

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/projections"
)

// RebuildFunc rebuilds one projection into a new generation and switches it live (projections.Rebuild).
type RebuildFunc func(ctx context.Context, name string) (projections.RebuildResult, error)

// rebuildJob is a rebuild started over the API.
type rebuildJob struct {
	Projection string                     `json:"projection"`
	State      string                     `json:"state"` // running, succeeded, failed
	StartedAt  time.Time                  `json:"startedAt"`
	FinishedAt *time.Time                 `json:"finishedAt,omitempty"`
	Result     *projections.RebuildResult `json:"result,omitempty"`
	Error      string                     `json:"error,omitempty"`
}

// rebuilds runs at most one rebuild at a time, on a context the server cancels when it shuts down.
type rebuilds struct {
	mu   sync.Mutex
	jobs []*rebuildJob
	busy bool
	wg   sync.WaitGroup
	ctx  context.Context
	stop context.CancelFunc
}

func (r *rebuilds) snapshot() []rebuildJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]rebuildJob, len(r.jobs))
	for i, j := range r.jobs {
		out[i] = *j
	}
	return out
}

// projectionsStatus reports every projection and the rebuilds started over the API.
func (s *Server) projectionsStatus(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c); err != nil {
		return err
	}
	var st []projections.Status
	if s.cfg.Projections != nil {
		st = s.cfg.Projections()
	}
	if st == nil {
		st = []projections.Status{}
	}
	return c.JSON(fiber.Map{"data": fiber.Map{"projections": st, "rebuilds": s.rebuilds.snapshot()}})
}

// rebuild starts rebuilding a projection in the background: 202, then progress in GET /api/admin/projections.
func (s *Server) rebuild(c *fiber.Ctx) error {
	name := c.Params("name")
	if !slices.Contains(s.cfg.ProjectionNames, name) {
		return apikit.New(fiber.StatusNotFound, apikit.CodeNotFound, "no projection "+name)
	}
	if s.cfg.Rebuild == nil {
		return apikit.New(fiber.StatusConflict, apikit.CodeConflict,
			"the embedded read models live in memory and are rebuilt at every start; restart serve to rebuild them")
	}
	r := &s.rebuilds
	r.mu.Lock()
	if r.busy {
		r.mu.Unlock()
		return apikit.New(fiber.StatusConflict, apikit.CodeConflict, "a rebuild is already running")
	}
	r.busy = true
	job := &rebuildJob{Projection: name, State: "running", StartedAt: s.cfg.Now().UTC()}
	r.jobs = append(r.jobs, job)
	if len(r.jobs) > 20 {
		r.jobs = r.jobs[len(r.jobs)-20:]
	}
	started := *job
	r.mu.Unlock()
	r.wg.Go(func() {
		res, err := s.cfg.Rebuild(r.ctx, name)
		r.mu.Lock()
		defer r.mu.Unlock()
		now := s.cfg.Now().UTC()
		job.FinishedAt = &now
		switch {
		case errors.Is(err, projections.ErrRebuildDiffers):
			job.State, job.Error = "failed", "the rebuilt projection differs from the live one; nothing was switched (see the server log)"
		case err != nil:
			job.State, job.Error = "failed", "the rebuild failed (see the server log)"
		default:
			job.State, job.Result = "succeeded", &res
		}
		if err != nil {
			s.cfg.Logger.Error("rebuild failed", "projection", name, "err", err)
		}
		r.busy = false
	})
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"data": started})
}

// reconciliationRuns lists the last reconciliation runs, newest first (DESIGN §15).
func (s *Server) reconciliationRuns(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "limit"); err != nil {
		return err
	}
	limit, err := apikit.ParseLimit(c)
	if err != nil {
		return err
	}
	runs := []domain.ReconciliationRan{}
	if s.cfg.ReconciliationRuns != nil {
		if runs, err = s.cfg.ReconciliationRuns(c.UserContext(), limit); err != nil {
			return fmt.Errorf("reconciliation runs: %w", err)
		}
		if runs == nil {
			runs = []domain.ReconciliationRan{}
		}
	}
	return c.JSON(fiber.Map{"data": runs})
}
