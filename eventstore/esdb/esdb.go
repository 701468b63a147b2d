// Package esdb is the EventStoreDB backend of eventstore.Store, over EventStore-Client-Go (gRPC).
//
// EventStoreDB appends atomically to one stream at a time, and its $all positions are byte offsets. The store
// contract needs more: a batch that spans several streams (a ledger's events and its LedgerClosed marker, or a
// reorg's compensations) must become visible all at once or not at all, and positions are dense (the projections'
// lag in events and the webhook dispatcher's reads by position count on it). So the store keeps two views in
// EventStoreDB:
//
//   - The commit log, one stream (Config.LogStream, "streamledger-log"): one EventStoreDB event per committed
//     batch, holding the batch's records (eventstore.AppendRecord) and its first global position. Each commit
//     appends with expected revision = the log's last revision, which makes the batch atomic, serialises writers
//     in every process (a writer that lost the race reloads and re-plans), and keeps positions dense: the batch at
//     log revision r starts right after the one at r−1. ReadAll reads the log; SubscribeAll is a catch-up
//     subscription to $all from an explicit position, with a server-side filter that selects the log stream only
//     (so no system events and no mirror events travel), resuming from the last $all position it saw after a
//     dropped connection.
//   - The streams, 1:1: every stream of the batch is appended to the EventStoreDB stream of the same name, with
//     the same event ids, types, data and metadata, expected revision = the version before the batch's first event
//     of that stream. These mirror writes run right after the commit, in log order, and are idempotent (same ids at
//     the same revision), so a writer that crashed between the commit and the mirror, or another process, simply
//     writes them again; Open finds the first log batch not fully mirrored and completes the rest. ReadStream and
//     ReadStreamBackward read these streams, after making sure every batch this process knows of is mirrored.
//
// The store holds an index of what the log holds (each batch's first position, $all position and time; every event
// id with its stream, version and position; every stream's last version), loaded from the log at Open and kept up
// to date by its own appends and by reloading the log's tail when another writer moved it. It costs about 100
// bytes per event, and Open reads the whole log once; the read models live in PostgreSQL, so nothing else does.
//
// EventStoreDB limits an append's size (--max-append-size, 1 MiB by default): a batch whose log event is larger is
// refused with ErrEventTooLarge before anything is written. Raise the server's limit and Config.MaxAppendSize
// together for ledgers that produce more.
package esdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/streamledger/streamledger/eventstore"
)

// Defaults.
const (
	DefaultLogStream     = "streamledger-log"
	DefaultMaxAppendSize = 1 << 20 // EventStoreDB's own default
	// batchType is the EventStoreDB event type of a commit log entry.
	batchType = "streamledger.batch"
	// batchFormat versions the log event's payload.
	batchFormat = 1
	// logPage is how many log events one read asks for while loading.
	logPage = 512
	// clients is how many calls may be in flight at once, each on a client (connection) of its own.
	clients = 8
)

// Config tunes Open.
type Config struct {
	// LogStream names the commit log stream; default DefaultLogStream. Stream names given to the store must differ
	// from it.
	LogStream string
	// Namespace prefixes every EventStoreDB stream name this store writes or reads (the log's too), so several
	// deployments, or test runs, can share one server. Stream "s" is EventStoreDB stream Namespace+"s".
	Namespace string
	// MaxAppendSize is the server's --max-append-size; default DefaultMaxAppendSize.
	MaxAppendSize int
	Logger        *slog.Logger
	// Subscription tunes SubscribeAll's buffer and reconnect attempts; default eventstore.DefaultSubscription.
	Subscription eventstore.SubscriptionConfig
}

// Errors.
var (
	// ErrMirror means an EventStoreDB stream does not hold what the commit log says it should: something other than
	// streamledger wrote to it.
	ErrMirror = errors.New("eventstoredb stream does not match the commit log")
	// ErrLog means the commit log holds an entry this store cannot read.
	ErrLog = errors.New("unreadable commit log entry")
)

// batch is what the index keeps of one log entry.
type batch struct {
	first      eventstore.Position
	count      uint32
	recordedAt time.Time
	all        esdb.Position
}

func (b batch) last() eventstore.Position { return b.first + eventstore.Position(b.count) - 1 }

// stored is what the index keeps of one event.
type stored struct {
	stream   string
	version  eventstore.Version
	position eventstore.Position
}

