package chain

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
	"github.com/stellar/go-stellar-sdk/xdr"
)

// MaxPushLedgers bounds one push: large enough for an indexer's catch-up batch, small enough to validate and
// append as one transaction.
const MaxPushLedgers = 100

// Push errors. A *PushError (ErrInvalidPush) is the pusher's mistake (HTTP 400); ErrPushConflict means the batch
// does not fit the stored chain (409); ErrHalted means ingestion is halted (503).
var (
	ErrInvalidPush  = errors.New("invalid ledger push")
	ErrPushConflict = errors.New("pushed ledgers do not fit the stored chain")
)

// PushError names the field of a push that is wrong.
type PushError struct {
	Field   string
	Message string
	cause   error
}

func (e *PushError) Error() string { return e.Field + ": " + e.Message }

// Unwrap lets errors.Is find ErrInvalidPush or ErrPushConflict.
func (e *PushError) Unwrap() error { return e.cause }

func invalid(field, format string, args ...any) *PushError {
	return &PushError{Field: field, Message: fmt.Sprintf(format, args...), cause: ErrInvalidPush}
}

func conflict(field, format string, args ...any) *PushError {
	return &PushError{Field: field, Message: fmt.Sprintf(format, args...), cause: ErrPushConflict}
}

// PushedLedger is one ledger of a push, shaped like the RPC's getLedgers entries.
type PushedLedger struct {
	Sequence    uint32 `json:"sequence"`
	Hash        string `json:"hash"`
	MetadataXDR string `json:"metadataXdr"`
}

// PushResult says what a push did.
type PushResult struct {
	Appended      int           `json:"appended"`
	AlreadyStored int           `json:"alreadyStored"`
	Tip           uint32        `json:"tipLedger"`
	Reorg         *ReorgSummary `json:"reorg,omitempty"`
}

// Push ingests a batch of ledgers from an external indexer. The batch is validated whole before anything is
// written, and written in one append: a push either lands entirely or not at all. Ledgers the store already holds
// (same hash) are skipped, so a retried push is a no-op. A batch that starts on another branch than the stored
// one, from its fork point, is a reorg, handled as with any source (DESIGN §4).
func (in *Ingester) Push(ctx context.Context, pushed []PushedLedger) (PushResult, error) {
	ledgers, err := in.validatePush(pushed)
	if err != nil {
		return PushResult{}, err
	}
	return in.push(ctx, ledgers)
}

// PushBatch is Push for a raw LedgerCloseMetaBatch, as a SEP-54 lake file holds it (zstd-compressed or not): its
// ledgers are verified whole, must be contiguous and linked, and are ingested in one append like a pushed batch.
func (in *Ingester) PushBatch(ctx context.Context, raw []byte) (PushResult, error) {
	metas, err := ParseLedgerBatch(raw, MaxPushLedgers)
	if err != nil {
		return PushResult{}, err
	}
	ledgers := make([]Ledger, 0, len(metas))
	for i, lcm := range metas {
		l, err := in.cfg.Decoder.Decode(lcm)
		if err != nil {
			return PushResult{}, invalid(fmt.Sprintf("ledgerCloseMetas[%d]", i), "%v", err)
		}
		if err := linked(ledgers, l, fmt.Sprintf("ledgerCloseMetas[%d]", i)); err != nil {
			return PushResult{}, err
		}
		ledgers = append(ledgers, l)
	}
	return in.push(ctx, ledgers)
}

// linked checks that l follows the last of ledgers.
func linked(ledgers []Ledger, l Ledger, field string) error {
	if len(ledgers) == 0 {
		return nil
	}
	prev := ledgers[len(ledgers)-1]
	if l.Sequence != prev.Sequence+1 {
		return invalid(field, "ledger %d does not follow ledger %d: a push is contiguous", l.Sequence, prev.Sequence)
	}
	if l.PreviousHash != prev.Hash {
		return invalid(field, "ledger %d's previous hash %s is not the hash of ledger %d (%s)", l.Sequence, l.PreviousHash, prev.Sequence, prev.Hash)
	}
	return nil
}

