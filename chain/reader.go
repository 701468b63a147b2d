package chain

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
)

// LedgerReader is where an ingester reads ledgers from: verified and decoded, in sequence.
type LedgerReader interface {
	// Read returns ledgers from ledger from on: the first one (waiting for it), then those the source holds
	// already, until the batch holds maxLedgers ledgers or the ledger that brings it to maxEvents events. Every
	// reader cuts batches by this rule, so that sources holding the same chain give the same batches (and the
	// ingester the same log: see ledgerBatch).
	Read(ctx context.Context, from uint32, maxLedgers, maxEvents int) ([]Ledger, error)
	Close() error
}

// Cut is the batch rule of LedgerReader.Read: how many of ledgers (in sequence) one batch takes.
func Cut(ledgers []Ledger, maxLedgers, maxEvents int) int {
	n, events := min(len(ledgers), maxLedgers), 0
	for i := range n {
		if events += len(ledgers[i].Events); events >= maxEvents {
			return i + 1
		}
	}
	return n
}

// backendReader reads from a prepared go-stellar-sdk LedgerBackend: sequential reads (a LedgerBackend is not safe
// for concurrent use), decoding spread over the cores so that a catching-up ingester keeps the store busy.
type backendReader struct {
	b      ledgerbackend.LedgerBackend
	decode func(lcm xdr.LedgerCloseMeta, seq uint32) (Ledger, error)
}

func (r *backendReader) Read(ctx context.Context, next uint32, maxLedgers, maxEvents int) ([]Ledger, error) {
	first, err := r.b.GetLedger(ctx, next)
	if err != nil {
		return nil, fmt.Errorf("get ledger %d: %w", next, err)
	}
	lcms := []xdr.LedgerCloseMeta{first}
	if latest, err := r.b.GetLatestLedgerSequence(ctx); err == nil {
		for seq := next + 1; seq <= latest && len(lcms) < maxLedgers; seq++ {
			lcm, err := r.b.GetLedger(ctx, seq)
			if err != nil {
				break // keep what we have; the failure will show on the next read
			}
			lcms = append(lcms, lcm)
		}
	}
	out := make([]Ledger, len(lcms))
	errs := make([]error, len(lcms))
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(lcms))
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(lcms); i += workers {
				out[i], errs[i] = r.decode(lcms[i], next+uint32(i))
			}
		})
	}
	wg.Wait()
	// A ledger that discovered a contract changed what the later ones decode: they are read again, in order.
	for i := range out {
		if errs[i] == nil && discovered(out[i]) {
			for j := i + 1; j < len(lcms); j++ {
				out[j], errs[j] = r.decode(lcms[j], next+uint32(j))
			}
			break
		}
	}
	for i := range out {
		if errs[i] != nil {
			if i == 0 {
				return nil, errs[i]
			}
			out = out[:i]
			break
		}
	}
	return out[:Cut(out, maxLedgers, maxEvents)], nil
}

func (r *backendReader) Close() error { return r.b.Close() }

// handoff reads from first up to its end (a data lake's last ledger), then from a source opened at end+1 (RPC),
// which then follows the tip: one reader, so the ingester sees no gap, no duplicate and no failure at the seam.
type handoff struct {
	first    LedgerReader
	end      uint32
	open     func(ctx context.Context, from uint32) (LedgerReader, error)
	second   LedgerReader
	lastHash string // of the last ledger the first reader gave: the second's anchor
}

func (h *handoff) Read(ctx context.Context, from uint32, maxLedgers, maxEvents int) ([]Ledger, error) {
	if from <= h.end {
		ledgers, err := h.first.Read(ctx, from, maxLedgers, maxEvents)
		if n := len(ledgers); err == nil && n > 0 {
			if ledgers[n-1].Sequence > h.end {
				return nil, fmt.Errorf("reader gave ledger %d past its end %d", ledgers[n-1].Sequence, h.end)
			}
			h.lastHash = ledgers[n-1].Hash
		}
		return ledgers, err
	}
	if h.second == nil {
		if h.lastHash != "" {
			ctx = withAnchor(ctx, h.lastHash)
		}
		r, err := h.open(ctx, from)
		if err != nil {
			return nil, err
		}
		h.second = r
	}
	return h.second.Read(ctx, from, maxLedgers, maxEvents)
}

func (h *handoff) Close() error {
	err := h.first.Close()
	if h.second != nil {
		err = errors.Join(err, h.second.Close())
	}
	return err
}

// discovered tells whether a decoded ledger bound a new contract.
func discovered(l Ledger) bool {
	for _, e := range l.Events {
		if _, ok := e.Event.(*domain.ContractDiscovered); ok {
			return true
		}
	}
	return false
}
