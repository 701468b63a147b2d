package chain

import (
	"bytes"
	"encoding/binary"

	"github.com/stellar/go-stellar-sdk/xdr"
)

// A ledger's bytes are searched for the followed contracts' ids before anything is decoded (Scan). A few ids are
// searched for one at a time (bytes.Contains runs at memory speed); past fewContracts, which an escrow module reaches
// by discovering an instance per invoice, one pass over the ledger looks them all up at once: BenchmarkScanUntouched
// measured 3 ledgers/s with 4096 ids searched one at a time.
const fewContracts = 8

// filterBits is the size of the one-pass filter's bitset, 2^18 bits (32 KiB): with 4096 ids one aligned word in
// 64 passes it, and those are then looked up exactly.
const filterBits = 18

// idFilter tells in one pass whether XDR bytes may name one of many contract ids. XDR keeps every field on a
// 4-byte boundary, so an id in a contract event or a ledger key starts at an offset that is a multiple of 4: the
// pass reads the 8 bytes at each such offset, a bitset indexed by a hash of them rules out almost every offset, and
// the 32 bytes there are looked up in the followed set for the rest. An id inside opaque bytes at another offset is
// not seen, which is sound for Scan: it looks for events, whose contract id is a field of its own.
type idFilter struct {
	bits []uint64
}

func newIDFilter() idFilter { return idFilter{bits: make([]uint64, 1<<filterBits/64)} }

func filterSlot(word uint64) uint64 { return (word * 0x9e3779b97f4a7c15) >> (64 - filterBits) }

func (f idFilter) add(id xdr.ContractId) {
	s := filterSlot(binary.LittleEndian.Uint64(id[:8]))
	f.bits[s/64] |= 1 << (s % 64)
}

// find reports whether raw, XDR from its first byte, holds at an aligned offset an id for which followed is true.
func (f idFilter) find(raw []byte, followed func(xdr.ContractId) bool) bool {
	for i := 0; i+32 <= len(raw); i += 4 {
		s := filterSlot(binary.LittleEndian.Uint64(raw[i:]))
		if f.bits[s/64]&(1<<(s%64)) != 0 && followed(xdr.ContractId(raw[i:i+32])) {
			return true
		}
	}
	return false
}

// mentions tells whether raw (the XDR of a ledger) names a followed contract, configured or discovered: the Scan
// prefilter. A ledger that does not is not looked at further.
func (c *Contracts) mentions(raw []byte) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if n := len(c.byID) + len(c.found); n > fewContracts {
		return c.filter.find(raw, func(id xdr.ContractId) bool {
			if _, ok := c.byID[id]; ok {
				return true
			}
			_, ok := c.found[id]
			return ok
		})
	}
	for id := range c.byID {
		if bytes.Contains(raw, id[:]) {
			return true
		}
	}
	for id := range c.found {
		if bytes.Contains(raw, id[:]) {
			return true
		}
	}
	return false
}

// namesExecutable tells whether raw names an executable whose instances are discovered: a ledger that does may
// create one, and is read whole.
func (c *Contracts) namesExecutable(raw []byte) bool {
	for h := range c.wasm {
		if bytes.Contains(raw, h[:]) {
			return true
		}
	}
	return false
}
