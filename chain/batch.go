package chain

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
)

// Appending ledgers: the batch layout (events, markers, verified ranges, restorations), and what a successful
// append changes in the chain state.

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
	if _, id, ok := domain.SubjectOf(d.Event); ok {
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
