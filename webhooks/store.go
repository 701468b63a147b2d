package webhooks

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/streamledger/streamledger/internal/boltpages"
	"github.com/streamledger/streamledger/projections/outbox"
)

// ErrNotFound means no endpoint or delivery has the id asked for.
var ErrNotFound = errors.New("not found")

// DeliveryFilter narrows a delivery listing; zero fields do not filter. Listings are newest first, keyed by Seq.
type DeliveryFilter struct {
	EndpointID string
	State      JobState
	EventID    string
	BeforeSeq  uint64 // 0: from the newest
}

func (f DeliveryFilter) match(j *Job) bool {
	return (f.EndpointID == "" || j.EndpointID == f.EndpointID) && (f.State == "" || j.State == f.State) &&
		(f.EventID == "" || j.EventID == f.EventID) && (f.BeforeSeq == 0 || j.Seq < f.BeforeSeq)
}

// Store holds everything webhooks keep: the endpoint registry with its secrets, the deliveries with their attempt
// logs, and how far the outbox has been dispatched into deliveries.
type Store interface {
	Queue
	Endpoints
	Enqueue(ctx context.Context, jobs []Job, now time.Time) error
	Redeliver(ctx context.Context, id string, now time.Time) error
	Get(ctx context.Context, id string) (Job, bool, error)
	List(ctx context.Context, f DeliveryFilter, limit int) ([]Job, error)

	AddEndpoint(ctx context.Context, e Endpoint) error
	UpdateEndpoint(ctx context.Context, e Endpoint) error
	RemoveEndpoint(ctx context.Context, id string) error
	ListEndpoints(ctx context.Context) ([]Endpoint, error)

	DispatchCursor(ctx context.Context) (outbox.Cursor, error)
	SetDispatchCursor(ctx context.Context, c outbox.Cursor) error
}

// MemoryStore keeps webhooks state in memory, and in a bbolt file when opened with OpenFileStore (the embedded
// mode: deliveries, attempt logs and secrets survive a restart, so a restart neither loses nor re-sends a delivery).
// Leases stay in memory: a crash releases them, which is what a lease is for. Every change is written to the file
// before it is made visible, under the store's lock.
//
// With a file, memory holds only an index of the oldest pending deliveries of each endpoint (what Claim hands out:
// no bodies, no attempt logs), at most window of them an endpoint; the file holds the rest of the backlog, which a
// backlog that outgrows delivery (a backfill of history to a slow endpoint) leaves there until memory has room again.
// The window is per endpoint so that an endpoint that is down, its deliveries waiting for their retries, never keeps
// another's out. Bodies, logs and the delivered and dead deliveries are read from the file when asked for.
type MemoryStore struct {
	mu        sync.Mutex
	jobs      map[string]*Job // every job; with a file, the pending ones in the endpoints' windows
	ids       []string        // the ids of jobs, in enqueue order; with a file, also of some no longer pending
	gone      int             // how many of ids are no longer in jobs (dropped lazily: a delete per delivery was O(n))
	lastSeq   uint64
	backlog   map[string]*backlog // with a file: each endpoint's pending deliveries, in memory and in the file
	window    int
	endpoints map[string]Endpoint
	cursor    outbox.Cursor
	file      *bbolt.DB // nil: memory only
	release   *boltpages.Releaser
}

// releaseEvery is how many deliveries read or written at random pass between two releases of the file's resident
// pages: each touches a page somewhere in the file (delivery ids are random), and the kernel maps the page's
// neighbours too (64 KiB a fault): a few MiB between releases.
const releaseEvery = 64

// backlog is where an endpoint's pending deliveries are: every one of seq up to loadedTo is in memory, and, unless
// spilled, every one after it too.
type backlog struct {
	loadedTo uint64
	spilled  bool
	resident int
}

// pendingWindow is how many pending deliveries a file store holds in memory: enough for the worker's claims to
// stay busy, few enough that a backlog of millions stays in the file.
const pendingWindow = 4096

// NewMemoryStore returns an empty store that lives as long as the process.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{jobs: map[string]*Job{}, endpoints: map[string]Endpoint{}, backlog: map[string]*backlog{},
		window: pendingWindow}
}

var (
	bucketJobs      = []byte("deliveries")
	bucketBySeq     = []byte("deliveries-by-seq") // big-endian seq → delivery id: listings, newest first
	bucketPending   = []byte("pending")           // endpoint id 0x00 big-endian seq → delivery id: the backlog
	bucketEndpoints = []byte("endpoints")
	bucketMeta      = []byte("meta")
	keyCursor       = []byte("dispatch-cursor")
)

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// pendingKey files a pending delivery under its endpoint (ids hold no 0x00), in seq order.
func pendingKey(endpointID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(endpointID), 0), seq)
}

