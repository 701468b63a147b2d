package chain

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	protocol "github.com/stellar/go-stellar-sdk/protocols/rpc"
	"github.com/stellar/go-stellar-sdk/xdr"
)

// ErrNoEndpoint: every RPC endpoint is set aside or unreachable; ingestion retries (stalled) until one is back.
var ErrNoEndpoint = errors.New("no RPC endpoint available")

// ErrNetworkReset: every endpoint's chain is far behind the stored one, as after a testnet reset. Ingestion halts
// (network_reset): the stored history is of a network that is gone, and an operator decides what follows.
var ErrNetworkReset = errors.New("the network was reset")

// EndpointStatus is one RPC endpoint as /health reports it.
type EndpointStatus struct {
	URL        string    `json:"url"`
	Tip        uint32    `json:"tipLedger"`
	Active     bool      `json:"active"`
	Reason     string    `json:"reason,omitempty"` // why it is set aside
	AsideUntil time.Time `json:"asideUntil,omitzero"`
	Following  bool      `json:"following"` // the endpoint ledgers are read from now
}

// EndpointsConfig configures several RPC endpoints behind one source.
type EndpointsConfig struct {
	// MaxLag: an endpoint whose tip is more than this many ledgers behind the highest is set aside (default 10).
	MaxLag uint32
	// Aside is how long an endpoint stays set aside (default 30 s).
	Aside time.Duration
	// Poll is how often the endpoints are asked again while none holds the next ledger yet (default 1 s): the
	// endpoint followed can change while the ingester waits at the tip.
	Poll time.Duration
	// ResetDepth: when every endpoint's tip is this many ledgers or more below the stored tip, the network was
	// reset (default 1000; a reorg is never that deep, an RPC's retention window far longer).
	ResetDepth uint32
	// Metrics, when set, records each endpoint's tip and standing.
	Metrics *Metrics
	Now     func() time.Time
}

// Endpoints is a ledger source over several RPC servers (DESIGN §14): it reads from the one with the highest tip
// that agrees with the stored chain. An endpoint is set aside for a while when its tip goes backwards, when it lags
// more than MaxLag ledgers behind the others, when it cannot be reached, or when it serves, for the last ledger
// read, a hash that the others disagree with: a stale or lying node behind a load balancer can then never lead the
// ingester into a reorg that did not happen.
type Endpoints struct {
	cfg       EndpointsConfig
	endpoints []*endpoint

	mu sync.Mutex // guards the endpoints' standing
}

type endpoint struct {
	src        *RPCSource
	shown      string // the URL without credentials, for status and logs
	maxTip     uint32
	tip        uint32
	asideUntil time.Time
	reason     string
	following  bool
}

