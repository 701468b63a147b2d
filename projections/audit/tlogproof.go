package audit

import (
	"errors"
	"fmt"

	"github.com/transparency-dev/formats/proof"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrBadProof is the cause of every refusal of a tlog-proof: malformed, for another entry, or not proving it.
var ErrBadProof = errors.New("bad tlog-proof")

// TLogProof is entry seq's C2SP tlog-proof (c2sp.org/tlog-proof@v1): its index, its inclusion proof in a tree and
// that tree's signed checkpoint. Anyone holding the log's verifier key and the entry checks it offline.
func TLogProof(seq int64, inclusion tlog.RecordProof, signedCheckpoint []byte) []byte {
	p := proof.TLogProof{Index: uint64(seq), Checkpoint: signedCheckpoint}
	for _, h := range inclusion {
		p.Hashes = append(p.Hashes, [32]byte(h))
	}
	return p.Marshal()
}

// TLogProofCheckpoint is the signed checkpoint a tlog-proof carries, cosignatures and all.
func TLogProofCheckpoint(bundle []byte) ([]byte, error) {
	var p proof.TLogProof
	if err := p.Unmarshal(bundle); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadProof, err)
	}
	return p.Checkpoint, nil
}

// VerifyTLogProof checks a tlog-proof of leaf (the entry's bytes, as exported rows recompute them) with the log's
// verifier key: the checkpoint is signed by that key for this log's origin, and the inclusion proof binds the
// leaf's hash, at the proof's index, to the checkpoint's root. It returns the index and the checkpoint.
func VerifyTLogProof(bundle, leaf []byte, verifierKey string) (int64, Checkpoint, error) {
	var p proof.TLogProof
	if err := p.Unmarshal(bundle); err != nil {
		return 0, Checkpoint{}, fmt.Errorf("%w: %v", ErrBadProof, err)
	}
	c, err := OpenCheckpoint(p.Checkpoint, verifierKey)
	if err != nil {
		return 0, Checkpoint{}, err
	}
	if c.Origin != Origin {
		return 0, Checkpoint{}, fmt.Errorf("%w: the checkpoint is of log %q, not %q", ErrBadProof, c.Origin, Origin)
	}
	if p.Index >= uint64(c.Size) {
		return 0, Checkpoint{}, fmt.Errorf("%w: index %d of a tree of %d entries", ErrBadProof, p.Index, c.Size)
	}
	inclusion := make(tlog.RecordProof, len(p.Hashes))
	for i, h := range p.Hashes {
		inclusion[i] = tlog.Hash(h)
	}
	if err := VerifyInclusion(c, int64(p.Index), tlog.RecordHash(leaf), inclusion); err != nil {
		return 0, Checkpoint{}, fmt.Errorf("%w: %v", ErrBadProof, err)
	}
	return int64(p.Index), c, nil
}
