// Package postgres is the PostgreSQL event store (pgx v5).
//
// Global order without silent skips: every append runs in one transaction that first takes a transaction-scoped
// advisory lock (one per schema), then reads the head and assigns positions head+1, head+2, … . Appends are thus
// serialised and commit in position order; since PostgreSQL marks a transaction committed before it releases its
// locks, the next writer always sees the previous one's rows, and a reader can never see position N+1 while N
// might still commit. Rolled-back appends leave no gap either. The events are written with COPY, so a batch costs a
// constant number of round trips, not one per event.
//
// ReadAll serves the last events this process appended or read from memory (Config.RecentEvents): the
// projections of one process follow the ingester closely, and without it each fetched every event again.
//
// Subscribers are woken by LISTEN/NOTIFY (the notification is sent inside the appending transaction, so it is
// delivered on commit) and poll as a fallback, so a dropped listener connection delays delivery but loses nothing.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/pgschema"
)

// Config configures the store.
type Config struct {
	// Schema holds the store's tables; default "streamledger".
	Schema string
	// PollInterval is the longest a subscriber waits without a notification; default 500ms.
	PollInterval time.Duration
	// Logger receives listener reconnects; default slog.Default().
	Logger *slog.Logger
	// RecentEvents is how many of the last events this process appended or read are kept in memory to serve
	// ReadAll (default 16384, about 20 MB of chain events; negative: none). The projections of one process read
	// each event at about the same time, just after the ingester appended it.
	RecentEvents int
	// MaxConns sizes the connection pool Open makes when the URL does not (pool_max_conns); 0 keeps pgx's
	// default, the larger of 4 and the number of CPUs.
	MaxConns int32
}

// Store is the PostgreSQL event store.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	schema  string
	q       sqlNames
	lock    int64
	channel string
	notify  *eventstore.Notifier
	recent  *recent
	heads   streamHeads
	sub     eventstore.SubscriptionConfig
	log     *slog.Logger

	stop context.CancelFunc
	wg   sync.WaitGroup

	closeOnce sync.Once
	closed    chan struct{}
}

type sqlNames struct {
	events         string
	streamVersions string // the last version of each of $1's streams (NULL: none)
}

// Open connects to databaseURL (a pool as OpenPool makes it), migrates the schema and starts the change listener.
func Open(ctx context.Context, databaseURL string, cfg Config) (*Store, error) {
	pool, err := OpenPool(ctx, databaseURL, cfg.MaxConns)
	if err != nil {
		return nil, fmt.Errorf("postgres event store: %w", err)
	}
	s, err := New(ctx, pool, cfg)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// OpenPool makes a connection pool to databaseURL whose cancelled calls end with a cancel request (see
// cancelByRequest), with maxConns connections at most unless the URL sets pool_max_conns (0: pgx's default).
func OpenPool(ctx context.Context, databaseURL string, maxConns int32) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("invalid DATABASE_URL: %w", err)
	}
	pcfg.ConnConfig.BuildContextWatcherHandler = cancelByRequest
	if maxConns > 0 && !strings.Contains(databaseURL, "pool_max_conns") {
		pcfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return pool, nil
}

// cancelGrace is how long a cancelled query has to end on the server's cancel request before its connection is
// cut instead.
const cancelGrace = 2 * time.Second

// cancelByRequest makes a cancelled context cancel the query with a PostgreSQL cancel request, keeping the
// connection, instead of pgx's default of interrupting the socket at once. Over TLS (the default for a server that
// offers it) an interrupted write corrupts the session, so pgx cannot send Terminate and waits up to 15 s for the
// server to hang up, while the server's backend waits for the client: a transaction the cancelled call had open
// (an append's, with the append lock) stays open that long, blocking every writer, and closing the pool waits for it.
func cancelByRequest(c *pgconn.PgConn) ctxwatch.Handler {
	return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelGrace}
}

