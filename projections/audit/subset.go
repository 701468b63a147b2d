package audit

import (
	"fmt"
	"math/bits"
	"sort"

	"golang.org/x/mod/sumdb/tlog"
)

// A subset proof shows that some entries of a tree (an export's rows) are the tree's entries at their sequence
// numbers: it holds the hashes of the largest complete subtrees that contain none of them, so that a verifier
// rebuilds the root from the rows' leaf hashes and these. An export of the whole log needs none; a contiguous range
// needs O(log n); k scattered rows need at most O(k log n).

// ProofHash is the hash of the complete subtree of 2^Level entries starting at entry Index·2^Level.
type ProofHash struct {
	Level int    `json:"level"`
	Index int64  `json:"index"`
	Hash  string `json:"hash"` // base64
}

// run is a range [lo, hi) of sequence numbers.
type run struct{ lo, hi int64 }

// addRun adds seq, larger than every seq added before, to runs.
func addRun(runs []run, seq int64) []run {
	if n := len(runs); n > 0 && runs[n-1].hi == seq {
		runs[n-1].hi++
		return runs
	}
	return append(runs, run{seq, seq + 1})
}

// intersects tells whether runs hold a seq in [lo, hi).
func intersects(runs []run, lo, hi int64) bool {
	// The first run ending after lo decides.
	i, j := 0, len(runs)
	for i < j {
		m := (i + j) / 2
		if runs[m].hi <= lo {
			i = m + 1
		} else {
			j = m
		}
	}
	return i < len(runs) && runs[i].lo < hi
}

// split is RFC 6962's: the left part of a subtree of n > 1 entries is the largest power of two below n.
func split(n int64) int64 { return 1 << (63 - bits.LeadingZeros64(uint64(n-1))) }

// complete reports whether [lo, hi) is a stored subtree, and its level.
func complete(lo, hi int64) (int, bool) {
	n := hi - lo
	if n&(n-1) != 0 {
		return 0, false
	}
	level := bits.TrailingZeros64(uint64(n))
	return level, lo%n == 0
}

// covered tells whether one run holds all of [lo, hi).
func covered(runs []run, lo, hi int64) bool {
	i := sort.Search(len(runs), func(i int) bool { return runs[i].hi > lo })
	return i < len(runs) && runs[i].lo <= lo && runs[i].hi >= hi
}

// walk visits the subtrees of [lo, hi) that hold no run, largest first, in order.
func walk(runs []run, lo, hi int64, visit func(lo, hi int64) error) error {
	if covered(runs, lo, hi) {
		return nil
	}
	if !intersects(runs, lo, hi) {
		if _, ok := complete(lo, hi); ok {
			return visit(lo, hi)
		}
	} else if hi-lo == 1 {
		return nil
	}
	k := split(hi - lo)
	if err := walk(runs, lo, lo+k, visit); err != nil {
		return err
	}
	return walk(runs, lo+k, hi, visit)
}

// proveRuns is the subset proof of runs in the tree of size entries.
func proveRuns(size int64, runs []run, r tlog.HashReader) ([]ProofHash, error) {
	proof := []ProofHash{}
	var indexes []int64
	if size > 0 {
		err := walk(runs, 0, size, func(lo, hi int64) error {
			level, _ := complete(lo, hi)
			proof = append(proof, ProofHash{Level: level, Index: lo >> level})
			indexes = append(indexes, tlog.StoredHashIndex(level, lo>>level))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(indexes) == 0 {
		return proof, nil
	}
	hashes, err := r.ReadHashes(indexes)
	if err != nil {
		return nil, fmt.Errorf("read the proof's hashes: %w", err)
	}
	for i := range proof {
		proof[i].Hash = hashes[i].String()
	}
	return proof, nil
}

// MissingError is a tree position that neither a row nor the proof accounts for: a row was removed.
type MissingError struct{ Seq int64 }

func (e *MissingError) Error() string {
	return fmt.Sprintf("entry %d is neither a row nor in the proof", e.Seq)
}

// rootFrom rebuilds the root of the tree of size entries from the rows' leaf hashes and a subset proof.
func rootFrom(size int64, runs []run, leaves map[int64]tlog.Hash, proof []ProofHash) (tlog.Hash, error) {
	given := make(map[[2]int64]tlog.Hash, len(proof))
	for _, p := range proof {
		h, err := tlog.ParseHash(p.Hash)
		if err != nil {
			return tlog.Hash{}, fmt.Errorf("proof hash %d/%d: %v", p.Level, p.Index, err)
		}
		given[[2]int64{int64(p.Level), p.Index}] = h
	}
	if size == 0 {
		return tlog.TreeHash(0, nil)
	}
	var node func(lo, hi int64) (tlog.Hash, error)
	node = func(lo, hi int64) (tlog.Hash, error) {
		if !intersects(runs, lo, hi) {
			if level, ok := complete(lo, hi); ok {
				if h, ok := given[[2]int64{int64(level), lo >> level}]; ok {
					return h, nil
				}
			}
			if hi-lo == 1 {
				return tlog.Hash{}, &MissingError{Seq: lo}
			}
		} else if hi-lo == 1 {
			return leaves[lo], nil
		}
		k := split(hi - lo)
		left, err := node(lo, lo+k)
		if err != nil {
			return tlog.Hash{}, err
		}
		right, err := node(lo+k, hi)
		if err != nil {
			return tlog.Hash{}, err
		}
		return tlog.NodeHash(left, right), nil
	}
	return node(0, size)
}