// NewEndpoints makes a source of the RPC servers at urls.
func NewEndpoints(urls []string, cfg EndpointsConfig) (*Endpoints, error) {
	if len(urls) == 0 {
		return nil, errors.New("rpc endpoints: none given")
	}
	if cfg.MaxLag == 0 {
		cfg.MaxLag = 10
	}
	if cfg.Aside <= 0 {
		cfg.Aside = 30 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.ResetDepth == 0 {
		cfg.ResetDepth = 1000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Endpoints{cfg: cfg}
	for _, u := range urls {
		src, err := NewRPCSource(u, nil)
		if err != nil {
			return nil, err
		}
		e.endpoints = append(e.endpoints, &endpoint{src: src, shown: redactURL(u)})
	}
	return e, nil
}

// redactURL drops credentials and the query from a URL shown in status and logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

// CheckNetwork asks every endpoint for its network passphrase: one of another network refuses the start, naming
// both passphrases. An endpoint that does not answer is reported too: the start needs every configured endpoint.
func (e *Endpoints) CheckNetwork(ctx context.Context, passphrase string) error {
	for _, ep := range e.endpoints {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := ep.src.client.GetNetwork(cctx)
		cancel()
		if err != nil {
			return fmt.Errorf("rpc %s: getNetwork: %w", ep.shown, err)
		}
		if res.Passphrase != passphrase {
			return fmt.Errorf("%w: rpc %s serves network %q, NETWORK_PASSPHRASE is %q", ErrNetworkMismatch, ep.shown, res.Passphrase, passphrase)
		}
	}
	return nil
}

// ErrNetworkMismatch: a source serves another network than NETWORK_PASSPHRASE names.
var ErrNetworkMismatch = errors.New("the source serves another network")

// Status reports every endpoint.
func (e *Endpoints) Status() []EndpointStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.cfg.Now()
	out := make([]EndpointStatus, len(e.endpoints))
	for i, ep := range e.endpoints {
		out[i] = EndpointStatus{URL: ep.shown, Tip: ep.tip, Active: !now.Before(ep.asideUntil), Following: ep.following}
		if !out[i].Active {
			out[i].Reason, out[i].AsideUntil = ep.reason, ep.asideUntil
		}
	}
	return out
}

// Latest is the highest tip of the active endpoints (a readiness check).
func (e *Endpoints) Latest(ctx context.Context) (uint32, error) {
	if _, err := e.refresh(ctx); err != nil {
		return 0, err
	}
	best := uint32(0)
	for _, s := range e.Status() {
		if s.Active {
			best = max(best, s.Tip)
		}
	}
	return best, nil
}

// Close releases the clients.
func (e *Endpoints) Close() error {
	var errs []error
	for _, ep := range e.endpoints {
		errs = append(errs, ep.src.Close())
	}
	return errors.Join(errs...)
}

func (e *Endpoints) setAside(ep *endpoint, reason string) {
	ep.asideUntil, ep.reason, ep.following = e.cfg.Now().Add(e.cfg.Aside), reason, false
	e.cfg.Metrics.endpointAside(ep.shown, reason)
}

// refresh asks every endpoint not set aside for its tip, sets aside the ones that went back, lag or cannot be
// reached, and returns the active ones, highest tip first.
func (e *Endpoints) refresh(ctx context.Context) ([]*endpoint, error) {
	type answer struct {
		tip uint32
		err error
	}
	answers := make([]answer, len(e.endpoints))
	now := e.cfg.Now()
	var wg sync.WaitGroup
	for i, ep := range e.endpoints {
		e.mu.Lock()
		aside := now.Before(ep.asideUntil)
		e.mu.Unlock()
		if aside {
			answers[i].err = errAside
			continue
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			answers[i].tip, answers[i].err = ep.src.Latest(cctx)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var active []*endpoint
	var tips []uint32
	for i, ep := range e.endpoints {
		a := answers[i]
		switch {
		case errors.Is(a.err, errAside):
			continue
		case a.err != nil:
			e.setAside(ep, "unreachable: "+a.err.Error())
			continue
		case a.tip+e.cfg.ResetDepth <= ep.maxTip:
			// Far back: a reset network, or a node restarted from scratch. Its tip is kept: choose tells which.
			ep.tip, ep.maxTip = a.tip, a.tip
			active = append(active, ep)
			tips = append(tips, a.tip)
			continue
		case a.tip < ep.maxTip:
			e.setAside(ep, fmt.Sprintf("its tip went back from ledger %d to %d", ep.maxTip, a.tip))
			ep.tip = a.tip
			continue
		}
		ep.tip, ep.maxTip = a.tip, a.tip
		e.cfg.Metrics.endpointTip(ep.shown, a.tip)
		active = append(active, ep)
		tips = append(tips, a.tip)
	}
	// Lag is measured against the second highest tip: one endpoint claiming a tip far ahead (a liar) cannot push
	// the honest ones aside.
	slices.Sort(tips)
	if len(tips) >= 2 {
		ref := tips[len(tips)-2]
		active = slices.DeleteFunc(active, func(ep *endpoint) bool {
			if ep.tip+e.cfg.MaxLag < ref {
				e.setAside(ep, fmt.Sprintf("lags %d ledgers behind the others (%d)", ref-ep.tip, ref))
				return true
			}
			return false
		})
	}
	slices.SortStableFunc(active, func(a, b *endpoint) int { return int(b.tip) - int(a.tip) })
	if len(active) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoEndpoint, e.reasons())
	}
	return active, nil
}

var errAside = errors.New("set aside")

func (e *Endpoints) reasons() string {
	var rs []string
	for _, ep := range e.endpoints {
		rs = append(rs, ep.shown+": "+ep.reason)
	}
	return fmt.Sprint(rs)
}

// hashAt is an endpoint's hash of ledger seq (getLedgers), "" when it does not hold it.
func hashAt(ctx context.Context, ep *endpoint, seq uint32) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := ep.src.client.GetLedgers(cctx, protocol.GetLedgersRequest{StartLedger: seq,
		Pagination: &protocol.LedgerPaginationOptions{Limit: 1}})
	if err != nil {
		return "", err
	}
	if len(res.Ledgers) == 0 || res.Ledgers[0].Sequence != seq {
		return "", nil
	}
	return res.Ledgers[0].Hash, nil
}

