//go:build linux

package bolt

import (
	"os"
	"unsafe"

	bbolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// pageSize is the size of the memory pages madvise works on. bbolt maps its file at a page boundary, and maps a
// whole number of pages, so a value's pages rounded out to page boundaries lie inside the mapping.
var pageSize = uintptr(os.Getpagesize())

// readPages collects the memory pages of the file mapping that a read transaction's values lie on and hands them
// back to the kernel (MADV_DONTNEED) in runs of contiguous pages, before the transaction ends (while the mapping
// cannot move). A reader of the log reads each record once and copies it; without this, every page of the log it
// ever read stays in the process's resident set, and the resident set grows with the history. The pages stay in the
// kernel's page cache: reading them again is a minor fault, not a disk read. The mapping is read-only and shared, so
// dropping pages never loses a byte.
//
// Only pages inside the mapping are dropped: bbolt hands out values of small (inline) buckets from copies on the Go
// heap, and dropping heap pages would zero live memory.
type readPages struct {
	lo, hi uintptr // the mapping's pages that tx sees
	start  unsafe.Pointer
	n      uintptr
}

func newReadPages(tx *bbolt.Tx) readPages {
	lo := tx.DB().Info().Data
	return readPages{lo: lo, hi: lo + uintptr(tx.Size())}
}

// add notes the pages value v lies on, when it lies in the mapping.
func (r *readPages) add(v []byte) {
	if len(v) == 0 {
		return
	}
	p := unsafe.Pointer(unsafe.SliceData(v))
	off := uintptr(p) % pageSize
	n := (off + uintptr(len(v)) + pageSize - 1) &^ (pageSize - 1)
	if uintptr(p)-off < r.lo || uintptr(p)-off+n > r.hi {
		return
	}
	start := unsafe.Add(p, -int(off))
	if r.start != nil && uintptr(start) >= uintptr(r.start) && uintptr(start) <= uintptr(r.start)+r.n {
		r.n = max(r.n, uintptr(start)+n-uintptr(r.start))
		return
	}
	r.drop()
	r.start, r.n = start, n
}

// drop gives back the pages of the current run. A failure only leaves the pages resident, as they would be anyway.
func (r *readPages) drop() {
	if r.start == nil {
		return
	}
	_ = unix.Madvise(unsafe.Slice((*byte)(r.start), r.n), unix.MADV_DONTNEED)
	r.start, r.n = nil, 0
}
