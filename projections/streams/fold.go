// Package streams is the stream-state projection (DESIGN §2, §5): the fold of every payment stream's events,
// in memory (the embedded default) or in PostgreSQL, and point-in-time reads.
//
// A reversal (EventReverted, appended after a reorg) or a restoration (EventRestored, when the chain comes back to
// an abandoned branch) is handled by replaying the stream from its stored events with only the standing ones,
// never by undoing or redoing an event: the fold has no inverse, and replaying is what makes the
// state after any sequence of reorgs equal to the state of a clean ingest. A reorg appends its reversals together,
// so the replay happens once per stream per batch, after its last reversal.
package streams

import (
	"context"
	"fmt"
	"time"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/projections"
)

// StreamReader reads a stream's stored events; the projection re-reads a stream to replay it after a reversal.
type StreamReader interface {
	ReadStream(ctx context.Context, stream string, from eventstore.Version, max int) ([]eventstore.Recorded, error)
}

// Folded reports whether rec can change a stream's state: only the events in payment streams' store streams
// can, which is also all that Replay reads. Both backends are projections.Selective with it.
func Folded(rec *eventstore.Recorded) bool { return fluxora.IsPaymentStoreStream(rec.Stream) }

// Change is a stream's new state after a batch; a stream whose every event was reverted is Gone.
type Change struct {
	State fluxora.Stream
	Gone  bool
}

// Fold computes the new state of every stream a batch touches. current returns a stream's state before the batch;
// raised, when not nil, is told about every anomaly an event raises as it is applied (a replay after a reversal
// raises none: its anomalies were reported when their events were first applied).
func Fold(ctx context.Context, reader StreamReader, batch []projections.Event,
	current func(fluxora.StreamRef) (fluxora.Stream, error), raised func(projections.Event, domain.Anomaly)) (map[fluxora.StreamRef]*Change, error) {
	// Pointers, so that an event costs one lookup of its stream (a batch holds many events of each stream).
	changes := make(map[fluxora.StreamRef]*Change)
	replayAt := make(map[fluxora.StreamRef]eventstore.Position) // reversals waiting to be replayed
	replay := func(ref fluxora.StreamRef) error {
		s, err := Replay(ctx, reader, ref, replayAt[ref])
		if err != nil {
			return err
		}
		delete(replayAt, ref)
		changes[ref] = &Change{State: s, Gone: !s.Known}
		return nil
	}
	for _, ev := range batch {
		// The fold reads with today's Fluxora decoder whatever runner fed it (decoder evolution, DESIGN §12); ev is
		// a copy, so the shared decoded event is left as it is.
		ev.Domain = fluxora.Module{}.Interpret(ev.Domain)
		ref, ok := fluxora.StreamOf(ev.Domain)
		if !ok {
			continue
		}
		if domain.IsCompensation(ev.Domain) { // a reversal, or a restoration after the chain came back
			replayAt[ref] = ev.Position
			continue
		}
		if _, pending := replayAt[ref]; pending {
			if err := replay(ref); err != nil {
				return nil, err
			}
		}
		c, ok := changes[ref]
		if !ok {
			s, err := current(ref)
			if err != nil {
				return nil, err
			}
			c = &Change{State: s}
			changes[ref] = c
		}
		if d, ok := ev.Domain.(*fluxora.StreamShareDelegated); ok {
			// The child starts from the parent's state just before the delegation: seeded here, so that a delegation
			// an older decoder stored as observed (no StreamDelegatedFrom follows it) creates its child on a replay.
			changes[d.ChildRef()] = &Change{State: fluxora.DelegatedChild(c.State, d)}
		}
		if from, ok := ev.Domain.(*fluxora.StreamDelegatedFrom); ok && !c.State.Known {
			s, err := origin(ctx, reader)(from)
			if err != nil {
				return nil, err
			}
			c.State = s
		}
		before := len(c.State.Anomalies)
		c.State, c.Gone = fluxora.Apply(c.State, ev.ID, ev.Domain), false
		if raised != nil {
			for _, a := range c.State.Anomalies[before:] {
				raised(ev, a)
			}
		}
	}
	for ref := range replayAt {
		if err := replay(ref); err != nil {
			return nil, err
		}
	}
	return changes, nil
}

