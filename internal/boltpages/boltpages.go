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

// Releaser gives back every page of a file's mapping once enough has been touched since the last time: writers of
// random keys (ids, delivery ids) and readers that jump around (a stream's events, a delivery's body) touch pages
// all over the file, and would otherwise keep them all.
type Releaser struct {
	db    *bbolt.DB
	every int64
	since atomic.Int64
}

// NewReleaser releases db's pages each time what Touched counts (bytes, or transactions: the caller's unit)
// reaches every.
func NewReleaser(db *bbolt.DB, every int64) *Releaser { return &Releaser{db: db, every: every} }

// Touched counts n more written or read at random; past the threshold it gives the pages back. The error is only
// reported: pages that stay resident cost memory, not correctness. A nil Releaser (no file) does nothing.
func (r *Releaser) Touched(n int) error {
	if r == nil {
		return nil
	}
	if r.since.Add(int64(n)) < r.every {
		return nil
	}
	r.since.Store(0)
	return release(r.db)
}
