package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/retry"
)

// Store is what the ingester needs from the event store.
type Store interface {
	AppendMany(ctx context.Context, batch []eventstore.StreamAppend) ([]eventstore.AppendResult, error)
	ReadStreamBackward(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error)
	ReadAll(ctx context.Context, after eventstore.Position, max int) ([]eventstore.Recorded, error)
}

// Errors.
var (
	// ErrHalted: a reorg reached below the last safe ledger (or the store contradicts the chain); ingestion
	// stops until an operator acts.
	ErrHalted = errors.New("ingestion halted")
	// ErrReorgBelowSafeLedger is the cause of a halt on a reorg whose fork is below the last safe ledger.
	ErrReorgBelowSafeLedger = errors.New("reorg below the last safe ledger")
	// ErrBadSource is what a reader's error wraps when the source's content is wrong, not unreachable (a data lake's
	// missing or corrupt file, ledgers that do not link): reading it again gives the same, so ingestion halts with
	// the reader's message instead of retrying, and skips nothing.
	ErrBadSource = errors.New("the source's content is invalid")
)

// Halt reasons reported by Status.
const (
	HaltReorgBelowSafeLedger = "reorg_below_safe_ledger"
	HaltLedgerReappeared     = "ledger_reappeared"
	HaltInconsistentStore    = "inconsistent_store"
	HaltBadSource            = "bad_source"
	HaltNetworkReset         = "network_reset"
)

// Health is the ingester's state as DESIGN §6 reports it.
type Health string

const (
	HealthStarting      Health = "starting"
	HealthHealthy       Health = "healthy"
	HealthStalled       Health = "stalled"
	HealthHalted        Health = "halted"
	HealthNotConfigured Health = "not_configured"
	// HealthBackfilling: ingesting history towards Status.TargetLedger, healthy otherwise.
	HealthBackfilling Health = "backfilling"
)

