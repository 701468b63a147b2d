package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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
	in.state, in.loaded = st, true
	in.publish(false)
	return nil
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

// reorgAt handles a ledger that does not link to the stored tip: it re-reads the contested range, from the last
// safe ledger, from a fresh backend (the old one may be positioned, or buffered, on the abandoned branch) and
// compensates. It returns that backend, positioned after unlinked.
func (in *Ingester) reorgAt(ctx context.Context, unlinked Ledger) (LedgerReader, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	from := max(lastSafe(unlinked.Sequence-1, in.cfg.SafetyMargin), in.state.window[0].seq)
	fresh, err := in.open(withAnchor(ctx, in.anchorFor(from)), from)
	if err != nil {
		return nil, err
	}
	branch := make([]Ledger, 0, unlinked.Sequence-from+1)
	for seq := from; seq <= unlinked.Sequence; seq++ {
		nl, err := read(ctx, fresh, seq)
		if err == nil && len(branch) > 0 && nl.PreviousHash != branch[len(branch)-1].Hash {
			err = fmt.Errorf("%w: the source's ledger %d does not link to its ledger %d while re-reading a fork",
				ErrInvalidLedger, seq, seq-1)
		}
		if err != nil {
			fresh.Close()
			return nil, err
		}
		branch = append(branch, nl)
	}
	if err := in.reorganize(ctx, branch); err != nil {
		fresh.Close()
		return nil, err
	}
	return fresh, nil
}

// reorganize compensates the stored ledgers that branch abandons. branch starts at a ledger the store holds
// (the last safe one, or the oldest kept) and links to itself.
func (in *Ingester) reorganize(ctx context.Context, branch []Ledger) error {
	tip, _ := in.state.tip()
	safe := lastSafe(tip.seq, in.cfg.SafetyMargin)
	fork, found := uint32(0), false
	for _, nl := range branch {
		if stored, ok := in.state.record(nl.Sequence); ok && stored.hash == nl.Hash {
			fork, found = nl.Sequence, true
		}
	}
	if !found || fork < safe {
		cause := fmt.Errorf("%w: the source's chain differs from the stored one at or below ledger %d (last safe ledger %d, tip %d)",
			ErrReorgBelowSafeLedger, branch[0].Sequence, safe, tip.seq)
		return in.halt(HaltReorgBelowSafeLedger, cause)
	}
	var fresh []Ledger
	for _, nl := range branch {
		if nl.Sequence > fork {
			fresh = append(fresh, nl)
		}
	}
	if fork == tip.seq {
		// The source changed its mind back before we saw it: nothing to compensate.
		return in.appendLedgers(ctx, fresh)
	}
	batch, summary, err := in.reorgBatch(ctx, fork, fresh)
	if err != nil {
		return err
	}
	ledgerBatch, records, err := in.ledgerBatch(fresh, in.state.version+1) // after the reorg marker
	if err != nil {
		return err
	}
	batch = append(batch, ledgerBatch...)
	res, err := in.cfg.Store.AppendMany(ctx, batch)
	if err != nil {
		return fmt.Errorf("append reorg at fork %d: %w", fork, err)
	}
	if stored, err := in.checkFresh(ctx, batch, res, records); err != nil || stored {
		return err
	}
	in.state.truncate(fork)
	in.commit(batch, res, fresh, records)
	summary.At = in.cfg.Now()
	in.smu.Lock()
	in.status.Reorgs++
	in.status.LastReorg = &summary
	in.smu.Unlock()
	in.cfg.Metrics.reorg(summary.Reverted)
	in.cfg.Logger.Warn("chain reorganised", "fork", summary.Fork, "oldTip", summary.OldTip, "newTip", summary.NewTip,
		"depth", summary.Depth, "revertedEvents", summary.Reverted)
	return nil
}