// New uses an existing pool (closed by the caller, not by Close), migrates the schema and starts the listener.
// Cancelled calls end as the pool's connections are configured to end them; Open's pool uses cancel requests
// (see cancelByRequest for why).
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if cfg.Schema == "" {
		cfg.Schema = "streamledger"
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RecentEvents == 0 {
		cfg.RecentEvents = 16384
	}
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("postgres event store: %w", err)
	}
	if err := Migrate(ctx, pool, cfg.Schema); err != nil {
		return nil, fmt.Errorf("postgres event store: %w", err)
	}
	sub := eventstore.DefaultSubscription
	sub.PollInterval = cfg.PollInterval
	sub.Transient = Transient
	lctx, stop := context.WithCancel(context.Background())
	s := &Store{
		pool:    pool,
		schema:  cfg.Schema,
		q:       newSQLNames(cfg.Schema),
		lock:    pgschema.LockKey(cfg.Schema, "append"),
		channel: "streamledger_events_" + fmt.Sprintf("%x", uint64(pgschema.LockKey(cfg.Schema, "channel"))),
		notify:  eventstore.NewNotifier(),
		recent:  newRecent(cfg.RecentEvents),
		sub:     sub,
		log:     cfg.Logger,
		stop:    stop,
		closed:  make(chan struct{}),
	}
	s.wg.Add(1)
	go s.listen(lctx)
	return s, nil
}

func newSQLNames(schema string) sqlNames {
	events := pgx.Identifier{schema, "events"}.Sanitize()
	return sqlNames{events: events,
		streamVersions: "SELECT s, (SELECT max(version) FROM " + events + " WHERE stream = s) FROM unnest($1::text[]) AS s"}
}

// Pool is the connection pool, for read models that live in the same database.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// listen relays notifications to subscribers, reconnecting with backoff; it ends with Close.
func (s *Store) listen(ctx context.Context) {
	defer s.wg.Done()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("event store listener lost its connection; subscribers poll until it is back",
			"schema", s.schema, "error", err.Error(), "retryIn", backoff.String())
		s.notify.Signal() // make subscribers read now, in case a notification was lost
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// listenOnce listens on a connection of its own, outside the pool: it is busy for as long as the store is open,
// and in the pool it would take one of the few connections (pgx's default is four on two cores) that the ingester,
// the projections and the API share. Waiting for a notification is no statement that a cancel request could end,
// so its context interrupts the socket, pgx's default (an interrupted read leaves the session sound).
func (s *Store) listenOnce(ctx context.Context) error {
	config := s.pool.Config().ConnConfig.Copy()
	config.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	conn, err := pgx.ConnectConfig(ctx, config)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return err
	}
	s.notify.Signal()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		s.notify.Signal()
	}
}

func (s *Store) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// Append appends events to one stream.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.NewEvent) (eventstore.AppendResult, error) {
	return eventstore.AppendOne(ctx, s.AppendMany, stream, expected, events)
}

// AppendMany appends a multi-stream batch in one transaction.
//
// It first assumes that none of the batch's ids is stored (the common case: a writer retries only after a lost
// acknowledgement) and lets the unique index on id check that while the rows are copied, which saves looking up
// every id before writing. Whenever that assumption could change the outcome (a duplicate id, or a plan that fails
// and might succeed as an idempotent retry) it appends again with the ids looked up.
func (s *Store) AppendMany(ctx context.Context, batch []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if err := eventstore.ValidateBatchShape(batch); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	res, err := s.appendTx(ctx, batch, false)
	if errors.Is(err, errLookUpIDs) {
		res, err = s.appendTx(ctx, batch, true)
	}
	return res, eventstore.ContextErr(ctx, err)
}

// errLookUpIDs: an append that did not look up the batch's ids cannot decide; it must be tried again with them.
var errLookUpIDs = errors.New("append again with the stored ids looked up")