// storedEndpoint is an endpoint as the file keeps it, secrets included.
type storedEndpoint struct {
	Endpoint
	Secret         string `json:"secret"`
	PreviousSecret string `json:"previousSecret,omitempty"`
}

// OpenFileStore opens (creating when missing, readable by the owner only: it holds secrets) the store kept in the
// file at path.
func OpenFileStore(path string) (*MemoryStore, error) { return openFile(path, pendingWindow) }

// openFile opens the store in the file at path, holding at most window pending deliveries an endpoint in memory.
func openFile(path string, window int) (*MemoryStore, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open webhooks file %s: %w", path, err)
	}
	s := NewMemoryStore()
	s.file, s.release, s.window = db, boltpages.NewReleaser(db, releaseEvery), window
	err = db.Update(func(tx *bbolt.Tx) error {
		// Files written before an index get it now, in one pass over the deliveries.
		indexed := tx.Bucket(bucketBySeq) != nil && tx.Bucket(bucketPending) != nil
		for _, b := range [][]byte{bucketJobs, bucketBySeq, bucketPending, bucketEndpoints, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if !indexed {
			if err := tx.Bucket(bucketJobs).ForEach(func(_, v []byte) error {
				var j Job
				if err := json.Unmarshal(v, &j); err != nil {
					return err
				}
				return indexJob(tx, &j)
			}); err != nil {
				return err
			}
		}
		if k, _ := tx.Bucket(bucketBySeq).Cursor().Last(); k != nil {
			s.lastSeq = binary.BigEndian.Uint64(k)
		}
		// Every endpoint with a backlog starts with it in the file; refill below brings the oldest in.
		c := tx.Bucket(bucketPending).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Seek(append(k[:len(k)-9:len(k)-9], 1)) { // the seek passes the endpoint
			s.backlog[string(k[:len(k)-9])] = &backlog{spilled: true}
		}
		if err := tx.Bucket(bucketEndpoints).ForEach(func(_, v []byte) error {
			var se storedEndpoint
			if err := json.Unmarshal(v, &se); err != nil {
				return err
			}
			se.Endpoint.Secret, se.Endpoint.PreviousSecret = se.Secret, se.PreviousSecret
			s.endpoints[se.ID] = se.Endpoint
			return nil
		}); err != nil {
			return err
		}
		if raw := tx.Bucket(bucketMeta).Get(keyCursor); raw != nil {
			return json.Unmarshal(raw, &s.cursor)
		}
		return nil
	})
	if err == nil {
		err = s.refill()
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("load webhooks file %s: %w", path, err)
	}
	return s, nil
}

// indexJob files a delivery in the seq index and, while pending, in the backlog.
func indexJob(tx *bbolt.Tx, j *Job) error {
	if err := tx.Bucket(bucketBySeq).Put(seqKey(j.Seq), []byte(j.ID)); err != nil {
		return err
	}
	key := pendingKey(j.EndpointID, j.Seq)
	if j.State == Pending {
		return tx.Bucket(bucketPending).Put(key, []byte(j.ID))
	}
	return tx.Bucket(bucketPending).Delete(key)
}

// refill brings pending deliveries from the file into memory, oldest first, for every endpoint that has fewer than
// half its window in memory and more in the file.
func (s *MemoryStore) refill() error {
	if s.file == nil {
		return nil
	}
	for endpoint, b := range s.backlog {
		if !b.spilled || b.resident > s.window/2 {
			continue
		}
		before := b.resident
		if err := s.file.View(func(tx *bbolt.Tx) error { return s.refillFrom(tx, endpoint, b) }); err != nil {
			return fmt.Errorf("read the webhook backlog of endpoint %s: %w", endpoint, err)
		}
		_ = s.release.Touched(b.resident - before)
	}
	return nil
}

