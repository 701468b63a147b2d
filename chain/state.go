package chain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
)

// ErrInconsistentStore means the ledger stream does not describe one chain (a gap between markers): something
// other than the ingester wrote it, and ingesting on top would make things worse.
var ErrInconsistentStore = errors.New("ledger stream is inconsistent")

// ledgerRecord is one ingested ledger of the current branch, or a verified range of them ending at seq (first <
// seq): of a range only its last ledger's hash is known.
type ledgerRecord struct {
	first    uint32 // seq, or the first ledger of a LedgersVerified range
	seq      uint32
	hash     string
	closedAt time.Time
	position eventstore.Position // of its marker
}

// chainState is what the ingester knows of the chain it has stored: the recent ledgers of the current branch
// (enough to find any fork at or above the last safe ledger) and the ledger stream's version. The window is
// contiguous, but its older part may hold ranges (final ledgers without events), whose inner ledgers have no record.
type chainState struct {
	window  []ledgerRecord // ascending
	version eventstore.Version
	// abandoned holds the hashes (and sequences) of ledgers that reorgs abandoned within the window: one coming
	// back must be refused before anything of its batch is written.
	abandoned map[string]uint32
}

func (s *chainState) tip() (ledgerRecord, bool) {
	if len(s.window) == 0 {
		return ledgerRecord{}, false
	}
	return s.window[len(s.window)-1], true
}

// record is the record of ledger seq, when the window knows its hash (a single ledger or the end of a range).
func (s *chainState) record(seq uint32) (ledgerRecord, bool) {
	i, ok := slices.BinarySearchFunc(s.window, seq, func(r ledgerRecord, seq uint32) int { return cmp.Compare(r.seq, seq) })
	if !ok {
		return ledgerRecord{}, false
	}
	return s.window[i], true
}

// within is the range of the window that holds ledger seq inside it (not at its end), if any.
func (s *chainState) within(seq uint32) (ledgerRecord, bool) {
	i, _ := slices.BinarySearchFunc(s.window, seq, func(r ledgerRecord, seq uint32) int { return cmp.Compare(r.seq, seq) })
	if i < len(s.window) && s.window[i].first <= seq && seq < s.window[i].seq {
		return s.window[i], true
	}
	return ledgerRecord{}, false
}

// lastSafe is the highest final ledger: tip − margin.
func lastSafe(tip, margin uint32) uint32 {
	if tip <= margin {
		return 0
	}
	return tip - margin
}

// push adds freshly appended ledgers and keeps the window at keep ledgers.
func (s *chainState) push(recs []ledgerRecord, keep int) {
	s.window = append(s.window, recs...)
	if extra := len(s.window) - keep; extra > 0 {
		s.window = append([]ledgerRecord(nil), s.window[extra:]...)
	}
	for hash, seq := range s.abandoned {
		if len(s.window) > 0 && seq < s.window[0].seq {
			delete(s.abandoned, hash)
		}
	}
}

// truncate drops the ledgers above fork: they were abandoned.
func (s *chainState) truncate(fork uint32) {
	for len(s.window) > 0 && s.window[len(s.window)-1].seq > fork {
		s.abandon(s.window[len(s.window)-1].hash, s.window[len(s.window)-1].seq)
		s.window = s.window[:len(s.window)-1]
	}
}

func (s *chainState) abandon(hash string, seq uint32) {
	if s.abandoned == nil {
		s.abandoned = map[string]uint32{}
	}
	s.abandoned[hash] = seq
}

// wasAbandoned tells whether a reorg abandoned the ledger of this hash (within the window): its events are stored
// and reverted.
func (s *chainState) wasAbandoned(hash string) bool {
	_, ok := s.abandoned[hash]
	return ok
}

// loadState reads the tail of the ledger stream, newest first, and keeps the newest marker of each ledger of the
// current branch: a ChainReorganized marker abandons every older marker above its fork point.
func loadState(ctx context.Context, store Store, stream string, keep int) (chainState, error) {
	st := chainState{version: -1}
	var newestFirst []ledgerRecord
	cutoff := uint32(math.MaxUint32)
	from := eventstore.EndOfStream
	for len(newestFirst) < keep {
		page, err := store.ReadStreamBackward(ctx, stream, from, 256)
		if err != nil {
			return chainState{}, fmt.Errorf("read %s: %w", stream, err)
		}
		if len(page) == 0 {
			break
		}
		if st.version < 0 {
			st.version = page[0].Version
		}
		for _, rec := range page {
			switch domain.EventType(rec.Type) {
			case domain.TypeChainReorganized:
				m, err := decodeStored[*domain.ChainReorganized](rec)
				if err != nil {
					return chainState{}, err
				}
				cutoff = min(cutoff, m.Fork)
				for _, r := range m.Replaced {
					st.abandon(r.OldHash, r.Ledger)
				}
			case domain.TypeLedgerClosed:
				m, err := decodeStored[*domain.LedgerClosed](rec)
				if err != nil {
					return chainState{}, err
				}
				if m.Ledger > cutoff {
					continue // on an abandoned branch
				}
				if cutoff != math.MaxUint32 && m.Ledger != cutoff {
					return chainState{}, fmt.Errorf("%w: %s holds ledger %d where %d was expected (version %d)",
						ErrInconsistentStore, stream, m.Ledger, cutoff, rec.Version)
				}
				newestFirst = append(newestFirst, ledgerRecord{first: m.Ledger, seq: m.Ledger, hash: m.Hash, closedAt: m.ClosedAt, position: rec.Position})
				cutoff = m.Ledger - 1
			case domain.TypeLedgersVerified:
				m, err := decodeStored[*domain.LedgersVerified](rec)
				if err != nil {
					return chainState{}, err
				}
				if m.Last > cutoff {
					continue // on an abandoned branch
				}
				if (cutoff != math.MaxUint32 && m.Last != cutoff) || m.First > m.Last {
					return chainState{}, fmt.Errorf("%w: %s holds ledgers %d..%d where %d was expected last (version %d)",
						ErrInconsistentStore, stream, m.First, m.Last, cutoff, rec.Version)
				}
				newestFirst = append(newestFirst, ledgerRecord{first: m.First, seq: m.Last, hash: m.Hash, closedAt: m.ClosedAt, position: rec.Position})
				cutoff = m.First - 1
			}
			if len(newestFirst) >= keep {
				break
			}
		}
		last := page[len(page)-1].Version
		if last == 0 {
			break
		}
		from = last - 1
	}
	for i := len(newestFirst) - 1; i >= 0; i-- {
		st.window = append(st.window, newestFirst[i])
		delete(st.abandoned, newestFirst[i].hash) // abandoned once, back since
	}
	return st, nil
}

// decodeStored decodes a stored event that must be a T, one of the core's events (ledger markers and
// compensations, read when the ingester starts or handles a reorg).
func decodeStored[T domain.Event](rec eventstore.Recorded) (T, error) {
	var zero T
	e, err := domain.MustRegistry().Unmarshal(rec.Data)
	if err != nil {
		return zero, fmt.Errorf("%w: event %s at position %d: %v", ErrInconsistentStore, rec.ID, rec.Position, err)
	}
	v, ok := e.(T)
	if !ok {
		return zero, fmt.Errorf("%w: event %s at position %d is a %s, stored as %s", ErrInconsistentStore, rec.ID,
			rec.Position, e.Type(), rec.Type)
	}
	return v, nil
}