func (s *Store) appendTx(ctx context.Context, batch []eventstore.StreamAppend, lookUpIDs bool) ([]eventstore.AppendResult, error) {
	// The transaction is begun by the first statement of the batch that reads the append's state, not by a round
	// trip of its own: an append then costs what a COPY in a transaction costs, three round trips (DESIGN §11). A
	// connection left inside a transaction (a failure, a cancelled context) is rolled back here, and the pool
	// would destroy it rather than reuse it.
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("append: acquire a connection: %w", err)
	}
	defer conn.Release()
	tx := conn.Conn()
	defer func() {
		if st := tx.PgConn().TxStatus(); st != 'I' && !tx.IsClosed() {
			tx.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()

	// A stream may appear in several parts of a batch (a ledger's events are in chain order): look each up once.
	streams := make([]string, 0, len(batch))
	seen := make(map[string]struct{}, len(batch))
	for _, sa := range batch {
		if _, dup := seen[sa.Stream]; !dup {
			seen[sa.Stream] = struct{}{}
			streams = append(streams, sa.Stream)
		}
	}
	knownAt, known, missing := s.heads.lookup(streams)
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SELECT pg_advisory_xact_lock($1)", s.lock)
	// The wake-up of subscribers, queued with the reads so that it costs no round trip of its own: a notification
	// is delivered at commit, so only if the append lands (listeners read on from their own position, whatever it
	// says; a batch that turns out to be all duplicates is rolled back, and sends none).
	b.Queue("SELECT pg_notify($1, '')", s.channel)
	if lookUpIDs {
		b.Queue("SELECT id::text, stream, version, position FROM "+s.q.events+" WHERE id = ANY($1::uuid[])", eventstore.BatchIDs(batch))
	}
	b.Queue(s.q.streamVersions, missing)
	b.Queue("SELECT coalesce(max(position), 0) FROM " + s.q.events)
	br := tx.SendBatch(ctx, b)
	stored, last, head, err := readPlanInputs(br, lookUpIDs)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("append: read state: %w", err)
	}
	if head == knownAt {
		for stream, v := range known {
			if v >= 0 {
				last[stream] = v
			}
		}
	} else if len(known) > 0 { // another writer appended since: what this process knew may be stale
		if err := s.readVersions(ctx, tx, slices.Collect(maps.Keys(known)), last); err != nil {
			return nil, fmt.Errorf("append: read state: %w", err)
		}
	}
	plan, err := eventstore.PlanAppend(batch, head, stored, func(stream string) eventstore.Version {
		if v, ok := last[stream]; ok {
			return v
		}
		return -1
	}, eventstore.Now())
	if err != nil {
		if !lookUpIDs {
			return nil, errLookUpIDs // the events may be stored already, which would make this a successful retry
		}
		return nil, err
	}
	if len(plan.Writes) == 0 {
		return plan.Results, nil
	}
	rows := make([][]any, len(plan.Writes))
	for i, w := range plan.Writes {
		var meta any
		if w.Metadata != nil {
			meta = w.Metadata
		}
		// The id goes as 16 bytes: pgx cannot binary-encode a string into uuid and, for COPY, builds an error
		// before falling back to text, which costs more than the rest of the row.
		rows[i] = []any{int64(w.Position), pgtype.UUID{Bytes: uuid.MustParse(w.ID), Valid: true}, w.Stream, int64(w.Version), w.Type,
			w.Data, meta, w.RecordedAt}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, "events"},
		[]string{"position", "id", "stream", "version", "type", "data", "metadata", "recorded_at"},
		pgx.CopyFromRows(rows)); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == invalidTextRepresentation {
			return nil, fmt.Errorf("%w: %s (%s)", eventstore.ErrInvalidEvent, pgErr.Message, pgErr.Where)
		}
		if !lookUpIDs && errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
			return nil, errLookUpIDs
		}
		return nil, fmt.Errorf("append: copy %d events: %w", len(rows), err)
	}
	newHead := plan.Writes[len(plan.Writes)-1].Position
	if tag, err := tx.Exec(ctx, "COMMIT"); err != nil {
		return nil, fmt.Errorf("append: commit: %w", err)
	} else if tag.String() != "COMMIT" { // a transaction that had failed ends in a rollback, without an error
		return nil, fmt.Errorf("append: commit: %w", pgx.ErrTxCommitRollback)
	}
	s.recent.put(plan.Writes, true)
	versions := make(map[string]eventstore.Version, len(streams))
	for i, sa := range batch {
		versions[sa.Stream] = plan.Results[i].LastVersion
	}
	s.heads.advance(head, newHead, versions)
	s.notify.Signal() // local subscribers need not wait for the round trip through NOTIFY
	return plan.Results, nil
}

func readPlanInputs(br pgx.BatchResults, lookUpIDs bool) (map[string]eventstore.Stored, map[string]eventstore.Version, eventstore.Position, error) {
	for range 3 { // the transaction, the lock and the notification
		if _, err := br.Exec(); err != nil {
			return nil, nil, 0, err
		}
	}
	stored := make(map[string]eventstore.Stored)
	if lookUpIDs {
		rows, _ := br.Query()
		var id string
		var st eventstore.Stored
		var version, position int64
		_, err := pgx.ForEachRow(rows, []any{&id, &st.Stream, &version, &position}, func() error {
			st.Version, st.Position = eventstore.Version(version), eventstore.Position(position)
			stored[id] = st
			return nil
		})
		if err != nil {
			return nil, nil, 0, err
		}
	}
	last := make(map[string]eventstore.Version)
	rows, _ := br.Query()
	if err := scanVersions(rows, last); err != nil {
		return nil, nil, 0, err
	}
	var head int64
	if err := br.QueryRow().Scan(&head); err != nil {
		return nil, nil, 0, err
	}
	return stored, last, eventstore.Position(head), nil
}

