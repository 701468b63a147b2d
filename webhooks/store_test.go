package webhooks

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/projections/outbox"
	"github.com/streamledger/streamledger/webhooks/signature"
)

func TestStoreKeepsEndpointsAndTheirSecrets(t *testing.T) {
	queues(t, func(t *testing.T, open func() Store) {
		s := open()
		ctx := context.Background()
		at := time.Unix(1_767_225_600, 0).UTC()
		a := Endpoint{ID: "a", URL: "https://a.example/hook", EventTypes: []string{fluxora.WebhookStreamWithdrawn}, Description: "payouts",
			Enabled: true, CreatedAt: at, Secret: signature.GenerateSecret(), ExtraSignatures: []string{"liquifact"}}
		b := Endpoint{ID: "b", URL: "https://b.example/hook", Enabled: true, CreatedAt: at.Add(time.Second), Secret: signature.GenerateSecret()}
		for _, e := range []Endpoint{b, a} {
			if err := s.AddEndpoint(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddEndpoint(ctx, a); err == nil {
			t.Fatal("an endpoint id was registered twice")
		}
		list, err := s.ListEndpoints(ctx)
		if err != nil || len(list) != 2 || list[0].ID != "a" || list[1].ID != "b" {
			t.Fatalf("list: %+v %v", list, err)
		}
		got, ok, err := s.Endpoint(ctx, "a")
		if err != nil || !ok || got.Secret != a.Secret || got.URL != a.URL || fmt.Sprint(got.EventTypes) != fmt.Sprint(a.EventTypes) ||
			!got.CreatedAt.Equal(at) || fmt.Sprint(got.ExtraSignatures) != "[liquifact]" {
			t.Fatalf("endpoint a: %+v %v %v", got, ok, err)
		}
		rotated := got
		rotated.PreviousSecret, rotated.PreviousUntil, rotated.Secret = got.Secret, at.Add(time.Hour), signature.GenerateSecret()
		if err := s.UpdateEndpoint(ctx, rotated); err != nil {
			t.Fatal(err)
		}
		got, _, _ = s.Endpoint(ctx, "a")
		if fmt.Sprint(got.ExtraSignatures) != "[liquifact]" {
			t.Fatalf("an update lost the extra scheme: %+v", got)
		}
		if fmt.Sprint(got.SigningSecrets(at)) != fmt.Sprint([]string{rotated.Secret, a.Secret}) ||
			fmt.Sprint(got.SigningSecrets(at.Add(time.Hour))) != fmt.Sprint([]string{rotated.Secret}) {
			t.Fatalf("rotation: %v, then %v", got.SigningSecrets(at), got.SigningSecrets(at.Add(time.Hour)))
		}
		if err := s.Disable(ctx, "b", "410"); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.Endpoint(ctx, "b"); got.Enabled || got.DisabledReason != "410" {
			t.Fatalf("disabled: %+v", got)
		}
		if err := s.RemoveEndpoint(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Endpoint(ctx, "b"); ok {
			t.Fatal("a removed endpoint is still there")
		}
		for name, err := range map[string]error{"remove": s.RemoveEndpoint(ctx, "b"), "update": s.UpdateEndpoint(ctx, b),
			"redeliver": s.Redeliver(ctx, id("nope"), at)} {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s of an unknown id: %v, want ErrNotFound", name, err)
			}
		}
	})
}

func TestStoreListsDeliveriesNewestFirstWithFilters(t *testing.T) {
	queues(t, func(t *testing.T, open func() Store) {
		s := open()
		ctx := context.Background()
		now := time.Unix(1_767_225_600, 0)
		for i := range 6 {
			ep := []string{"a", "b"}[i%2]
			enqueue(t, s, now, Job{ID: fmt.Sprint(i), EndpointID: ep, EventID: fmt.Sprint("event-", i/2)})
		}
		if err := s.Finish(ctx, id("0"), Attempt{Number: 1, At: now, Status: 500, Outcome: Retry}, Dead, time.Time{}); err != nil {
			t.Fatal(err)
		}
		list := func(f DeliveryFilter, limit int) string {
			t.Helper()
			jobs, err := s.List(ctx, f, limit)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, j := range jobs {
				for n := range 6 {
					if j.ID == id(fmt.Sprint(n)) {
						out = append(out, fmt.Sprint(n))
					}
				}
				if j.Body != nil || j.Log != nil {
					t.Fatal("a listing carries bodies or attempt logs")
				}
			}
			return fmt.Sprint(out)
		}
		all, _ := s.List(ctx, DeliveryFilter{}, 100)
		cases := []struct {
			f     DeliveryFilter
			limit int
			want  string
		}{
			{DeliveryFilter{}, 100, "[5 4 3 2 1 0]"},
			{DeliveryFilter{}, 2, "[5 4]"},
			{DeliveryFilter{BeforeSeq: all[1].Seq}, 2, "[3 2]"},
			{DeliveryFilter{EndpointID: "a"}, 100, "[4 2 0]"},
			{DeliveryFilter{State: Dead}, 100, "[0]"},
			{DeliveryFilter{State: Pending, EndpointID: "a"}, 100, "[4 2]"},
			{DeliveryFilter{EventID: "event-1"}, 100, "[3 2]"},
		}
		for _, c := range cases {
			if got := list(c.f, c.limit); got != c.want {
				t.Errorf("%+v limit %d: %s, want %s", c.f, c.limit, got, c.want)
			}
		}
		if j := get(t, s, "0"); j.EventID != "event-0" || j.Seq == 0 || !j.CreatedAt.Equal(now) {
			t.Fatalf("stored delivery: %+v", j)
		}
	})
}

func TestStoreKeepsTheDispatchCursor(t *testing.T) {
	queues(t, func(t *testing.T, open func() Store) {
		s := open()
		ctx := context.Background()
		if c, err := s.DispatchCursor(ctx); err != nil || c != (outbox.Cursor{}) {
			t.Fatalf("fresh cursor: %+v %v", c, err)
		}
		want := outbox.Cursor{FinalPosition: 9, EventPosition: 7, EndpointID: "x"}
		for range 2 {
			if err := s.SetDispatchCursor(ctx, want); err != nil {
				t.Fatal(err)
			}
		}
		if c, err := s.DispatchCursor(ctx); err != nil || c != want {
			t.Fatalf("cursor: %+v %v", c, err)
		}
	})
}

// The embedded mode's file keeps deliveries, their attempt logs, endpoints with their secrets and the cursor
// across a restart; leases do not survive it (a crash releases them).
func TestFileStoreSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	now := time.Unix(1_767_225_600, 0).UTC()
	s := openFileStore(t, dir)
	ep := Endpoint{ID: "a", URL: "https://a.example/hook", Enabled: true, CreatedAt: now, Secret: signature.GenerateSecret()}
	if err := s.AddEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	enqueue(t, s, now, Job{ID: "done", EndpointID: "a"}, Job{ID: "leased", EndpointID: "a"})
	if err := s.Finish(ctx, id("done"), Attempt{Number: 1, At: now, Status: 200, Outcome: Delivered}, Succeeded, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if claimed, _ := s.Claim(ctx, now, 10, time.Hour); len(claimed) != 1 {
		t.Fatalf("claimed %d", len(claimed))
	}
	if err := s.SetDispatchCursor(ctx, outbox.Cursor{FinalPosition: 3}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openFileStore(t, dir)
	if j := get(t, s, "done"); j.State != Succeeded || len(j.Log) != 1 || j.Log[0].Status != 200 {
		t.Fatalf("after restart: %+v", j)
	}
	if claimed, _ := s.Claim(ctx, now, 10, time.Hour); len(claimed) != 1 || claimed[0].ID != id("leased") {
		t.Fatalf("after restart the leased delivery is claimable again: %+v", claimed)
	}
	if got, ok, _ := s.Endpoint(ctx, "a"); !ok || got.Secret != ep.Secret {
		t.Fatal("the endpoint or its secret did not survive the restart")
	}
	if c, _ := s.DispatchCursor(ctx); c.FinalPosition != 3 {
		t.Fatalf("cursor after restart: %+v", c)
	}
	enqueue(t, s, now, Job{ID: "later", EndpointID: "a"})
	if j := get(t, s, "later"); j.Seq != 3 {
		t.Fatalf("sequence after restart: %d, want 3", j.Seq)
	}
}

// TestFileStoreKeepsOnlyTheBacklogInMemory: with a file, delivered and dead deliveries leave memory (their bodies and
// logs stay in the file, and every read still finds them); memory holds the pending ones, also after a restart,
// and a delivery id already stored is never queued twice.
func TestFileStoreKeepsOnlyTheBacklogInMemory(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	now := time.Unix(1_767_225_600, 0).UTC()
	s := openFileStore(t, dir)
	const n = 500
	var jobs []Job
	for i := range n {
		jobs = append(jobs, Job{ID: fmt.Sprint("j", i), EndpointID: "a", EventID: fmt.Sprint("e", i), Body: make([]byte, 1024)})
	}
	enqueue(t, s, now, jobs...)
	for i := range n - 3 {
		state := Succeeded
		if i%10 == 0 {
			state = Dead
		}
		if err := s.Finish(ctx, id(fmt.Sprint("j", i)), Attempt{Number: 1, At: now, Status: 200}, state, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	resident := func(s *MemoryStore) int {
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.ids)-s.gone != len(s.jobs) {
			t.Fatalf("%d ids (%d gone) for %d jobs", len(s.ids), s.gone, len(s.jobs))
		}
		return len(s.jobs)
	}
	if got := resident(s); got != 3 {
		t.Fatalf("%d deliveries in memory, want the 3 pending", got)
	}
	s.mu.Lock()
	for _, j := range s.jobs {
		if j.Body != nil {
			t.Fatal("a pending delivery's body is held in memory")
		}
	}
	s.mu.Unlock()
	if j := get(t, s, fmt.Sprint("j", n-1)); j.State != Pending || len(j.Body) != 1024 {
		t.Fatalf("a pending job from the file: %+v", j)
	}
	if j := get(t, s, "j7"); j.State != Succeeded || len(j.Body) != 1024 || len(j.Log) != 1 {
		t.Fatalf("a delivered job from the file: %+v", j)
	}
	dead, err := s.List(ctx, DeliveryFilter{State: Dead}, 1000)
	if err != nil || len(dead) != 50 || dead[0].EventID != "e490" {
		t.Fatalf("dead: %d (%v), first %+v", len(dead), err, dead)
	}
	enqueue(t, s, now, Job{ID: "j7", EndpointID: "a"}) // already delivered: not queued again
	if j := get(t, s, "j7"); j.State != Succeeded || resident(s) != 3 {
		t.Fatalf("a delivered id was queued again: %+v", j)
	}
	if err := s.Redeliver(ctx, id("j10"), now); err != nil {
		t.Fatal(err)
	}
	if claimed, _ := s.Claim(ctx, now, 100, time.Minute); len(claimed) != 4 || claimed[0].ID != id("j10") || len(claimed[1].Body) != 1024 {
		t.Fatalf("claimed %d, first %+v", len(claimed), claimed)
	}
	s.Close()
	s = openFileStore(t, dir)
	if got := resident(s); got != 4 {
		t.Fatalf("after a restart: %d deliveries in memory, want 4", got)
	}
	enqueue(t, s, now, Job{ID: "new", EndpointID: "a"})
	if j := get(t, s, "new"); j.Seq != n+1 {
		t.Fatalf("the next sequence is %d, want %d", j.Seq, n+1)
	}
	all, err := s.List(ctx, DeliveryFilter{}, 3)
	if err != nil || len(all) != 3 || all[0].ID != id("new") || all[1].ID != id(fmt.Sprint("j", n-1)) {
		t.Fatalf("newest first: %+v (%v)", all, err)
	}
}

// TestFinishMany: a batch of results is recorded whole, and one for an unknown delivery is reported without
// losing the others.
func TestFinishMany(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_767_225_600, 0).UTC()
	s := openFileStore(t, t.TempDir())
	enqueue(t, s, now, Job{ID: "a", EndpointID: "e"}, Job{ID: "b", EndpointID: "e"}, Job{ID: "c", EndpointID: "e"})
	err := s.FinishMany(ctx, []Result{
		{ID: id("a"), Attempt: Attempt{Number: 1, At: now, Status: 200}, State: Succeeded},
		{ID: id("nope"), Attempt: Attempt{Number: 1, At: now}, State: Succeeded},
		{ID: id("b"), Attempt: Attempt{Number: 1, At: now, Status: 500}, State: Pending, Next: now.Add(time.Minute)},
	})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err %v, want ErrNotFound for the unknown delivery", err)
	}
	if a, b, c := get(t, s, "a"), get(t, s, "b"), get(t, s, "c"); a.State != Succeeded || len(a.Log) != 1 ||
		b.State != Pending || !b.NextAt.Equal(now.Add(time.Minute)) || b.Attempts != 1 || c.Attempts != 0 {
		t.Fatalf("a %+v\nb %+v\nc %+v", a, b, c)
	}
}

// TestFileStoreBacklogBeyondTheWindow: with more pending deliveries than memory holds, the rest wait in the file and
// come in their turn. An endpoint that is down (its deliveries waiting for retries) fills only its own window, the
// other endpoint's deliveries are all claimed, oldest first, each once, and a restart loses none. The oracle is the
// enqueue order itself.
func TestFileStoreBacklogBeyondTheWindow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webhooks.db")
	ctx := context.Background()
	now := time.Unix(1_767_225_600, 0).UTC()
	const window, n = 4, 60
	s, err := openFile(path, window)
	if err != nil {
		t.Fatal(err)
	}
	var jobs []Job
	for i := range n { // seq i+1: odd seqs to the endpoint that is down, even ones to the one that is up
		jobs = append(jobs, Job{ID: fmt.Sprint("j", i), EndpointID: []string{"down", "up"}[i%2], EventID: fmt.Sprint("e", i)})
	}
	enqueue(t, s, now, jobs...)
	resident := func(s *MemoryStore) map[string]int {
		t.Helper()
		s.mu.Lock()
		defer s.mu.Unlock()
		per := map[string]int{}
		for _, j := range s.jobs {
			per[j.EndpointID]++
		}
		for e, c := range per {
			if c > window || s.backlog[e].resident != c {
				t.Fatalf("endpoint %s: %d deliveries in memory (counted %d), window %d", e, c, s.backlog[e].resident, window)
			}
		}
		return per
	}
	// claim claims until nothing is due, the endpoint "down" failing while down; it returns the seqs claimed.
	claim := func(s *MemoryStore, at time.Time, down bool) (seqs []uint64) {
		t.Helper()
		for {
			claimed, err := s.Claim(ctx, at, 3, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if len(claimed) == 0 {
				return seqs
			}
			var results []Result
			for _, j := range claimed {
				seqs = append(seqs, j.Seq)
				r := Result{ID: j.ID, Attempt: Attempt{Number: j.Attempts + 1, At: at, Status: 200}, State: Succeeded}
				if down && j.EndpointID == "down" {
					r.Attempt.Status, r.State, r.Next = 503, Pending, at.Add(time.Hour)
				}
				results = append(results, r)
			}
			if err := s.FinishMany(ctx, results); err != nil {
				t.Fatal(err)
			}
			resident(s)
		}
	}
	seqs := func(from, step uint64, count int) (out []uint64) {
		for i := range count {
			out = append(out, from+step*uint64(i))
		}
		return out
	}
	got := claim(s, now, true)
	var up, down []uint64
	for _, seq := range got {
		if seq%2 == 0 {
			up = append(up, seq)
		} else {
			down = append(down, seq)
		}
	}
	if !slices.Equal(up, seqs(2, 2, n/2)) || !slices.Equal(down, seqs(1, 2, window)) || !slices.IsSorted(got[:2*window]) {
		t.Fatalf("claimed %v: every delivery of the endpoint that is up, the window of the one that is down, oldest first", got)
	}
	if err := s.Redeliver(ctx, id("j1"), now); err != nil { // seq 2, long delivered
		t.Fatal(err)
	}
	if got := claim(s, now, true); !slices.Equal(got, []uint64{2}) {
		t.Fatalf("after a redelivery: %v", got)
	}
	s.Close()

	s, err = openFile(path, window)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r := resident(s); r["down"] != window || r["up"] != 0 {
		t.Fatalf("after a restart: %v in memory", r)
	}
	if got := claim(s, now.Add(2*time.Hour), false); !slices.Equal(got, seqs(1, 2, n/2)) {
		t.Fatalf("once the endpoint is up again: %v", got)
	}
	if r := resident(s); len(r) != 0 {
		t.Fatalf("everything delivered, and %v still in memory", r)
	}
}