// Config configures an Ingester.
type Config struct {
	Store   Store
	Decoder *Decoder
	// Open returns a fresh, unprepared ledger backend; the ingester prepares it from the ledger it needs and opens
	// another after a failure or to re-read a forked range (backends such as RPC only move forward). Nil for a
	// push-only ingester, or when OpenReader is set.
	Open func() (ledgerbackend.LedgerBackend, error)
	// Endpoints, when set, is the source instead of Open: several RPC servers, read from the one that agrees with
	// the stored chain (DESIGN §14).
	Endpoints *Endpoints
	// OpenReader, when set, is the source instead of Open: a reader from ledger from on that verifies and decodes
	// ledgers itself (the data lake's, which never decodes a whole ledger without events).
	OpenReader func(ctx context.Context, from uint32) (LedgerReader, error)
	// ReaderEnd is the last ledger OpenReader's source holds (a data lake's end), when Open follows it: ingestion
	// hands over to Open's source at ReaderEnd+1, with no gap and no duplicate.
	ReaderEnd uint32
	// Target is the ledger a backfill runs to: until the tip reaches it the status says backfilling (0: none).
	Target uint32
	// StartLedger is where ingestion starts when the store holds no ledger yet.
	StartLedger  uint32
	SafetyMargin uint32
	// MaxBatchLedgers and MaxBatchEvents bound one append while catching up (defaults 256 and 4096); a batch only
	// holds ledgers the source already has, so live ingestion appends each ledger as it closes. A batch the
	// store refuses as too large is appended in halves, down to single ledgers.
	MaxBatchLedgers int
	MaxBatchEvents  int
	// RetryInitial and RetryMax bound the backoff after a failure (defaults 250 ms and 30 s).
	RetryInitial time.Duration
	RetryMax     time.Duration
	Logger       *slog.Logger
	Metrics      *Metrics
	// Now and Sleep are the clock (defaults: time.Now and a context-aware sleep).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// ReorgSummary describes the last reorganisation.
type ReorgSummary struct {
	Fork     uint32    `json:"fork"`
	OldTip   uint32    `json:"oldTip"`
	NewTip   uint32    `json:"newTip"`
	Depth    uint32    `json:"depth"`
	Reverted int       `json:"revertedEvents"`
	At       time.Time `json:"at"`
}

// Status is a snapshot of the ingester for health reporting.
type Status struct {
	Health       Health `json:"status"`
	Tip          uint32 `json:"tipLedger"`
	TargetLedger uint32 `json:"targetLedger,omitempty"`
	// Ledgers and Events count what this ingester appended since it started (progress of a backfill).
	Ledgers             int64         `json:"ledgersIngested"`
	Events              int64         `json:"eventsIngested"`
	TipHash             string        `json:"tipHash,omitempty"`
	TipClosedAt         time.Time     `json:"tipClosedAt,omitzero"`
	LastSafeLedger      uint32        `json:"lastSafeLedger"`
	LastProgress        time.Time     `json:"lastProgress,omitzero"`
	ConsecutiveFailures int           `json:"consecutiveFailures"`
	LastError           string        `json:"lastError,omitempty"`
	Reorgs              int           `json:"reorgs"`
	LastReorg           *ReorgSummary `json:"lastReorg,omitempty"`
	HaltReason          string        `json:"haltReason,omitempty"`
	// Endpoints are the RPC endpoints of a source of several (DESIGN §14).
	Endpoints []EndpointStatus `json:"endpoints,omitempty"`
}

// Ingester appends verified, decoded ledgers to the event store and compensates reorganisations (DESIGN §4).
//
// One ledger's events and its LedgerClosed marker go in one atomic batch (several ledgers per batch while
// catching up), so the store never holds half a ledger. Event ids are deterministic, so re-appending after a
// crash whose commit did land is a no-op; after any failed append the ingester re-reads where the store stands
// rather than trusting its memory. A reorg is one atomic batch too: the ChainReorganized marker, an EventReverted
// for every event of the abandoned ledgers (newest first), then the new branch.
//
// A branch that comes back after being abandoned (A → B → A) would bring events whose ids are already stored and
// reverted; the store would silently skip them, so the ingester halts with reason ledger_reappeared instead, before
// writing any of the batch (it remembers the hashes that reorgs abandoned within its window, and the store's
// report of an already stored ledger marker catches one abandoned longer ago).
//
// Another ingester may write the same store at once (a rolling deploy overlaps two serves). The ledger stream is
// what keeps them to one chain: every marker expects its exact version, so of two different ledgers for one
// sequence only one lands, and a reorg reverts only the events up to its writer's own tip marker. An append whose
// markers the store already held, on the stored chain, is the other writer having been first: the ingester reads
// the chain again and goes on from the stored tip (ledgers it had read ahead are passed over when they are the
// stored ones, and read again when they are not).
type Ingester struct {
	cfg    Config
	stream string // the ledger stream
	keep   int    // ledgers kept in the state window
	retry  retry.Policy

	mu     sync.Mutex // serialises appends (pull and push) and guards the chain state
	state  chainState
	loaded bool

	smu    sync.Mutex // guards the status, so that health checks never wait for an append
	status Status
	halted error
}

// NewIngester checks the configuration and returns an Ingester; it reads nothing until Run or Push.
func NewIngester(cfg Config) (*Ingester, error) {
	if cfg.Store == nil || cfg.Decoder == nil {
		return nil, errors.New("ingester: a store and a decoder are required")
	}
	if cfg.MaxBatchLedgers <= 0 {
		cfg.MaxBatchLedgers = 256
	}
	if cfg.MaxBatchEvents <= 0 {
		cfg.MaxBatchEvents = 4096
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	in := &Ingester{
		cfg:    cfg,
		stream: domain.LedgerStoreStream(cfg.Decoder.NetworkID()),
		// Enough ledgers to find any fork down to the last safe ledger, and to verify a re-sent push.
		keep:  max(int(cfg.SafetyMargin)+2, MaxPushLedgers+1),
		retry: retry.Policy{Initial: cfg.RetryInitial, Max: cfg.RetryMax, Sleep: cfg.Sleep}.WithDefaults(250 * time.Millisecond),
	}
	in.status.Health = HealthStarting
	in.status.TargetLedger = cfg.Target
	cfg.Metrics.setTarget(cfg.Target)
	return in, nil
}

// LedgerStream is the event-store stream of this network's ledger markers.
func (in *Ingester) LedgerStream() string { return in.stream }

// Status reports where ingestion stands.
func (in *Ingester) Status() Status {
	in.smu.Lock()
	defer in.smu.Unlock()
	s := in.status
	if s.LastReorg != nil {
		r := *s.LastReorg
		s.LastReorg = &r
	}
	if in.cfg.Endpoints != nil {
		s.Endpoints = in.cfg.Endpoints.Status()
	}
	return s
}

// Run pulls ledgers from the source until ctx ends (nil) or ingestion halts (an error wrapping ErrHalted).
// Failures of the source or the store are retried with backoff while the status reports them as stalled.
func (in *Ingester) Run(ctx context.Context) error {
	if in.cfg.Open == nil && in.cfg.OpenReader == nil && in.cfg.Endpoints == nil {
		return errors.New("ingester: no ledger source configured")
	}
	failures := 0
	progressed := func() {
		failures = 0
		in.setFailure(nil)
	}
	in.mu.Lock()
	in.loaded = false // another process may have written since this one last looked (it stood by, observing)
	in.mu.Unlock()
	for ctx.Err() == nil {
		err := in.session(ctx, progressed)
		if ctx.Err() == nil && (errors.Is(err, ErrBadSource) || errors.Is(err, ErrNetworkReset)) {
			reason := HaltBadSource
			if errors.Is(err, ErrNetworkReset) {
				reason = HaltNetworkReset
			}
			in.mu.Lock()
			err = in.halt(reason, err)
			in.mu.Unlock()
		}
		if errors.Is(err, ErrHalted) {
			return err
		}
		if ctx.Err() != nil {
			break
		}
		failures++
		in.cfg.Metrics.sourceError()
		in.setFailure(err)
		in.cfg.Logger.Warn("ingestion failed; retrying", "err", err, "attempt", failures)
		in.mu.Lock()
		in.loaded = false // the store may hold more than we think: re-read it
		in.mu.Unlock()
		if err := in.retry.Wait(ctx, failures); err != nil {
			break
		}
	}
	return nil
}

// Observe keeps the status on the stored chain while another process ingests into the store (this one stands by),
// reading it again every interval until ctx ends.
func (in *Ingester) Observe(ctx context.Context, every time.Duration) {
	for {
		in.mu.Lock()
		in.loaded = false
		err := in.ensureLoadedLocked(ctx)
		in.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		in.setFailure(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// fetched is one batch from the reading goroutine.
type fetched struct {
	ledgers []Ledger
	err     error
}

// session ingests from one backend until a failure, a halt or the end of ctx. A reading goroutine fetches and
// decodes ledgers ahead while this one appends them, so that the source, the decoder and the store work at once.
// A reorg stops the reader, re-reads the contested range from a fresh backend, and starts a new reader.
func (in *Ingester) session(ctx context.Context, progressed func()) error {
	if err := in.ensureLoaded(ctx); err != nil {
		return err
	}
	in.mu.Lock()
	from := in.nextLocked()
	anchor := in.anchorFor(from)
	in.mu.Unlock()
	source, err := in.open(withAnchor(ctx, anchor), from)
	if err != nil {
		return err
	}
	for {
		readCtx, stopReading := context.WithCancel(ctx)
		batches := make(chan fetched, 2)
		var reader sync.WaitGroup
		next := in.next()
		reader.Go(func() { in.produce(readCtx, source, next, batches) })
		unlinked, err := in.consume(ctx, batches, progressed)
		stopReading()
		reader.Wait()
		source.Close()
		if unlinked == nil {
			return err
		}
		if source, err = in.reorgAt(ctx, *unlinked); err != nil {
			return err
		}
		progressed()
	}
}

// produce reads batches from next on until ctx ends or a read fails (the failure is its last batch).
func (in *Ingester) produce(ctx context.Context, r LedgerReader, next uint32, out chan<- fetched) {
	defer close(out)
	for {
		ledgers, err := r.Read(ctx, next, in.cfg.MaxBatchLedgers, in.cfg.MaxBatchEvents)
		select {
		case out <- fetched{ledgers, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
		next = ledgers[len(ledgers)-1].Sequence + 1
	}
}

// consume appends the batches that extend the stored chain. It returns the first ledger that does not link to
// the stored tip (a reorg), or the error that ended the session.
func (in *Ingester) consume(ctx context.Context, batches <-chan fetched, progressed func()) (*Ledger, error) {
	for f := range batches {
		if f.err != nil {
			return nil, f.err
		}
		unlinked, err := in.appendLinked(ctx, f.ledgers)
		if err != nil || unlinked != nil {
			return unlinked, err
		}
		progressed()
	}
	return nil, ctx.Err()
}

func (in *Ingester) setFailure(err error) {
	in.smu.Lock()
	defer in.smu.Unlock()
	if err == nil {
		in.status.ConsecutiveFailures, in.status.LastError = 0, ""
		if in.halted == nil && in.status.Tip > 0 {
			in.status.Health = in.healthy(in.status.Tip)
		}
		return
	}
	in.status.ConsecutiveFailures++
	in.status.LastError = err.Error()
	if in.halted == nil {
		in.status.Health = HealthStalled
	}
}

// ensureLoaded reads the stored chain state once (and again after a failure).
func (in *Ingester) ensureLoaded(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.ensureLoadedLocked(ctx)
}

func (in *Ingester) ensureLoadedLocked(ctx context.Context) error {
	if in.loaded {
		return nil
	}
	st, err := loadState(ctx, in.cfg.Store, in.stream, in.keep)
	if errors.Is(err, ErrInconsistentStore) {
		return in.halt(HaltInconsistentStore, err)
	}
	if err != nil {
		return err
	}
	if err := in.rebind(ctx); err != nil {
		return err
	}
	in.state, in.loaded = st, true
	in.publish(false)
	return nil
}

// rebind binds again the contracts the log says were discovered (DESIGN §12): a restart follows them from where
// it resumes, without reading the ledgers that created them again.
func (in *Ingester) rebind(ctx context.Context) error {
	if !in.cfg.Decoder.Discovers() {
		return nil
	}
	core := domain.MustRegistry()
	from := eventstore.EndOfStream
	for {
		page, err := in.cfg.Store.ReadStreamBackward(ctx, domain.DiscoveredStream, from, 1000)
		if err != nil {
			return fmt.Errorf("read %s: %w", domain.DiscoveredStream, err)
		}
		for _, rec := range page {
			if rec.Type != string(domain.TypeContractDiscovered) {
				continue
			}
			e, err := core.Unmarshal(rec.Data)
			if err != nil {
				return fmt.Errorf("%w: event %s: %v", ErrInconsistentStore, rec.ID, err)
			}
			if err := in.cfg.Decoder.contracts.Rebind(e.(*domain.ContractDiscovered)); err != nil {
				in.cfg.Logger.Warn("a discovered contract is not followed any more", "err", err)
			}
		}
		if len(page) < 1000 {
			return nil
		}
		from = page[len(page)-1].Version - 1
	}
}

// next is the ledger to ingest next.
func (in *Ingester) next() uint32 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.nextLocked()
}

func (in *Ingester) nextLocked() uint32 {
	if tip, ok := in.state.tip(); ok {
		return tip.seq + 1
	}
	return in.cfg.StartLedger
}

// anchorKey carries, through a reader's opening, the hash of the stored ledger before the first one to read: a
// source of several endpoints checks them against it.
type anchorKey struct{}

func withAnchor(ctx context.Context, hash string) context.Context {
	return context.WithValue(ctx, anchorKey{}, hash)
}

func anchorHash(ctx context.Context) string {
	h, _ := ctx.Value(anchorKey{}).(string)
	return h
}

// anchorFor is the stored hash of ledger from-1 (caller holds mu), "" when the window does not know it.
func (in *Ingester) anchorFor(from uint32) string {
	if r, ok := in.state.record(from - 1); ok {
		return r.hash
	}
	return ""
}

func (in *Ingester) open(ctx context.Context, from uint32) (LedgerReader, error) {
	if from == 0 {
		return nil, fmt.Errorf("%w: no start ledger configured and the store holds no ledger", ErrHalted)
	}
	rpc := in.cfg.Open != nil || in.cfg.Endpoints != nil
	if in.cfg.OpenReader != nil && (!rpc || from <= in.cfg.ReaderEnd) {
		r, err := in.cfg.OpenReader(ctx, from)
		if err != nil || !rpc {
			return r, err
		}
		return &handoff{first: r, end: in.cfg.ReaderEnd, open: in.openBackend}, nil
	}
	return in.openBackend(ctx, from)
}

// openBackend opens the RPC source (Endpoints, or Open's backend) from ledger from on.
func (in *Ingester) openBackend(ctx context.Context, from uint32) (LedgerReader, error) {
	if in.cfg.Endpoints != nil {
		r := &endpointsReader{e: in.cfg.Endpoints, decode: in.decode}
		r.anchor(from-1, anchorHash(ctx))
		return r, nil
	}
	b, err := in.cfg.Open()
	if err != nil {
		return nil, fmt.Errorf("open ledger source: %w", err)
	}
	if err := b.PrepareRange(ctx, ledgerbackend.UnboundedRange(from)); err != nil {
		b.Close()
		return nil, fmt.Errorf("prepare ledger source from %d: %w", from, err)
	}
	return &backendReader{b: b, decode: in.decode}, nil
}

// read reads ledger seq alone.
func read(ctx context.Context, r LedgerReader, seq uint32) (Ledger, error) {
	ledgers, err := r.Read(ctx, seq, 1, 1)
	if err != nil {
		return Ledger{}, err
	}
	if len(ledgers) != 1 || ledgers[0].Sequence != seq {
		return Ledger{}, fmt.Errorf("%w: asked the source for ledger %d alone, got %d ledgers", ErrInvalidLedger, seq, len(ledgers))
	}
	return ledgers[0], nil
}

// decode decodes and verifies one ledger and encodes its events for the store.
func (in *Ingester) decode(lcm xdr.LedgerCloseMeta, seq uint32) (Ledger, error) {
	l, err := in.cfg.Decoder.Decode(lcm)
	if err != nil {
		return Ledger{}, err
	}
	if l.Sequence != seq {
		return Ledger{}, fmt.Errorf("%w: asked the source for ledger %d, got %d", ErrInvalidLedger, seq, l.Sequence)
	}
	for i := range l.Events {
		if l.Events[i].data, err = domain.Marshal(l.Events[i].Event); err != nil {
			return Ledger{}, err
		}
	}
	return l, nil
}

// appendLinked appends the ledgers that extend the stored chain and returns the first one that does not link
// to it, if any.
func (in *Ingester) appendLinked(ctx context.Context, ledgers []Ledger) (*Ledger, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := in.haltedErr(); err != nil {
		return nil, err
	}
	tip, hasTip := in.state.tip()
	for hasTip && len(ledgers) > 0 && ledgers[0].Sequence <= tip.seq {
		// Only after another writer stored ledgers ahead of this one's reads (see checkFresh): the same ones are
		// passed over; a different one was read before that writer saw the source change, so read again from the
		// stored tip, where a source that really differs shows as a fork like any other.
		if stored, ok := in.state.record(ledgers[0].Sequence); !ok || stored.hash != ledgers[0].Hash {
			in.loaded = false
			return nil, fmt.Errorf("ledger %d as read differs from the one another writer stored: reading from the stored tip (%d) again",
				ledgers[0].Sequence, tip.seq)
		}
		ledgers = ledgers[1:]
	}
	for i, l := range ledgers {
		if hasTip && l.PreviousHash != tip.hash {
			return &ledgers[i], in.appendLedgers(ctx, ledgers[:i])
		}
		tip, hasTip = ledgerRecord{seq: l.Sequence, hash: l.Hash}, true
	}
	return nil, in.appendLedgers(ctx, ledgers)
}

// haltedErr is the halt, if ingestion is halted.
func (in *Ingester) haltedErr() error {
	in.smu.Lock()
	defer in.smu.Unlock()
	return in.halted
}

// publish copies the chain state into the status; the caller holds mu.
func (in *Ingester) publish(progress bool) {
	tip, ok := in.state.tip()
	in.smu.Lock()
	defer in.smu.Unlock()
	if progress {
		in.status.LastProgress = in.cfg.Now()
	}
	if !ok {
		return
	}
	in.status.Tip, in.status.TipHash, in.status.TipClosedAt = tip.seq, tip.hash, tip.closedAt
	in.status.LastSafeLedger = lastSafe(tip.seq, in.cfg.SafetyMargin)
	if in.halted == nil && in.status.ConsecutiveFailures == 0 {
		in.status.Health = in.healthy(tip.seq)
	}
	in.cfg.Metrics.position(in.status.Tip, in.status.LastSafeLedger)
}

// healthy is the health of an ingester that works, at tip: backfilling until the target, then healthy.
func (in *Ingester) healthy(tip uint32) Health {
	if tip < in.cfg.Target {
		return HealthBackfilling
	}
	return HealthHealthy
}

// halt stops ingestion for good (until an operator acts); the caller holds mu.
func (in *Ingester) halt(reason string, cause error) error {
	in.smu.Lock()
	defer in.smu.Unlock()
	in.halted = fmt.Errorf("%w (%s): %w", ErrHalted, reason, cause)
	in.status.Health, in.status.HaltReason, in.status.LastError = HealthHalted, reason, cause.Error()
	in.cfg.Metrics.setHalted(true)
	in.cfg.Logger.Error("ingestion halted; an operator must act", "reason", reason, "err", cause)
	return in.halted
}