func (s *MemoryStore) refillFrom(tx *bbolt.Tx, endpoint string, b *backlog) error {
	deliveries := tx.Bucket(bucketJobs)
	prefix := append([]byte(endpoint), 0)
	c := tx.Bucket(bucketPending).Cursor()
	k, id := c.Seek(pendingKey(endpoint, b.loadedTo+1))
	for ; k != nil && bytes.HasPrefix(k, prefix) && b.resident < s.window; k, id = c.Next() {
		raw := deliveries.Get(id)
		if raw == nil {
			return fmt.Errorf("pending delivery %s is not in the file", id)
		}
		var j Job
		if err := json.Unmarshal(raw, &j); err != nil {
			return fmt.Errorf("read delivery %s: %w", id, err)
		}
		j.Body, j.Log, j.LeaseUntil = nil, nil, time.Time{}
		s.compact()
		// Refills of two endpoints interleave in seq: Claim's order is kept by placing each in it.
		if n := len(s.ids); n == 0 || s.seqOf(s.ids[n-1]) < j.Seq {
			s.ids = append(s.ids, j.ID)
		} else {
			i, _ := slices.BinarySearchFunc(s.ids, j.Seq, func(id string, seq uint64) int { return cmp.Compare(s.seqOf(id), seq) })
			s.ids = slices.Insert(s.ids, i, j.ID)
		}
		s.jobs[j.ID] = &j
		b.resident++
		b.loadedTo = j.Seq
	}
	if k == nil || !bytes.HasPrefix(k, prefix) {
		b.spilled = false
	}
	return nil
}

// Close closes the file, if there is one.
func (s *MemoryStore) Close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}

// write runs fn in a file transaction; a memory-only store has nothing to write.
func (s *MemoryStore) write(fn func(tx *bbolt.Tx) error) error {
	if s.file == nil {
		return nil
	}
	if err := s.file.Update(fn); err != nil {
		return fmt.Errorf("write webhooks file: %w", err)
	}
	_ = s.release.Touched(1) // a failure leaves pages resident, nothing else
	return nil
}

func putJSON(tx *bbolt.Tx, bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put(key, raw)
}