// choose picks the endpoint to read from: the highest tip whose hash of the anchor ledger (the last one stored or
// read) agrees with the chain as the majority of the endpoints holding that ledger, the stored chain counting as
// one of them, see it. An endpoint in the minority is set aside: with the others agreeing with what is stored, it
// is stale or lying, and following it would be a reorg that did not happen. When the majority disagrees with the
// stored chain the chain did change (a reorg): the highest tip of the majority is followed into it.
func (e *Endpoints) choose(ctx context.Context, anchorSeq uint32, anchorHash string) (*endpoint, error) {
	active, err := e.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if anchorSeq > e.cfg.ResetDepth && active[0].tip+e.cfg.ResetDepth <= anchorSeq {
		return nil, fmt.Errorf("%w: the highest tip of the endpoints is ledger %d, the store holds ledger %d", ErrNetworkReset,
			active[0].tip, anchorSeq)
	}
	if len(active) == 1 {
		if len(e.endpoints) == 1 || anchorHash == "" {
			return e.follow(active[0]), nil
		}
		// The others are set aside: this one alone may lead into a reorg only if it agrees with the stored chain
		// (else it waits for another to confirm its view: with one endpoint configured, there is none to ask).
		h, err := hashAt(ctx, active[0], anchorSeq)
		if err == nil && (h == "" || h == anchorHash) {
			return e.follow(active[0]), nil
		}
		return nil, ctx.Err()
	}
	if anchorHash == "" {
		// Nothing stored to compare with (the first read, or a ledger in a verified range): the endpoints are
		// compared with each other, at the highest ledger they all hold.
		anchorSeq = active[len(active)-1].tip
	}
	hashes := make([]string, len(active))
	errs := make([]error, len(active))
	var wg sync.WaitGroup
	for i, ep := range active {
		wg.Go(func() { hashes[i], errs[i] = hashAt(ctx, ep, anchorSeq) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil { // a stop, not the endpoints' failure
		return nil, err
	}
	votes := map[string]int{}
	if anchorHash != "" {
		votes[anchorHash] = 1
	}
	for i := range active {
		if errs[i] == nil && hashes[i] != "" {
			votes[hashes[i]]++
		}
	}
	// The most votes win; a tie keeps the stored chain, or else the smaller hash (any fixed rule will do).
	winner, most := anchorHash, votes[anchorHash]
	for h, n := range votes {
		if n > most || (n == most && (winner == "" || (winner != anchorHash && h < winner))) {
			winner, most = h, n
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var chosen *endpoint
	for i, ep := range active {
		switch {
		case errs[i] != nil:
			e.setAside(ep, "unreachable: "+errs[i].Error())
		case hashes[i] != "" && hashes[i] != winner:
			e.setAside(ep, fmt.Sprintf("serves %s for ledger %d, where the majority (%d, the stored chain counting as one) has %s",
				hashes[i], anchorSeq, most, winner))
		case chosen == nil:
			chosen = ep
		}
	}
	if chosen == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoEndpoint, e.reasons())
	}
	for _, ep := range e.endpoints {
		ep.following = ep == chosen
	}
	return chosen, nil
}

func (e *Endpoints) follow(chosen *endpoint) *endpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ep := range e.endpoints {
		ep.following = ep == chosen
	}
	return chosen
}

// endpointsReader reads from the endpoint Endpoints chooses, checking it again before every batch.
type endpointsReader struct {
	e        *Endpoints
	decode   func(lcm xdr.LedgerCloseMeta, seq uint32) (Ledger, error)
	current  *endpoint
	reader   *backendReader
	next     uint32
	lastSeq  uint32
	lastHash string
}

// anchor tells the reader the stored ledger before the first it will read.
func (r *endpointsReader) anchor(seq uint32, hash string) { r.lastSeq, r.lastHash = seq, hash }

func (r *endpointsReader) Read(ctx context.Context, from uint32, maxLedgers, maxEvents int) ([]Ledger, error) {
	if from != r.lastSeq+1 {
		r.lastSeq, r.lastHash = from-1, "" // a position the reader did not come to by reading: nothing to anchor on
	}
	var ep *endpoint
	for {
		var err error
		if ep, err = r.e.choose(ctx, r.lastSeq, r.lastHash); err != nil {
			return nil, err
		}
		if ep != nil && ep.tip >= from {
			break
		}
		// No endpoint holds the ledger yet, or none that can be trusted: ask them all again in a while rather than
		// wait on one.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(r.e.cfg.Poll):
		}
	}
	if ep != r.current || r.reader == nil || from != r.next {
		r.closeReader()
		b, err := ep.src.Open()
		if err != nil {
			return nil, err
		}
		if err := b.PrepareRange(ctx, ledgerbackend.UnboundedRange(from)); err != nil {
			b.Close()
			return nil, fmt.Errorf("rpc %s: prepare from ledger %d: %w", ep.shown, from, err)
		}
		r.current, r.reader = ep, &backendReader{b: b, decode: r.decode}
	}
	ledgers, err := r.reader.Read(ctx, from, maxLedgers, maxEvents)
	if err != nil {
		r.closeReader()
		return nil, fmt.Errorf("rpc %s: %w", ep.shown, err)
	}
	last := ledgers[len(ledgers)-1]
	r.next, r.lastSeq, r.lastHash = last.Sequence+1, last.Sequence, last.Hash
	return ledgers, nil
}

func (r *endpointsReader) closeReader() {
	if r.reader != nil {
		r.reader.Close()
		r.reader = nil
	}
}

func (r *endpointsReader) Close() error {
	r.closeReader()
	return nil
}