// reorgBatch builds the ChainReorganized marker and the reversals of every event stored above fork on the current
// branch that is not reverted yet, newest first.
func (in *Ingester) reorgBatch(ctx context.Context, fork uint32, fresh []Ledger) ([]eventstore.StreamAppend, ReorgSummary, error) {
	tip, _ := in.state.tip()
	forkRec, _ := in.state.record(fork)
	// The events of the abandoned ledgers, in the order of the log: their own records, or, for a ledger that had come
	// back, the restorations standing for them (the records themselves lie further back).
	type standing struct {
		reversal  *domain.EventReverted
		stream    string
		restoreID string // the last restoration's id, when the event was restored
	}
	var order []string
	live := map[string]*standing{}
	reverted := map[string]bool{}
	note := func(id string, st *standing) {
		if _, seen := live[id]; !seen {
			order = append(order, id)
		}
		live[id] = st
	}
	// The abandoned events lie between the fork's marker and the tip's. Anything after the tip's marker is another
	// writer's (the new branch itself, when it handled this reorg first): not this batch's to revert.
	after := forkRec.position
	for after < tip.position {
		page, err := in.cfg.Store.ReadAll(ctx, after, 1024)
		if err != nil {
			return nil, ReorgSummary{}, fmt.Errorf("read events above fork %d: %w", fork, err)
		}
		if len(page) == 0 {
			break
		}
		for _, rec := range page {
			if rec.Position > tip.position {
				break
			}
			switch domain.EventType(rec.Type) {
			case domain.TypeLedgerClosed, domain.TypeLedgersVerified, domain.TypeChainReorganized:
				continue
			case domain.TypeEventReverted:
				r, err := decodeStored[*domain.EventReverted](rec)
				if err != nil {
					return nil, ReorgSummary{}, err
				}
				reverted[r.RevertedEventID] = true
				continue
			case domain.TypeEventRestored:
				r, err := decodeStored[*domain.EventRestored](rec)
				if err != nil {
					return nil, ReorgSummary{}, err
				}
				delete(reverted, r.RestoredEventID)
				if r.RestoredLedger > fork {
					note(r.RestoredEventID, &standing{stream: rec.Stream, restoreID: rec.ID,
						reversal: &domain.EventReverted{RevertedEventID: r.RestoredEventID, RevertedType: r.RestoredType,
							RevertedLedger: r.RestoredLedger, ContractID: r.ContractID, StreamID: r.StreamID}})
				}
				continue
			}
			e, err := domain.Unmarshal(rec.Data)
			if err != nil {
				return nil, ReorgSummary{}, fmt.Errorf("%w: event %s: %v", ErrInconsistentStore, rec.ID, err)
			}
			ce, ok := e.(domain.ChainEvent)
			if !ok || ce.ChainMetadata().NetworkID != in.cfg.Decoder.NetworkID() || ce.ChainMetadata().Ledger <= fork {
				continue
			}
			r := &domain.EventReverted{RevertedEventID: rec.ID, RevertedType: ce.Type(), RevertedLedger: ce.ChainMetadata().Ledger,
				ContractID: ce.ChainMetadata().ContractID}
			if ref, ok := domain.StreamOf(ce); ok {
				id := ref.StreamID
				r.StreamID = &id
			}
			note(rec.ID, &standing{reversal: r, stream: rec.Stream})
		}
		after = page[len(page)-1].Position
	}
	newTip := fork
	newHashes := map[uint32]string{}
	for _, l := range fresh {
		newHashes[l.Sequence] = l.Hash
		newTip = l.Sequence
	}
	marker := &domain.ChainReorganized{NetworkID: in.cfg.Decoder.NetworkID(), Fork: fork, OldTip: tip.seq, NewTip: newTip}
	// The replaced ledgers whose hashes the window knows: every one above a reorg's fork (they are above the last
	// safe ledger), and the ends of verified ranges when an operator rewinds further.
	for _, old := range in.state.window {
		if old.seq > fork {
			marker.Replaced = append(marker.Replaced, domain.LedgerReplacement{Ledger: old.seq, OldHash: old.hash, NewHash: newHashes[old.seq]})
		}
	}
	firstNew := ""
	if len(fresh) > 0 {
		firstNew = fresh[0].Hash
	}
	markerEvent, err := newEvent(domain.DerivedEventUUID("reorg", marker.NetworkID, strconv.FormatUint(uint64(fork), 10), tip.hash, firstNew), marker)
	if err != nil {
		return nil, ReorgSummary{}, err
	}
	batch := []eventstore.StreamAppend{{Stream: in.stream, Expected: in.expected(), Events: []eventstore.NewEvent{markerEvent}}}
	count := 0
	for i := len(order) - 1; i >= 0; i-- {
		id := order[i]
		st := live[id]
		if reverted[id] {
			continue
		}
		r := st.reversal
		r.Reason, r.Fork = domain.RevertReasonReorg, fork
		// An event reverted once more after a restoration needs a reversal of its own.
		revID := domain.DerivedEventUUID("reverted", id)
		if st.restoreID != "" {
			revID = domain.DerivedEventUUID("reverted", id, st.restoreID)
		}
		ev, err := newEvent(revID, r)
		if err != nil {
			return nil, ReorgSummary{}, err
		}
		batch = append(batch, eventstore.StreamAppend{Stream: st.stream, Expected: eventstore.Any, Events: []eventstore.NewEvent{ev}})
		count++
	}
	return batch, ReorgSummary{Fork: fork, OldTip: tip.seq, NewTip: newTip, Depth: tip.seq - fork, Reverted: count}, nil
}

