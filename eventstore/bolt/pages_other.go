//go:build !linux

package bolt

import bbolt "go.etcd.io/bbolt"

// readPages keeps the pages a read transaction touched: only Linux gives them back (see pages_linux.go).
type readPages struct{}

func newReadPages(*bbolt.Tx) readPages { return readPages{} }

func (*readPages) add([]byte) {}
func (*readPages) drop()      {}
