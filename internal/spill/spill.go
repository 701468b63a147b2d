// Package spill holds data that a process rebuilds at every start (the embedded default's audit log and ledger
// index, folded again from the event log) in a scratch file rather than in memory, so that the process's memory
// does not grow with the history. Nothing in a scratch file needs to survive a crash: a file is truncated when it is
// opened and removed when it is closed, and it is never synced. Without a directory the bytes stay in memory (tests,
// small tools).
//
// Reads and writes go through pread and pwrite, not a mapping: the pages sit in the kernel's page cache, which the
// kernel can drop under pressure, and not in the process's resident set.
package spill

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// ErrClosed means the file was used after Close.
var ErrClosed = errors.New("spill: closed")

// File is a scratch file of bytes, or a buffer in memory. It is safe for concurrent use; a reader that reads below
// a size it observed after a write sees that write.
type File struct {
	path string
	f    *os.File

	mu   sync.RWMutex
	size int64
	buf  []byte // without a file
}

// Create creates (truncating) the scratch file name in dir; an empty dir keeps the bytes in memory.
func Create(dir, name string) (*File, error) {
	if dir == "" {
		return &File{}, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spill: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spill: create %s: %w", path, err)
	}
	return &File{path: path, f: f}, nil
}

// Size is the number of bytes written (the highest offset reached).
func (s *File) Size() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.size
}

// WriteAt writes p at off; a write past the end extends the file.
func (s *File) WriteAt(p []byte, off int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	end := off + int64(len(p))
	if s.f == nil {
		if s.buf == nil && s.path != "" {
			return ErrClosed
		}
		if end > int64(len(s.buf)) {
			s.buf = append(s.buf, make([]byte, end-int64(len(s.buf)))...)
		}
		copy(s.buf[off:], p)
	} else if _, err := s.f.WriteAt(p, off); err != nil {
		return fmt.Errorf("spill: write %s at %d: %w", s.path, off, err)
	}
	s.size = max(s.size, end)
	return nil
}

// Append writes p at the end and returns the offset it was written at.
func (s *File) Append(p []byte) (int64, error) {
	off := s.Size()
	return off, s.WriteAt(p, off)
}

// ReadAt fills p from off; reading past the end is an error (io.ErrUnexpectedEOF).
func (s *File) ReadAt(p []byte, off int64) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if off < 0 || off+int64(len(p)) > s.size {
		return fmt.Errorf("spill: read %d bytes at %d of %d in %s: %w", len(p), off, s.size, s.name(), io.ErrUnexpectedEOF)
	}
	if s.f == nil {
		copy(p, s.buf[off:])
		return nil
	}
	if _, err := s.f.ReadAt(p, off); err != nil {
		return fmt.Errorf("spill: read %s at %d: %w", s.path, off, err)
	}
	return nil
}

// Truncate cuts the file to size bytes.
func (s *File) Truncate(size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if size > s.size {
		return fmt.Errorf("spill: truncate %s to %d bytes: it has %d", s.name(), size, s.size)
	}
	if s.f == nil {
		s.buf = s.buf[:size]
	} else if err := s.f.Truncate(size); err != nil {
		return fmt.Errorf("spill: truncate %s: %w", s.path, err)
	}
	s.size = size
	return nil
}

// Close removes the file (or drops the buffer).
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf, s.size = nil, 0
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if rmErr := os.Remove(s.path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	return err
}

func (s *File) name() string {
	if s.path == "" {
		return "memory"
	}
	return s.path
}