// expected is the ledger stream's expected version for the next append, as this ingester last saw the stream: a
// writer that moved it since shows up as ErrWrongVersion instead of an interleaved chain.
func (in *Ingester) expected() eventstore.ExpectedVersion { return following(in.state.version) }

// following is the expected version of an append to the ledger stream right after its version v (-1: none yet).
func following(v eventstore.Version) eventstore.ExpectedVersion {
	if v < 0 {
		return eventstore.NoStream
	}
	return eventstore.Exact(v)
}

// ledgerBatch builds the appends of ledgers: each ledger's events in chain order (consecutive events of one
// stream together), then its marker, which must follow version of the ledger stream (the next one the version
// after it). Every marker expecting its exact place is what keeps two writers (a rolling deploy's two serves) to one
// chain: the store skips the check for a marker it already holds, so a check on the first marker alone would let a
// later one land after another writer's different ledger of the same sequence.
//
// A ledger with events, or within the safety margin of the batch's last ledger, gets a LedgerClosed marker of its
// own. Runs of two or more final ledgers without events get one LedgersVerified marker each (DESIGN §13): history
// costs a few bytes a ledger. The layout depends only on the ledgers and the batch's bounds, so two sources that cut
// the same batches (a lake and a simulator that holds its whole chain) write the same log.
func (in *Ingester) ledgerBatch(ledgers []Ledger, version eventstore.Version) ([]eventstore.StreamAppend, []ledgerRecord, error) {
	var batch []eventstore.StreamAppend
	var records []ledgerRecord
	final := uint32(0)
	if n := len(ledgers); n > 0 {
		final = lastSafe(ledgers[n-1].Sequence, in.cfg.SafetyMargin)
	}
	network := in.cfg.Decoder.NetworkID()
	mark := func(e domain.Event, id string, rec ledgerRecord) error {
		ev, err := newEvent(id, e)
		if err != nil {
			return err
		}
		batch = append(batch, eventstore.StreamAppend{Stream: in.stream, Expected: following(version), Events: []eventstore.NewEvent{ev}})
		version++
		records = append(records, rec)
		return nil
	}
	closed := func(l *Ledger) error {
		id := domain.DerivedEventUUID("ledger", network, l.Hash)
		if in.state.wasAbandoned(l.Hash) {
			// The ledger's first marker is stored (and abandoned): this one is its return, a marker of its own.
			id = domain.DerivedEventUUID("ledger", network, l.Hash, "returned", strconv.FormatInt(int64(version), 10))
		}
		return mark(&domain.LedgerClosed{NetworkID: network, Ledger: l.Sequence, Hash: l.Hash, PreviousHash: l.PreviousHash,
			ClosedAt: l.ClosedAt, EventCount: len(l.Events)}, id,
			ledgerRecord{first: l.Sequence, seq: l.Sequence, hash: l.Hash, closedAt: l.ClosedAt})
	}
	run := ledgers[:0:0] // final ledgers without events not marked yet
	flush := func() error {
		defer func() { run = run[:0] }()
		switch len(run) {
		case 0:
			return nil
		case 1:
			return closed(&run[0])
		}
		first, last := &run[0], &run[len(run)-1]
		m := &domain.LedgersVerified{NetworkID: network, First: first.Sequence, Last: last.Sequence,
			PreviousHash: first.PreviousHash, Hash: last.Hash, FirstClosedAt: first.ClosedAt, ClosedAt: last.ClosedAt}
		id := domain.DerivedEventUUID("verified", network, strconv.FormatUint(uint64(m.First), 10), m.PreviousHash, m.Hash)
		return mark(m, id, ledgerRecord{first: m.First, seq: m.Last, hash: m.Hash, closedAt: m.ClosedAt})
	}
	for i := range ledgers {
		l := &ledgers[i]
		returning := in.state.wasAbandoned(l.Hash)
		if len(l.Events) == 0 && l.Sequence <= final && !returning {
			run = append(run, *l)
			continue
		}
		if err := flush(); err != nil {
			return nil, nil, err
		}
		if returning {
			// A ledger a reorg abandoned, back (A → B → A): its events are stored and reverted, with the ids they
			// would have now. They are restored, not appended again (DESIGN §14).
			for _, d := range l.Events {
				ev, err := restoration(d, in.cfg.Decoder.NetworkID(), version)
				if err != nil {
					return nil, nil, err
				}
				batch = append(batch, eventstore.StreamAppend{Stream: d.Stream, Expected: eventstore.Any, Events: []eventstore.NewEvent{ev}})
			}
			if err := closed(l); err != nil {
				return nil, nil, err
			}
			continue
		}
		for _, d := range l.Events {
			ev := eventstore.NewEvent{ID: d.ID, Type: string(d.Event.Type()), Data: d.data}
			if ev.Data == nil {
				var err error
				if ev, err = newEvent(d.ID, d.Event); err != nil {
					return nil, nil, err
				}
			}
			if n := len(batch); n > 0 && batch[n-1].Stream == d.Stream {
				batch[n-1].Events = append(batch[n-1].Events, ev)
				continue
			}
			batch = append(batch, eventstore.StreamAppend{Stream: d.Stream, Expected: eventstore.Any, Events: []eventstore.NewEvent{ev}})
		}
		if err := closed(l); err != nil {
			return nil, nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	return batch, records, nil
}

// restoration is the EventRestored of a returning ledger's event d; version, the ledger stream's version at the
// return, makes each return's id its own (a ledger may come and go more than once).
func restoration(d Decoded, network string, version eventstore.Version) (eventstore.NewEvent, error) {
	ce, ok := d.Event.(domain.ChainEvent)
	if !ok {
		return eventstore.NewEvent{}, fmt.Errorf("restore %s: not a chain event", d.ID)
	}
	r := &domain.EventRestored{RestoredEventID: d.ID, RestoredType: d.Event.Type(), RestoredLedger: ce.ChainMetadata().Ledger,
		ContractID: ce.ChainMetadata().ContractID, Reason: domain.RevertReasonReorg}
	if ref, ok := domain.StreamOf(d.Event); ok {
		id := ref.StreamID
		r.StreamID = &id
	}
	return newEvent(domain.DerivedEventUUID("restored", network, d.ID, strconv.FormatInt(int64(version), 10)), r)
}

// isMarker tells whether an append of the ledger stream is a ledger marker (not a reorg marker).
func isMarker(sa eventstore.StreamAppend) bool {
	t := domain.EventType(sa.Events[0].Type)
	return t == domain.TypeLedgerClosed || t == domain.TypeLedgersVerified
}

func newEvent(id string, e domain.Event) (eventstore.NewEvent, error) {
	data, err := domain.Marshal(e)
	if err != nil {
		return eventstore.NewEvent{}, err
	}
	return eventstore.NewEvent{ID: id, Type: string(e.Type()), Data: data}, nil
}

// appendLedgers appends ledgers that extend the stored tip, in one batch.
func (in *Ingester) appendLedgers(ctx context.Context, ledgers []Ledger) error {
	if len(ledgers) == 0 {
		return nil
	}
	batch, records, err := in.ledgerBatch(ledgers, in.state.version)
	if err != nil {
		return err
	}
	res, err := in.cfg.Store.AppendMany(ctx, batch)
	if errors.Is(err, eventstore.ErrEventTooLarge) && len(ledgers) > 1 {
		// More than the store takes at once (EventStoreDB's append size): each ledger must be atomic, not the
		// batch, so append it in halves.
		half := len(ledgers) / 2
		if err := in.appendLedgers(ctx, ledgers[:half]); err != nil {
			return err
		}
		return in.appendLedgers(ctx, ledgers[half:])
	}
	if err != nil {
		return fmt.Errorf("append ledgers %d..%d: %w", ledgers[0].Sequence, ledgers[len(ledgers)-1].Sequence, err)
	}
	if stored, err := in.checkFresh(ctx, batch, res, records); err != nil || stored {
		return err
	}
	in.commit(batch, res, ledgers, records)
	return nil
}

// checkFresh looks at the ledger markers of an appended batch (records, in batch order) that the store already
// held. Another writer may have stored the same ledgers first (two serves overlapping in a deploy): then they are on
// the stored chain, the store is consistent, and the chain state is read again from it (stored reports true: the
// batch is not all the caller's). Otherwise the chain brought back a ledger it had abandoned, whose events are
// stored and reverted: a halt.
func (in *Ingester) checkFresh(ctx context.Context, batch []eventstore.StreamAppend, res []eventstore.AppendResult,
	records []ledgerRecord) (stored bool, err error) {
	var dups []ledgerRecord
	k := 0
	for i, sa := range batch {
		if sa.Stream != in.stream || !isMarker(sa) {
			continue
		}
		if res[i].Events[0].Duplicate {
			dups = append(dups, records[k])
		}
		k++
	}
	if len(dups) == 0 {
		return false, nil
	}
	st, err := loadState(ctx, in.cfg.Store, in.stream, in.keep)
	if tip, ok := st.tip(); err == nil && ok && st.window[0].seq > dups[0].seq && tip.seq >= dups[0].seq {
		st, err = loadState(ctx, in.cfg.Store, in.stream, int(tip.seq-dups[0].seq)+2) // the other writer is far ahead
	}
	if errors.Is(err, ErrInconsistentStore) {
		return true, in.halt(HaltInconsistentStore, err)
	}
	if err != nil {
		return true, err
	}
	for _, d := range dups {
		if r, ok := st.record(d.seq); ok && r.hash == d.hash {
			continue
		}
		cause := fmt.Errorf("ledger %d (%s) was already stored, and abandoned", d.seq, d.hash)
		if st.version == in.state.version {
			return true, in.halt(HaltLedgerReappeared, fmt.Errorf("%w: it came back", cause))
		}
		// Another writer moved the chain since this batch was read from the source (it saw a reorg that this
		// ingester's buffered ledgers predate): nothing of the batch was written; read the chain again.
		in.loaded = false
		return true, fmt.Errorf("%w by another writer: reading the chain again", cause)
	}
	in.state, in.loaded = st, true
	in.publish(true)
	tip, _ := st.tip()
	in.cfg.Logger.Info("another writer had stored some of these ledgers; following the stored chain", "ledgers", len(dups), "tip", tip.seq)
	return true, nil
}

// commit records what a successful append stored.
func (in *Ingester) commit(batch []eventstore.StreamAppend, res []eventstore.AppendResult, ledgers []Ledger, records []ledgerRecord) {
	k := 0
	for i, sa := range batch {
		if sa.Stream != in.stream {
			continue
		}
		in.state.version = res[i].LastVersion
		if isMarker(sa) {
			records[k].position = res[i].Events[0].Position
			k++
		}
	}
	in.state.push(records, in.keep)
	for _, r := range records {
		delete(in.state.abandoned, r.hash) // a ledger that came back is on the current branch again
	}
	in.cfg.Metrics.appended(ledgers)
	events := 0
	for _, l := range ledgers {
		events += len(l.Events)
	}
	in.smu.Lock()
	in.status.Ledgers += int64(len(ledgers))
	in.status.Events += int64(events)
	in.smu.Unlock()
	in.publish(true)
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

// ErrRewind is the cause of a refused rewind: a target the store does not hold, or nothing above it.
var ErrRewind = errors.New("cannot rewind")

// Rewind is the operator's way out of a halt (DESIGN §4, `streamledger rewind`): it compensates every stored
// ledger above ledger to, exactly as a reorg with fork point to and no new branch would, and records the action as
// an OperatorRewound event (audited). Ingestion then resumes from to+1 on whatever chain the source serves. Run it
// while no other ingester writes: the ledger stream's expected version refuses a concurrent writer.
func (in *Ingester) Rewind(ctx context.Context, to uint32, operator, reason string) (ReorgSummary, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	st, err := loadState(ctx, in.cfg.Store, in.stream, in.keep)
	if err != nil {
		return ReorgSummary{}, err
	}
	tip, ok := st.tip()
	if !ok || to >= tip.seq {
		return ReorgSummary{}, fmt.Errorf("%w: the store's tip is ledger %d, nothing lies above ledger %d", ErrRewind, tip.seq, to)
	}
	if to < st.window[0].seq { // further back than the usual window: read as far as the target
		if st, err = loadState(ctx, in.cfg.Store, in.stream, int(tip.seq-to)+2); err != nil {
			return ReorgSummary{}, err
		}
	}
	in.state, in.loaded = st, true
	if r, ok := in.state.within(to); ok {
		return ReorgSummary{}, fmt.Errorf("%w: ledger %d lies inside the verified range %d..%d, whose inner hashes are not kept: rewind to %d or to %d",
			ErrRewind, to, r.first, r.seq, r.seq, r.first-1)
	}
	if _, ok := in.state.record(to); !ok {
		return ReorgSummary{}, fmt.Errorf("%w: ledger %d is not in the stored chain", ErrRewind, to)
	}
	batch, summary, err := in.reorgBatch(ctx, to, nil)
	if err != nil {
		return ReorgSummary{}, err
	}
	action := &domain.OperatorRewound{NetworkID: in.cfg.Decoder.NetworkID(), From: tip.seq, To: to, Reason: reason, Operator: operator}
	ev, err := newEvent(domain.DerivedEventUUID("rewind", action.NetworkID, strconv.FormatUint(uint64(to), 10), tip.hash), action)
	if err != nil {
		return ReorgSummary{}, err
	}
	batch = append(batch, eventstore.StreamAppend{Stream: domain.OperatorStream, Expected: eventstore.Any, Events: []eventstore.NewEvent{ev}})
	res, err := in.cfg.Store.AppendMany(ctx, batch)
	if err != nil {
		return ReorgSummary{}, fmt.Errorf("append rewind to %d: %w", to, err)
	}
	in.state.truncate(to)
	in.commit(batch, res, nil, nil)
	summary.At = in.cfg.Now()
	in.smu.Lock()
	in.halted = nil
	in.status.HaltReason, in.status.Health, in.status.LastReorg = "", HealthStarting, &summary
	in.status.Reorgs++
	in.smu.Unlock()
	in.cfg.Metrics.setHalted(false)
	in.cfg.Logger.Warn("ingestion rewound by an operator", "to", to, "from", tip.seq, "revertedEvents", summary.Reverted,
		"operator", operator, "reason", reason)
	return summary, nil
}