// maxBatchXDR bounds a pushed batch once decompressed: 100 pubnet-sized ledgers and room to spare.
const maxBatchXDR = 256 << 20

// ParseLedgerBatch reads a LedgerCloseMetaBatch (zstd-compressed or plain XDR) of at most max ledgers, whose
// header's range must be what it holds.
func ParseLedgerBatch(raw []byte, max int) ([]xdr.LedgerCloseMeta, error) {
	if bytes.HasPrefix(raw, zstdMagic) {
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxBatchXDR))
		if err != nil {
			return nil, err
		}
		defer dec.Close()
		if raw, err = dec.DecodeAll(raw, nil); err != nil {
			return nil, invalid("body", "corrupt zstd data: %v", err)
		}
	}
	var batch xdr.LedgerCloseMetaBatch
	if err := xdr.SafeUnmarshal(raw, &batch); err != nil {
		return nil, invalid("body", "not a LedgerCloseMetaBatch: %v", err)
	}
	n := len(batch.LedgerCloseMetas)
	switch {
	case n == 0:
		return nil, invalid("ledgerCloseMetas", "at least one ledger is required")
	case n > max:
		return nil, invalid("ledgerCloseMetas", "%d ledgers; at most %d per push", n, max)
	case uint64(batch.EndSequence) < uint64(batch.StartSequence) || uint64(batch.EndSequence)-uint64(batch.StartSequence)+1 != uint64(n):
		return nil, invalid("endSequence", "the batch says ledgers %d..%d and holds %d", batch.StartSequence, batch.EndSequence, n)
	}
	for i := range batch.LedgerCloseMetas {
		if got, want := batch.LedgerCloseMetas[i].LedgerSequence(), uint32(batch.StartSequence)+uint32(i); got != want {
			return nil, invalid(fmt.Sprintf("ledgerCloseMetas[%d]", i), "ledger %d where the batch's range puts ledger %d", got, want)
		}
	}
	return batch.LedgerCloseMetas, nil
}

// zstdMagic starts every zstd frame.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// push ingests verified, contiguous, linked ledgers (see Push).
func (in *Ingester) push(ctx context.Context, ledgers []Ledger) (PushResult, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := in.haltedErr(); err != nil {
		return PushResult{}, err
	}
	if err := in.ensureLoadedLocked(ctx); err != nil {
		return PushResult{}, err
	}
	res := PushResult{}
	var err error
	tip, hasTip := in.state.tip()
	i := 0
	for ; i < len(ledgers) && hasTip && ledgers[i].Sequence <= tip.seq; i++ {
		l := ledgers[i]
		stored, ok := in.state.record(l.Sequence)
		if r, inRange := in.state.within(l.Sequence); !ok && inRange && ledgers[len(ledgers)-1].Sequence >= r.seq {
			// A verified range keeps only its last hash: the push's own ledger there vouches for this one, the push
			// being one hash chain (a retried push reaches its own last ledgers, which are never inside a range).
			res.AlreadyStored++
			continue
		}
		if !ok {
			return PushResult{}, conflict(fmt.Sprintf("ledgers[%d].sequence", i),
				"ledger %d is older than the ledgers kept for verification (%d..%d); push from ledger %d",
				l.Sequence, in.state.window[0].seq, tip.seq, tip.seq+1)
		}
		if stored.hash != l.Hash {
			break
		}
		res.AlreadyStored++
	}
	fresh := ledgers[i:]
	switch {
	case len(fresh) == 0:
	case !hasTip:
		err = in.appendLedgers(ctx, fresh)
	case fresh[0].Sequence > tip.seq+1:
		return PushResult{}, conflict(fmt.Sprintf("ledgers[%d].sequence", i),
			"ledger %d leaves a gap: the stored tip is %d, push ledger %d next", fresh[0].Sequence, tip.seq, tip.seq+1)
	default:
		parent, ok := in.state.record(fresh[0].Sequence - 1)
		if !ok || parent.hash != fresh[0].PreviousHash {
			return PushResult{}, conflict(fmt.Sprintf("ledgers[%d].metadataXdr", i),
				"ledger %d's previous hash %s is not the stored ledger %d (%s): push the other branch from its fork point",
				fresh[0].Sequence, fresh[0].PreviousHash, fresh[0].Sequence-1, parent.hash)
		}
		if fresh[0].Sequence == tip.seq+1 {
			err = in.appendLedgers(ctx, fresh)
			break
		}
		before := in.Status().Reorgs
		err = in.reorganize(ctx, append([]Ledger{{Sequence: parent.seq, Hash: parent.hash}}, fresh...))
		if err == nil && in.Status().Reorgs > before {
			res.Reorg = in.Status().LastReorg
		}
	}
	if err != nil {
		return PushResult{}, err
	}
	res.Appended = len(fresh)
	if t, ok := in.state.tip(); ok {
		res.Tip = t.seq
	}
	return res, nil
}