// saveJobs writes jobs to the file (the lease excluded) and then makes them visible: in memory while pending (or
// always, without a file).
func (s *MemoryStore) saveJobs(jobs ...Job) error {
	err := s.write(func(tx *bbolt.Tx) error {
		for _, j := range jobs {
			j.LeaseUntil = time.Time{}
			if err := putJSON(tx, bucketJobs, []byte(j.ID), j); err != nil {
				return err
			}
			if err := indexJob(tx, &j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	_ = s.release.Touched(len(jobs)) // a failure leaves pages resident, nothing else
	for _, j := range jobs {
		_, known := s.jobs[j.ID]
		b := s.backlog[j.EndpointID]
		if b == nil && s.file != nil {
			b = &backlog{}
			s.backlog[j.EndpointID] = b
		}
		if s.file != nil && j.State != Pending {
			if known {
				delete(s.jobs, j.ID)
				s.gone++
				b.resident--
			}
			continue
		}
		if s.file != nil && !known {
			switch {
			case j.Seq <= b.loadedTo: // redelivered: memory holds its neighbours
			case !b.spilled && b.resident < s.window: // every older one is in memory, and there is room
				b.loadedTo = j.Seq
			default: // the backlog is in the file: refill brings it in its turn
				b.spilled = true
				continue
			}
			b.resident++
		}
		if !known && j.Seq > s.lastSeq { // newly enqueued: the newest
			s.compact()
			s.ids = append(s.ids, j.ID)
		} else if !known {
			s.compact()
			i, _ := slices.BinarySearchFunc(s.ids, j.Seq, func(id string, seq uint64) int { return cmp.Compare(s.seqOf(id), seq) })
			if i < len(s.ids) && s.ids[i] == j.ID { // it left and came back (redelivered): its place is kept
				s.gone--
			} else {
				s.ids = slices.Insert(s.ids, i, j.ID)
			}
		}
		if s.file != nil {
			j.Body, j.Log = nil, nil // in the file
		}
		s.jobs[j.ID] = &j
	}
	return nil
}

// seqOf is the seq of a job in ids, which may have left memory (then it is read back: only while placing a
// redelivered job among them).
func (s *MemoryStore) seqOf(id string) uint64 {
	if j, ok := s.jobs[id]; ok {
		return j.Seq
	}
	j, _, _ := s.stored(id)
	return j.Seq
}

// compact drops from ids the jobs no longer in memory, once they are half of it.
func (s *MemoryStore) compact() {
	if s.gone == 0 || s.gone < len(s.ids)/2 {
		return
	}
	s.ids = slices.DeleteFunc(s.ids, func(id string) bool { _, ok := s.jobs[id]; return !ok })
	s.gone = 0
}

// stored reads a job that is not in memory from the file.
func (s *MemoryStore) stored(id string) (Job, bool, error) {
	if s.file == nil {
		return Job{}, false, nil
	}
	var j Job
	found := false
	err := s.file.View(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketJobs).Get([]byte(id))
		if raw == nil {
			return nil
		}
		found = true
		return json.Unmarshal(raw, &j)
	})
	if err != nil {
		return Job{}, false, fmt.Errorf("read delivery %s: %w", id, err)
	}
	return j, found, nil
}

// lookup is a whole job: from memory without a file, else from the file (with its lease, which only memory has).
func (s *MemoryStore) lookup(id string) (Job, bool, error) {
	if s.file == nil {
		if j, ok := s.jobs[id]; ok {
			return *j, true, nil
		}
		return Job{}, false, nil
	}
	j, ok, err := s.stored(id)
	if m, resident := s.jobs[id]; ok && resident {
		j.LeaseUntil = m.LeaseUntil
	}
	return j, ok, err
}

// Enqueue adds deliveries due now; a delivery id already queued is left as it is.
func (s *MemoryStore) Enqueue(_ context.Context, jobs []Job, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var fresh []Job
	seen := map[string]bool{}
	_ = s.release.Touched(len(jobs)) // each is looked up in the file
	for _, j := range jobs {
		if seen[j.ID] {
			continue
		}
		if _, ok, err := s.lookup(j.ID); err != nil {
			return err
		} else if ok {
			continue
		}
		seen[j.ID] = true
		j.Seq = s.lastSeq + uint64(len(fresh)) + 1
		j.State, j.NextAt, j.CreatedAt, j.Attempts, j.Log = Pending, now, now, 0, nil
		fresh = append(fresh, j)
	}
	if err := s.saveJobs(fresh...); err != nil {
		return err
	}
	s.lastSeq += uint64(len(fresh))
	return nil
}

// Claim leases up to limit due jobs, oldest first.
func (s *MemoryStore) Claim(_ context.Context, now time.Time, limit int, lease time.Duration) ([]Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refill(); err != nil {
		return nil, err
	}
	var out []Job
	for _, id := range s.ids {
		j, ok := s.jobs[id]
		if !ok {
			continue // delivered or dead: left memory
		}
		if len(out) == limit {
			break
		}
		if j.State != Pending || j.NextAt.After(now) || j.LeaseUntil.After(now) {
			continue
		}
		j.LeaseUntil = now.Add(lease)
		c := *j
		c.Log = nil
		out = append(out, c)
	}
	if s.file != nil && len(out) > 0 { // the bodies are in the file
		err := s.file.View(func(tx *bbolt.Tx) error {
			for i := range out {
				raw := tx.Bucket(bucketJobs).Get([]byte(out[i].ID))
				var stored Job
				if raw == nil {
					return fmt.Errorf("delivery %s is not in the file", out[i].ID)
				}
				if err := json.Unmarshal(raw, &stored); err != nil {
					return fmt.Errorf("read delivery %s: %w", out[i].ID, err)
				}
				out[i].Body = stored.Body
			}
			return nil
		})
		if err != nil {
			for _, c := range out { // not handed out after all
				s.jobs[c.ID].LeaseUntil = time.Time{}
			}
			return nil, err
		}
		_ = s.release.Touched(len(out)) // the bodies lie all over the file
	}
	return out, nil
}

// Finish records an attempt and the job's new state, and releases the lease.
func (s *MemoryStore) Finish(ctx context.Context, id string, a Attempt, state JobState, next time.Time) error {
	return s.FinishMany(ctx, []Result{{ID: id, Attempt: a, State: state, Next: next}})
}

// FinishMany records the results of a batch of attempts in one write (with a file: one transaction, one sync).
func (s *MemoryStore) FinishMany(_ context.Context, results []Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	jobs := make([]Job, 0, len(results))
	var errs []error
	for _, r := range results {
		j, ok, err := s.lookup(r.ID)
		if err != nil {
			return err
		}
		if !ok {
			errs = append(errs, fmt.Errorf("finish delivery %s: %w", r.ID, ErrNotFound))
			continue
		}
		if r.Attempt.Number > 0 {
			j.Attempts = r.Attempt.Number
			j.Log = append(slices.Clip(j.Log), r.Attempt)
		}
		j.State, j.NextAt, j.LeaseUntil = r.State, r.Next, time.Time{}
		jobs = append(jobs, j)
	}
	return errors.Join(append(errs, s.saveJobs(jobs...))...)
}

// Redeliver queues a job again, due now, with the same delivery id; its attempt log stays.
func (s *MemoryStore) Redeliver(_ context.Context, id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok, err := s.lookup(id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("redeliver %s: %w", id, ErrNotFound)
	}
	j.State, j.NextAt, j.Attempts = Pending, now, 0
	return s.saveJobs(j)
}

// Get returns a job with its attempt log.
func (s *MemoryStore) Get(_ context.Context, id string) (Job, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok, err := s.lookup(id)
	if err != nil || !ok {
		return Job{}, false, err
	}
	j.Log = slices.Clone(j.Log)
	return j, true, nil
}

// List returns up to limit jobs matching f, newest first, without their bodies and attempt logs.
func (s *MemoryStore) List(_ context.Context, f DeliveryFilter, limit int) ([]Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Job
	if s.file == nil {
		for i := len(s.ids) - 1; i >= 0 && len(out) < limit; i-- {
			j := s.jobs[s.ids[i]]
			if f.match(j) {
				c := *j
				c.Body, c.Log = nil, nil
				out = append(out, c)
			}
		}
		return out, nil
	}
	// Newest first through the seq index; a pending job is shown as memory has it (its lease aside, the same).
	err := s.file.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketBySeq).Cursor()
		var k, id []byte
		if f.BeforeSeq == 0 {
			k, id = c.Last()
		} else if at, _ := c.Seek(seqKey(f.BeforeSeq)); at == nil { // every seq is before it
			k, id = c.Last()
		} else {
			k, id = c.Prev()
		}
		for ; k != nil && len(out) < limit; k, id = c.Prev() {
			var j Job
			if m, ok := s.jobs[string(id)]; ok {
				j = *m
			} else if raw := tx.Bucket(bucketJobs).Get(id); raw == nil {
				continue
			} else if err := json.Unmarshal(raw, &j); err != nil {
				return fmt.Errorf("read delivery %s: %w", id, err)
			}
			if f.match(&j) {
				j.Body, j.Log = nil, nil
				out = append(out, j)
			}
		}
		return nil
	})
	return out, err
}