// Store is the EventStoreDB-backed event store.
type Store struct {
	cfg     Config
	log     *slog.Logger
	conf    *esdb.Configuration
	logOnly *esdb.SubscriptionFilter
	closed  atomic.Bool

	// slots bounds the calls in flight; idle holds connected clients nobody is using (see use).
	slots chan struct{}
	idle  chan *esdb.Client
	// life ends at Close, which ends the subscriptions.
	life context.Context
	end  context.CancelFunc

	// writeMu serialises this process's commits and mirror writes.
	writeMu sync.Mutex
	// stale: an append's outcome is unknown (cancelled, connection lost), so the index must be reloaded first.
	stale bool
	// pending holds the records of own commits not mirrored yet, by log revision, so mirroring needs no read.
	pending map[int][]eventstore.Recorded

	// loadMu serialises changes to the index: a reload of the log's tail and the recording of an own commit.
	loadMu sync.Mutex
	mu     sync.RWMutex
	// batches is the log by revision; mirrored counts the leading batches whose 1:1 streams are complete.
	batches  []batch
	mirrored int
	ids      map[uuid.UUID]stored
	heads    map[string]eventstore.Version
	names    map[string]string // one copy of each stream name for the whole index
}

// Open connects to the EventStoreDB at url (an esdb:// connection string), loads the commit log and completes any
// mirror writes a previous writer left unfinished.
func Open(ctx context.Context, url string, cfg Config) (*Store, error) {
	if cfg.LogStream == "" {
		cfg.LogStream = DefaultLogStream
	}
	if cfg.MaxAppendSize <= 0 {
		cfg.MaxAppendSize = DefaultMaxAppendSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Subscription.Buffer == 0 {
		cfg.Subscription = eventstore.DefaultSubscription
	}
	conf, err := esdb.ParseConnectionString(url)
	if err != nil {
		return nil, fmt.Errorf("open eventstoredb: connection string: %w", err)
	}
	conf.Logger = clientLogger(cfg.Logger)
	s := &Store{
		cfg: cfg, log: cfg.Logger, conf: conf,
		logOnly: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Regex: "^" + regexp.QuoteMeta(cfg.Namespace+cfg.LogStream) + "$"},
		pending: map[int][]eventstore.Recorded{},
		ids:     map[uuid.UUID]stored{}, heads: map[string]eventstore.Version{}, names: map[string]string{},
	}
	s.slots, s.idle = make(chan struct{}, clients), make(chan *esdb.Client, clients)
	for range clients {
		s.slots <- struct{}{}
	}
	s.life, s.end = context.WithCancel(context.Background())
	started := time.Now()
	if err := s.reload(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open eventstoredb: load the commit log: %w", err)
	}
	if err := s.repairMirrors(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open eventstoredb: complete the 1:1 streams: %w", err)
	}
	s.mu.RLock()
	head, n := s.headLocked(), len(s.batches)
	s.mu.RUnlock()
	s.log.Info("eventstoredb store open", "log", cfg.LogStream, "batches", n, "head", uint64(head),
		"took", time.Since(started).Round(time.Millisecond).String())
	return s, nil
}

// esdbName is the EventStoreDB stream that holds stream name.
func (s *Store) esdbName(name string) string { return s.cfg.Namespace + name }

func (s *Store) checkStream(name string) error {
	if err := eventstore.ValidateStreamName(name); err != nil {
		return err
	}
	if name == s.cfg.LogStream || s.esdbName(name)[0] == '$' {
		return fmt.Errorf("%w: %q is reserved in EventStoreDB (the commit log or a system stream)", eventstore.ErrInvalidStream, name)
	}
	return nil
}

// Append appends events to one stream.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.NewEvent) (eventstore.AppendResult, error) {
	return eventstore.AppendOne(ctx, s.AppendMany, stream, expected, events)
}

