package ledgers

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/streamledger/streamledger/eventstore"
)

// A record is a Ledger in a fixed number of bytes, big-endian:
//
//	first(4) sequence(4) firstClosedAt(8 s, 4 ns) closedAt(8 s, 4 ns) eventCount(4) position(8) from(8)
//	hash(1 length, 64) previousHash(1 length, 64)
//
// Hashes are hex strings of 32 bytes; the length byte keeps any shorter string exact.
const (
	recordSize = 4 + 4 + 12 + 12 + 4 + 8 + 8 + 2*(1+maxHash)
	maxHash    = 64
)

func encode(l Ledger) ([]byte, error) {
	if len(l.Hash) > maxHash || len(l.PreviousHash) > maxHash {
		return nil, fmt.Errorf("ledgers: ledger %d: a hash longer than %d characters", l.Sequence, maxHash)
	}
	if l.EventCount < 0 || int64(l.EventCount) > 1<<32-1 {
		return nil, fmt.Errorf("ledgers: ledger %d: %d events", l.Sequence, l.EventCount)
	}
	b := make([]byte, 0, recordSize)
	b = binary.BigEndian.AppendUint32(b, l.First)
	b = binary.BigEndian.AppendUint32(b, l.Sequence)
	for _, t := range []time.Time{l.FirstClosedAt, l.ClosedAt} {
		b = binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
		b = binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(l.EventCount))
	b = binary.BigEndian.AppendUint64(b, uint64(l.Position))
	b = binary.BigEndian.AppendUint64(b, uint64(l.From))
	for _, h := range []string{l.Hash, l.PreviousHash} {
		b = append(b, byte(len(h)))
		b = append(b, h...)
		b = append(b, make([]byte, maxHash-len(h))...)
	}
	return b, nil
}

func decode(b []byte) Ledger {
	u32 := func() uint32 { v := binary.BigEndian.Uint32(b); b = b[4:]; return v }
	u64 := func() uint64 { v := binary.BigEndian.Uint64(b); b = b[8:]; return v }
	at := func() time.Time { s := int64(u64()); return time.Unix(s, int64(u32())).UTC() }
	str := func() string { n := int(b[0]); h := string(b[1 : 1+n]); b = b[1+maxHash:]; return h }
	var l Ledger
	l.First, l.Sequence = u32(), u32()
	l.FirstClosedAt, l.ClosedAt = at(), at()
	l.EventCount = int(u32())
	l.Position, l.From = eventstore.Position(u64()), eventstore.Position(u64())
	l.Hash, l.PreviousHash = str(), str()
	return l
}
