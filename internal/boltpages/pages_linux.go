//go:build linux

package boltpages

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	bbolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// pageSize is the size of the memory pages madvise works on. bbolt maps its file at a page boundary, and maps a
// whole number of pages, so a value's pages rounded out to page boundaries lie inside the mapping.
var pageSize = uintptr(os.Getpagesize())

// Reads collects the pages of the mapping that a read transaction's values lie on and gives them back in runs of
// contiguous pages (Drop, before the transaction ends). A reader of the event log reads each record once and copies
// it: without this, every page of the log it ever read would stay in the resident set.
//
// Only pages inside the mapping are dropped: bbolt hands out values of small (inline) buckets from copies on the Go
// heap, and dropping heap pages would zero live memory.
type Reads struct {
	lo, hi   uintptr // the mapping's pages that the transaction sees
	start, n uintptr // the current run of pages
}

// NewReads starts collecting the pages of tx's values.
func NewReads(tx *bbolt.Tx) Reads {
	lo := tx.DB().Info().Data
	return Reads{lo: lo, hi: lo + uintptr(tx.Size())}
}

// Add notes the pages value v lies on, when it lies in the mapping.
func (r *Reads) Add(v []byte) {
	if len(v) == 0 {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	start := p &^ (pageSize - 1)
	n := (p + uintptr(len(v)) - start + pageSize - 1) &^ (pageSize - 1)
	if start < r.lo || start+n > r.hi {
		return
	}
	if r.n > 0 && start >= r.start && start <= r.start+r.n {
		r.n = max(r.n, start+n-r.start)
		return
	}
	r.Drop()
	r.start, r.n = start, n
}

// Drop gives back the pages of the current run. A failure only leaves the pages resident, as they would be anyway.
func (r *Reads) Drop() {
	if r.n == 0 {
		return
	}
	madvise(r.start, r.n)
	r.start, r.n = 0, 0
}

// release gives back every page of db's mapping, inside a read transaction (the mapping cannot move meanwhile).
func release(db *bbolt.DB) error {
	return db.View(func(tx *bbolt.Tx) error {
		if tx.Size() > 0 {
			madvise(tx.DB().Info().Data, uintptr(tx.Size()))
		}
		return nil
	})
}

// madvise gives back the pages of [addr, addr+n), which lie in a bbolt mapping (addresses outside Go's heap, so
// the raw system call rather than unix.Madvise, which wants a slice).
func madvise(addr, n uintptr) {
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, addr, n, unix.MADV_DONTNEED)
}

// Resident is how much of the process's mappings of the file at path is resident (/proc/self/smaps).
func Resident(path string) (int64, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var rss int64
	inFile := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			inFile = fields[len(fields)-1] == path
			continue
		}
		if inFile && len(fields) == 3 && fields[0] == "Rss:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read /proc/self/smaps: %q: %w", sc.Text(), err)
			}
			rss += kb << 10
		}
	}
	return rss, sc.Err()
}