func (s *MemoryStore) saveEndpoint(e Endpoint) error {
	err := s.write(func(tx *bbolt.Tx) error {
		return putJSON(tx, bucketEndpoints, []byte(e.ID), storedEndpoint{Endpoint: e, Secret: e.Secret, PreviousSecret: e.PreviousSecret})
	})
	if err != nil {
		return err
	}
	s.endpoints[e.ID] = e
	return nil
}

// AddEndpoint registers e.
func (s *MemoryStore) AddEndpoint(_ context.Context, e Endpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.endpoints[e.ID]; ok {
		return fmt.Errorf("endpoint %s is already registered", e.ID)
	}
	return s.saveEndpoint(e)
}

// UpdateEndpoint replaces a registered endpoint.
func (s *MemoryStore) UpdateEndpoint(_ context.Context, e Endpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.endpoints[e.ID]; !ok {
		return fmt.Errorf("update endpoint %s: %w", e.ID, ErrNotFound)
	}
	return s.saveEndpoint(e)
}

// RemoveEndpoint forgets an endpoint and its secrets; its deliveries stay in the log.
func (s *MemoryStore) RemoveEndpoint(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.endpoints[id]; !ok {
		return fmt.Errorf("remove endpoint %s: %w", id, ErrNotFound)
	}
	if err := s.write(func(tx *bbolt.Tx) error { return tx.Bucket(bucketEndpoints).Delete([]byte(id)) }); err != nil {
		return err
	}
	delete(s.endpoints, id)
	return nil
}

// Endpoint returns a registered endpoint.
func (s *MemoryStore) Endpoint(_ context.Context, id string) (Endpoint, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.endpoints[id]
	return e, ok, nil
}

// ListEndpoints returns every registered endpoint, oldest first.
func (s *MemoryStore) ListEndpoints(context.Context) ([]Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Endpoint, 0, len(s.endpoints))
	for _, e := range s.endpoints {
		out = append(out, e)
	}
	sortEndpoints(out)
	return out, nil
}

func sortEndpoints(es []Endpoint) {
	sort.Slice(es, func(a, b int) bool {
		if !es[a].CreatedAt.Equal(es[b].CreatedAt) {
			return es[a].CreatedAt.Before(es[b].CreatedAt)
		}
		return es[a].ID < es[b].ID
	})
}

// Disable stops deliveries to an endpoint (its receiver answered 410 Gone).
func (s *MemoryStore) Disable(_ context.Context, id, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.endpoints[id]
	if !ok {
		return nil // removed meanwhile: nothing left to disable
	}
	e.Enabled, e.DisabledReason = false, reason
	return s.saveEndpoint(e)
}

// DispatchCursor is how far the outbox has been turned into deliveries.
func (s *MemoryStore) DispatchCursor(context.Context) (outbox.Cursor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursor, nil
}

// SetDispatchCursor records how far the outbox has been turned into deliveries.
func (s *MemoryStore) SetDispatchCursor(_ context.Context, c outbox.Cursor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(func(tx *bbolt.Tx) error { return putJSON(tx, bucketMeta, keyCursor, c) }); err != nil {
		return err
	}
	s.cursor = c
	return nil
}
