package chain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
)

// Scan verifies and decodes one ledger given as the XDR of its LedgerCloseMeta, the way history is read (DESIGN
// §13): a ledger that holds no event of the configured contracts is never decoded whole. Its header is read in
// place (zero-copy views) and must hash to the ledger hash it states; the ingester then checks that it links to the
// ledger before it. Only a ledger whose bytes contain a configured contract's id is looked at further: its
// transactions' events are located in place (ingest.ExtractLedgerTxParts), and when one of them is a successful
// transaction's event of a configured contract the ledger is decoded and verified whole, exactly as Decode does
// (the header's commitment to the transaction set, every transaction hashed under our network passphrase). The
// result equals Decode's for every ledger; the events come with their stored form encoded.
//
// The byte search is sound because a contract event carries its contract's 32-byte id verbatim: a ledger without
// those bytes has no event of that contract. A decoder that keeps every contract's events decodes every ledger.
func (d *Decoder) Scan(raw []byte) (l Ledger, err error) {
	view := xdr.LedgerCloseMetaView(raw)
	l, err = scanHeader(view)
	if err != nil {
		return Ledger{}, err
	}
	if d.contracts != nil {
		touched, err := d.touched(raw, view)
		if err != nil {
			return Ledger{}, fmt.Errorf("ledger %d: %w: %v", l.Sequence, ErrInvalidLedger, err)
		}
		if !touched {
			return l, nil
		}
	}
	var lcm xdr.LedgerCloseMeta
	if err := xdr.SafeUnmarshal(raw, &lcm); err != nil {
		return Ledger{}, fmt.Errorf("ledger %d: %w: not a LedgerCloseMeta: %v", l.Sequence, ErrInvalidLedger, err)
	}
	full, err := d.Decode(lcm)
	if err != nil {
		return Ledger{}, err
	}
	if err := encodeEvents(&full); err != nil {
		return Ledger{}, err
	}
	return full, nil
}

// scanHeader reads and verifies a ledger's header in place.
func scanHeader(view xdr.LedgerCloseMetaView) (Ledger, error) {
	l, err := try(func() Ledger {
		if v := view.MustV(); v < 0 || v > 2 {
			panic(fmt.Errorf("LedgerCloseMeta version %d is not supported", v))
		}
		entry := must(view.LedgerHeader())
		header := entry.MustHeader()
		stated := entry.MustHash().MustRaw()
		if sha256.Sum256(header.MustRaw()) != [32]byte(stated) {
			panic(fmt.Errorf("ledger %d: header does not hash to the stated ledger hash %x", header.MustLedgerSeq().MustValue(), stated))
		}
		return Ledger{
			Sequence:     header.MustLedgerSeq().MustValue(),
			Hash:         hex.EncodeToString(stated),
			PreviousHash: hex.EncodeToString(header.MustPreviousLedgerHash().MustRaw()),
			ClosedAt:     time.Unix(int64(header.MustScpValue().MustCloseTime().MustValue()), 0).UTC(),
		}
	})
	if err != nil {
		return Ledger{}, fmt.Errorf("%w: %v", ErrInvalidLedger, err)
	}
	return l, nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// try runs fn, which reads views with their panicking accessors, and turns any panic into an error: the bytes come
// from outside, and no content of theirs may stop the process (xdr.Try re-panics what is not a view error).
func try[T any](fn func() T) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
			} else {
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	return fn(), nil
}

// touched tells whether a successful transaction of the ledger emitted an event of a configured contract.
func (d *Decoder) touched(raw []byte, view xdr.LedgerCloseMetaView) (bool, error) {
	if d.contracts.namesExecutable(raw) {
		return true, nil
	}
	if !d.contracts.mentions(raw) {
		return false, nil
	}
	parts, err := ingest.ExtractLedgerTxParts(view)
	if err != nil {
		return false, err
	}
	events, err := ingest.EventsFromTxParts(parts)
	if err != nil {
		return false, err
	}
	return try(func() bool {
		for i, tx := range events {
			if ok, err := parts[i].Result.MustResult().Successful(); err != nil {
				panic(err)
			} else if !ok {
				continue
			}
			for _, op := range tx.OperationEvents {
				for _, raw := range op {
					ev := xdr.ContractEventView(raw)
					if ev.MustType().MustValue() != xdr.ContractEventTypeContract {
						continue
					}
					opt := ev.MustContractId().MustRaw()
					if len(opt) == 4+32 && opt[3] == 1 {
						if _, ok := d.contracts.lookup(xdr.ContractId(opt[4:])); ok {
							return true
						}
					}
				}
			}
		}
		return false
	})
}

// encodeEvents encodes the stored form of a decoded ledger's events (on the reading goroutines, off the append
// path).
func encodeEvents(l *Ledger) error {
	var err error
	for i := range l.Events {
		if l.Events[i].data, err = domain.Marshal(l.Events[i].Event); err != nil {
			return err
		}
	}
	return nil
}