// entries reads a stream's stored events up to position until (0: all) as fold entries.
func entries(ctx context.Context, reader StreamReader, ref fluxora.StreamRef, until eventstore.Position) ([]domain.Entry, error) {
	var out []domain.Entry
	var from eventstore.Version
	codec := fluxora.NewCodec()
	for {
		page, err := reader.ReadStream(ctx, ref.StoreStream(), from, 1000)
		if err != nil {
			return nil, fmt.Errorf("read stream %s: %w", ref, err)
		}
		for _, rec := range page {
			if until > 0 && rec.Position > until {
				return out, nil
			}
			e, err := codec.Events().Unmarshal(rec.Data)
			if err != nil {
				return nil, fmt.Errorf("stream %s event %s: %w", ref, rec.ID, err)
			}
			out = append(out, domain.Entry{ID: rec.ID, Event: codec.Interpret(e)})
		}
		if len(page) < 1000 {
			return out, nil
		}
		from = page[len(page)-1].Version + 1
	}
}

// Replay is a stream's state from its stored events up to position until (0: all), without reverted events.
func Replay(ctx context.Context, reader StreamReader, ref fluxora.StreamRef, until eventstore.Position) (fluxora.Stream, error) {
	es, err := entries(ctx, reader, ref, until)
	if err != nil {
		return fluxora.Stream{}, err
	}
	return fluxora.ReplayWith(es, ^uint32(0), origin(ctx, reader))
}

// origin reads where a child stream starts: its parent's state from the parent's standing events before the
// delegation, split by it. The parent's events are in the parent's store stream, so a child's replay reads them.
func origin(ctx context.Context, reader StreamReader) fluxora.Origin {
	return func(from *fluxora.StreamDelegatedFrom) (fluxora.Stream, error) {
		parent := fluxora.StreamRef{ContractID: from.ContractID, StreamID: from.ParentStreamID}
		es, err := entries(ctx, reader, parent, 0)
		if err != nil {
			return fluxora.Stream{}, err
		}
		reverted := domain.Standing(es)
		var before []domain.Entry
		for _, en := range es {
			if en.ID == from.DelegationEventID {
				d, ok := en.Event.(*fluxora.StreamShareDelegated)
				if !ok || reverted[en.ID] {
					break
				}
				// Compensations stay out of the prefix: standing-ness comes from the whole stream.
				s, err := fluxora.ReplayWith(standingOnly(before, reverted), ^uint32(0), origin(ctx, reader))
				if err != nil {
					return fluxora.Stream{}, err
				}
				return fluxora.DelegatedChild(s, d), nil
			}
			before = append(before, en)
		}
		// The delegation is not a standing event of the parent (a reorg that reverted it reverts this event too): the
		// child starts unknown, and applying its first event says so as an anomaly.
		return fluxora.Stream{}, nil
	}
}

// standingOnly is entries without the reverted events and without compensations.
func standingOnly(entries []domain.Entry, reverted map[string]bool) []domain.Entry {
	out := make([]domain.Entry, 0, len(entries))
	for _, en := range entries {
		if !reverted[en.ID] && !domain.IsCompensation(en.Event) {
			out = append(out, en)
		}
	}
	return out
}

// AsOfLedger is a stream's state as of ledger L: the fold of its events at or below L that were not reverted.
// ok is false when the stream did not exist then.
func AsOfLedger(ctx context.Context, reader StreamReader, ref fluxora.StreamRef, ledger uint32) (s fluxora.Stream, ok bool, err error) {
	es, err := entries(ctx, reader, ref, 0)
	if err != nil {
		return fluxora.Stream{}, false, err
	}
	s, err = fluxora.ReplayWith(es, ledger, origin(ctx, reader))
	return s, s.Known, err
}

// AsOfTime is a stream's state as of time t: the fold of its events from ledgers closed at or before t.
func AsOfTime(ctx context.Context, reader StreamReader, ref fluxora.StreamRef, t time.Time) (fluxora.Stream, bool, error) {
	es, err := entries(ctx, reader, ref, 0)
	if err != nil {
		return fluxora.Stream{}, false, err
	}
	// Close times grow with ledgers, so "closed at or before t" is "at or below the last such ledger".
	var ledger uint32
	found := false
	for _, en := range es {
		if ce, ok := en.Event.(domain.ChainEvent); ok && !ce.ChainMetadata().LedgerClosedAt.After(t) {
			ledger, found = max(ledger, ce.ChainMetadata().Ledger), true
		}
	}
	if !found {
		return fluxora.Stream{}, false, nil
	}
	s, err := fluxora.ReplayWith(es, ledger, origin(ctx, reader))
	return s, s.Known, err
}
