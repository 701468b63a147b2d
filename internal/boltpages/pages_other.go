//go:build !linux

package boltpages

import (
	"errors"

	bbolt "go.etcd.io/bbolt"
)

// Reads keeps the pages a read transaction touched: only Linux gives them back (see pages_linux.go).
type Reads struct{}

// NewReads returns a collector that does nothing.
func NewReads(*bbolt.Tx) Reads { return Reads{} }

// Add does nothing.
func (*Reads) Add([]byte) {}

// Drop does nothing.
func (*Reads) Drop() {}

func release(*bbolt.DB) error { return nil }

// Resident is not known outside Linux.
func Resident(string) (int64, error) { return 0, errors.ErrUnsupported }