// readVersions looks up the last versions of streams (those that have events) into last.
func (s *Store) readVersions(ctx context.Context, tx *pgx.Conn, streams []string, last map[string]eventstore.Version) error {
	rows, _ := tx.Query(ctx, s.q.streamVersions, streams)
	return scanVersions(rows, last)
}

func scanVersions(rows pgx.Rows, last map[string]eventstore.Version) error {
	var stream string
	var maxVersion *int64
	_, err := pgx.ForEachRow(rows, []any{&stream, &maxVersion}, func() error {
		if maxVersion != nil {
			last[stream] = eventstore.Version(*maxVersion)
		}
		return nil
	})
	return err
}

// SQLSTATEs: a json column refusing malformed JSON; a unique index refusing a duplicate.
const (
	invalidTextRepresentation = "22P02"
	uniqueViolation           = "23505"
)

// Transient reports errors that a retry on a fresh connection can cure: lost connections, server restarts and
// failovers (SQLSTATE classes 08 and 57P), and network errors.
func Transient(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P")
	}
	var netErr net.Error
	return pgconn.SafeToRetry(err) || errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

const columns = "id::text, stream, version, position, type, data, metadata, recorded_at"

// ReadStream reads up to max events of a stream from version from.
func (s *Store) ReadStream(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error) {
	if err := eventstore.ValidateReadStream(stream, from, max); err != nil {
		return nil, err
	}
	return s.query(ctx, "SELECT "+columns+" FROM "+s.q.events+" WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3",
		stream, int64(from), max)
}

// ReadStreamBackward reads up to max events of stream with version ≤ from, newest first.
func (s *Store) ReadStreamBackward(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error) {
	if err := eventstore.ValidateReadStream(stream, from, max); err != nil {
		return nil, err
	}
	return s.query(ctx, "SELECT "+columns+" FROM "+s.q.events+" WHERE stream = $1 AND version <= $2 ORDER BY version DESC LIMIT $3",
		stream, int64(from), max)
}

// ReadAll reads up to max events after position after, in global order.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error) {
	if err := eventstore.ValidateReadAll(max); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	held := s.recent.run(after, max)
	if len(held) == max {
		return held, nil
	}
	from := after + eventstore.Position(len(held))
	rest, err := s.query(ctx, "SELECT "+columns+" FROM "+s.q.events+" WHERE position > $1 ORDER BY position LIMIT $2",
		int64(from), max-len(held))
	if err != nil {
		return nil, err
	}
	s.recent.put(rest, false)
	if held == nil {
		return rest, nil
	}
	return append(held, rest...), nil
}

func (s *Store) query(ctx context.Context, sql string, args ...any) ([]eventstore.Recorded, error) {
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", eventstore.ContextErr(ctx, err))
	}
	var out []eventstore.Recorded
	var r eventstore.Recorded
	var version, position int64
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Stream, &version, &position, &r.Type, &r.Data, &r.Metadata, &r.RecordedAt}, func() error {
		r.Version, r.Position, r.RecordedAt = eventstore.Version(version), eventstore.Position(position), r.RecordedAt.UTC()
		out = append(out, r)
		r.Data, r.Metadata = nil, nil // the next row must scan into new slices, not this one's
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read events: %w", eventstore.ContextErr(ctx, err))
	}
	return out, nil
}

// SubscribeAll delivers every event after from, then live ones, until ctx ends.
func (s *Store) SubscribeAll(ctx context.Context, from eventstore.Position) (<-chan eventstore.Recorded, <-chan error) {
	return eventstore.Subscribe(ctx, s.ReadAll, s.notify, from, s.sub)
}

// Head is the position of the last event (0: none).
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if s.isClosed() {
		return 0, eventstore.ErrClosed
	}
	var head int64
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(position), 0) FROM "+s.q.events).Scan(&head); err != nil {
		return 0, fmt.Errorf("head: %w", eventstore.ContextErr(ctx, err))
	}
	return eventstore.Position(head), nil
}

// Ping checks that the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if s.isClosed() {
		return eventstore.ErrClosed
	}
	return eventstore.ContextErr(ctx, s.pool.Ping(ctx))
}

// Close stops the listener and, when Open created it, closes the pool.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.stop()
		s.wg.Wait()
		s.notify.Signal()
		if s.ownPool {
			s.pool.Close()
		}
	})
	return nil
}
