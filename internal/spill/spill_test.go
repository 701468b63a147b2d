package spill

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// A file and a buffer in memory hold the same bytes through random writes, reads and truncations: a plain byte
// slice, changed by hand, is the oracle.
func TestFileAndMemoryAgreeWithASlice(t *testing.T) {
	dir := t.TempDir()
	for name, dir := range map[string]string{"file": dir, "memory": ""} {
		t.Run(name, func(t *testing.T) {
			f, err := Create(dir, "scratch")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rng := rand.New(rand.NewPCG(1, 2))
			var want []byte
			for step := range 2000 {
				switch op := rng.IntN(10); {
				case op < 5: // write somewhere in or just past the data
					p := make([]byte, rng.IntN(40))
					for i := range p {
						p[i] = byte(rng.Uint32())
					}
					off := int64(rng.IntN(len(want) + 8))
					if err := f.WriteAt(p, off); err != nil {
						t.Fatal(err)
					}
					if end := off + int64(len(p)); end > int64(len(want)) {
						want = append(want, make([]byte, end-int64(len(want)))...)
					}
					copy(want[off:], p)
				case op < 9:
					if len(want) == 0 {
						continue
					}
					off := rng.IntN(len(want))
					p := make([]byte, rng.IntN(len(want)-off+1))
					if err := f.ReadAt(p, int64(off)); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(p, want[off:off+len(p)]) {
						t.Fatalf("step %d: read %d bytes at %d: %x, want %x", step, len(p), off, p, want[off:off+len(p)])
					}
				default:
					n := rng.IntN(len(want) + 1)
					if err := f.Truncate(int64(n)); err != nil {
						t.Fatal(err)
					}
					want = want[:n]
				}
				if f.Size() != int64(len(want)) {
					t.Fatalf("step %d: size %d, want %d", step, f.Size(), len(want))
				}
			}
			if err := f.ReadAt(make([]byte, 1), int64(len(want))); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("a read past the end: %v", err)
			}
		})
	}
}

// Create truncates what an earlier process left, and Close removes the file.
func TestCreateTruncatesAndCloseRemoves(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scratch")
	if err := os.WriteFile(path, []byte("left over"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Create(dir, "scratch")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 || f.Size() != 0 {
		t.Fatalf("not truncated: %v %v", fi, err)
	}
	if _, err := f.Append([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("still there after Close: %v", err)
	}
	if err := f.WriteAt([]byte("x"), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("a write after Close: %v", err)
	}
}
