// Package boltpages keeps a bbolt file's pages from piling up in the process's resident set. bbolt reads through a
// read-only shared mapping of its file: every page a reader or a writer ever touched stays resident until the kernel
// needs the memory, so the resident set grows with the file although the pages are the page cache's (reclaimable,
// and read again with a minor fault, not from disk). Giving pages back (MADV_DONTNEED) never loses a byte: the
// mapping is read-only and the file holds everything.
package boltpages

import (
	"sync/atomic"

	bbolt "go.etcd.io/bbolt"
)

// Releaser gives back every page of a file's mapping once enough has been written since the last time: writers
// touch pages all over a file whose keys are random (ids, delivery ids), and would otherwise keep them all.
type Releaser struct {
	db    *bbolt.DB
	every int64
	since atomic.Int64
}

// NewReleaser releases db's pages each time what Wrote counts (bytes, or transactions: the caller's unit) reaches
// every.
func NewReleaser(db *bbolt.DB, every int64) *Releaser { return &Releaser{db: db, every: every} }

// Wrote counts n more written; past the threshold it gives the pages back. The error is only reported: pages that
// stay resident cost memory, not correctness.
func (r *Releaser) Wrote(n int) error {
	if r.since.Add(int64(n)) < r.every {
		return nil
	}
	r.since.Store(0)
	return release(r.db)
}