// AppendMany commits a batch as one log entry, then writes its 1:1 streams.
func (s *Store) AppendMany(ctx context.Context, batch []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if s.closed.Load() {
		return nil, eventstore.ErrClosed
	}
	if err := eventstore.ValidateBatch(batch); err != nil {
		return nil, err
	}
	for _, sa := range batch {
		if err := s.checkStream(sa.Stream); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.stale {
		if err := s.reload(ctx); err != nil {
			return nil, fmt.Errorf("append: reload the commit log: %w", err)
		}
		s.stale = false
	}
	for races := 0; ; races++ {
		plan, rev, err := s.plan(batch)
		if err != nil || len(plan.Writes) == 0 {
			return plan.Results, err
		}
		payload := encodeBatch(plan.Writes)
		if len(payload) > s.cfg.MaxAppendSize {
			return nil, fmt.Errorf("%w: the batch is %d bytes in EventStoreDB, over its append limit of %d (raise --max-append-size and MaxAppendSize together)",
				eventstore.ErrEventTooLarge, len(payload), s.cfg.MaxAppendSize)
		}
		all, err := s.commit(ctx, rev, plan.Writes[0].ID, payload)
		if isWrongVersion(err) && races < 8 {
			// Another process committed first: learn what it wrote and plan again, which may now refuse the batch.
			if err := s.reload(ctx); err != nil {
				return nil, fmt.Errorf("append: reload the commit log: %w", err)
			}
			continue
		}
		if err != nil {
			s.stale = true // committed or not: the next append finds out by reading the log
			return nil, fmt.Errorf("append to the eventstoredb commit log at revision %d: %w", rev, err)
		}
		s.record(rev, plan.Writes, all)
		s.pending[rev] = plan.Writes
		if err := s.mirror(ctx); err != nil {
			// The batch is committed and visible; its 1:1 streams are completed before the next read or append.
			s.log.Warn("eventstoredb: batch committed, 1:1 stream writes deferred", "revision", rev, "error", err.Error())
		}
		return plan.Results, nil
	}
}

// plan decides the batch against the index; rev is the log revision the commit will take.
func (s *Store) plan(batch []eventstore.StreamAppend) (eventstore.Plan, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	known := map[string]eventstore.Stored{}
	for _, id := range eventstore.BatchIDs(batch) {
		if st, ok := s.ids[uuid.MustParse(id)]; ok {
			known[id] = eventstore.Stored{Stream: st.stream, Version: st.version, Position: st.position}
		}
	}
	plan, err := eventstore.PlanAppend(batch, s.headLocked(), known, s.lastVersionLocked, eventstore.Now())
	return plan, len(s.batches), err
}

func (s *Store) headLocked() eventstore.Position {
	if len(s.batches) == 0 {
		return 0
	}
	return s.batches[len(s.batches)-1].last()
}

func (s *Store) lastVersionLocked(stream string) eventstore.Version {
	if v, ok := s.heads[stream]; ok {
		return v
	}
	return -1
}

// commit appends one log entry at revision rev and returns its $all position.
func (s *Store) commit(ctx context.Context, rev int, firstID string, payload []byte) (esdb.Position, error) {
	var expected esdb.ExpectedRevision = esdb.NoStream{}
	if rev > 0 {
		expected = esdb.Revision(uint64(rev - 1))
	}
	// The entry's id is derived from its first event's, so EventStoreDB's own idempotency also recognises a
	// resent commit.
	entry := esdb.EventData{
		EventID: uuid.NewSHA1(uuid.NameSpaceOID, []byte("streamledger-batch:"+firstID)), EventType: batchType,
		ContentType: esdb.ContentTypeBinary, Data: payload,
	}
	var all esdb.Position
	err := s.use(ctx, func(c *esdb.Client) error {
		res, err := c.AppendToStream(ctx, s.esdbName(s.cfg.LogStream), esdb.AppendToStreamOptions{ExpectedRevision: expected}, entry)
		if err == nil {
			all = esdb.Position{Commit: res.CommitPosition, Prepare: res.PreparePosition}
		}
		return err
	})
	return all, err
}

// ReadAll reads up to max events after position after, from the commit log.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error) {
	if err := eventstore.ValidateReadAll(max); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		return nil, eventstore.ErrClosed
	}
	s.mu.RLock()
	head := s.headLocked()
	s.mu.RUnlock()
	if after >= head {
		// Another process may have committed since: look at the log's tail before answering "nothing".
		if err := s.reload(ctx); err != nil {
			return nil, fmt.Errorf("read all: %w", err)
		}
	}
	s.mu.RLock()
	from := s.batchOfLocked(after + 1)
	to := s.batchOfLocked(after + eventstore.Position(max))
	total := len(s.batches)
	s.mu.RUnlock()
	if from >= total {
		return nil, nil
	}
	entries, err := s.readLog(ctx, from, min(to, total-1)-from+1)
	if err != nil {
		return nil, fmt.Errorf("read all after %d: %w", after, err)
	}
	var out []eventstore.Recorded
	for _, e := range entries {
		for _, r := range e.recs {
			if r.Position > after && len(out) < max {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// Head is the position of the last committed event.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if s.closed.Load() {
		return 0, eventstore.ErrClosed
	}
	if err := s.reload(ctx); err != nil {
		return 0, fmt.Errorf("head: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.headLocked(), nil
}