// validatePush checks every field of every ledger and that the batch is one contiguous, linked chain.
func (in *Ingester) validatePush(pushed []PushedLedger) ([]Ledger, error) {
	if len(pushed) == 0 {
		return nil, invalid("ledgers", "at least one ledger is required")
	}
	if len(pushed) > MaxPushLedgers {
		return nil, invalid("ledgers", "%d ledgers; at most %d per push", len(pushed), MaxPushLedgers)
	}
	out := make([]Ledger, 0, len(pushed))
	for i, p := range pushed {
		field := func(name string) string { return fmt.Sprintf("ledgers[%d].%s", i, name) }
		if p.Sequence == 0 {
			return nil, invalid(field("sequence"), "required (a ledger sequence ≥ 1)")
		}
		if p.Hash == "" {
			return nil, invalid(field("hash"), "required")
		}
		if raw, err := hex.DecodeString(p.Hash); err != nil || len(raw) != 32 {
			return nil, invalid(field("hash"), "must be 64 hexadecimal characters")
		}
		if p.MetadataXDR == "" {
			return nil, invalid(field("metadataXdr"), "required (base64 XDR of a LedgerCloseMeta)")
		}
		raw, err := base64.StdEncoding.DecodeString(p.MetadataXDR)
		if err != nil {
			return nil, invalid(field("metadataXdr"), "not base64: %v", err)
		}
		var lcm xdr.LedgerCloseMeta
		if err := xdr.SafeUnmarshal(raw, &lcm); err != nil {
			return nil, invalid(field("metadataXdr"), "not a LedgerCloseMeta: %v", err)
		}
		l, err := in.cfg.Decoder.Decode(lcm)
		if err != nil {
			return nil, invalid(field("metadataXdr"), "%v", err)
		}
		if l.Sequence != p.Sequence {
			return nil, invalid(field("sequence"), "%d, but the metadata is of ledger %d", p.Sequence, l.Sequence)
		}
		if l.Hash != normalHex(p.Hash) {
			return nil, invalid(field("hash"), "%s, but the metadata's header hashes to %s", p.Hash, l.Hash)
		}
		if i > 0 {
			prev := out[i-1]
			if l.Sequence != prev.Sequence+1 {
				return nil, invalid(field("sequence"), "%d does not follow ledger %d: a push is contiguous", l.Sequence, prev.Sequence)
			}
			if l.PreviousHash != prev.Hash {
				return nil, invalid(field("metadataXdr"), "previous hash %s is not the hash of ledgers[%d] (%s)", l.PreviousHash, i-1, prev.Hash)
			}
		}
		out = append(out, l)
	}
	return out, nil
}

func normalHex(s string) string {
	raw, err := hex.DecodeString(s)
	if err != nil {
		return s
	}
	return hex.EncodeToString(raw)
}
