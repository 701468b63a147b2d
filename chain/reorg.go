package chain

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
)

// Reorganisations and rewinds: compensating the stored ledgers a branch abandons (DESIGN §4, §14).

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
			e, err := in.cfg.Decoder.Events().Unmarshal(rec.Data)
			if err != nil {
				return nil, ReorgSummary{}, fmt.Errorf("%w: event %s: %v", ErrInconsistentStore, rec.ID, err)
			}
			ce, ok := e.(domain.ChainEvent)
			if !ok || ce.ChainMetadata().NetworkID != in.cfg.Decoder.NetworkID() || ce.ChainMetadata().Ledger <= fork {
				continue
			}
			r := &domain.EventReverted{RevertedEventID: rec.ID, RevertedType: ce.Type(), RevertedLedger: ce.ChainMetadata().Ledger,
				ContractID: ce.ChainMetadata().ContractID}
			if _, id, ok := domain.SubjectOf(ce); ok {
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
