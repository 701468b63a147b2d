package eventstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ErrCorrupt means stored bytes could not be decoded as a record.
var ErrCorrupt = errors.New("corrupt stored record")

// AppendRecord appends the binary form of r to b, for backends that store records as bytes (the embedded file,
// EventStoreDB's log events): uvarint-length-prefixed stream, type, data; metadata with a presence flag; the 16 id
// bytes; uvarint version; varint unix nanoseconds. The position is not part of it: it is where the record is kept.
// r.ID must be a UUID; batches are validated before they are encoded.
func AppendRecord(b []byte, r Recorded) []byte {
	putBytes := func(p []byte) {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	putBytes([]byte(r.Stream))
	putBytes([]byte(r.Type))
	putBytes(r.Data)
	if r.Metadata == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		putBytes(r.Metadata)
	}
	id := uuid.MustParse(r.ID)
	b = append(b, id[:]...)
	b = binary.AppendUvarint(b, uint64(r.Version))
	return binary.AppendVarint(b, r.RecordedAt.UnixNano())
}

// RecordSize is an upper bound of len(AppendRecord(nil, r)), for sizing buffers.
func RecordSize(r Recorded) int {
	return 3*binary.MaxVarintLen64 + 1 + 16 + 2*binary.MaxVarintLen64 + len(r.Stream) + len(r.Type) + len(r.Data) + len(r.Metadata)
}

// DecodeRecord reads one record that AppendRecord wrote, stored at pos. The byte slices it returns are copies, so
// b may be reused.
func DecodeRecord(pos Position, b []byte) (Recorded, error) {
	d := RecordDecoder{b: b}
	r, err := d.Next(pos)
	if err == nil && len(d.b) != 0 {
		err = fmt.Errorf("%w at position %d: %d trailing bytes", ErrCorrupt, pos, len(d.b))
	}
	return r, err
}

// RecordDecoder reads records that AppendRecord wrote one after another.
type RecordDecoder struct {
	b   []byte
	err bool
}

// NewRecordDecoder reads the records in b.
func NewRecordDecoder(b []byte) *RecordDecoder { return &RecordDecoder{b: b} }

// Remaining is the number of bytes not read yet.
func (d *RecordDecoder) Remaining() int { return len(d.b) }

// Uvarint reads one uvarint that the writer put between records (a count, a position).
func (d *RecordDecoder) Uvarint() (uint64, error) {
	v := d.uvarint()
	if d.err {
		return 0, fmt.Errorf("%w: bad varint", ErrCorrupt)
	}
	return v, nil
}

// Next reads the next record, stored at pos.
func (d *RecordDecoder) Next(pos Position) (Recorded, error) {
	r := Recorded{Position: pos}
	r.Stream = string(d.bytes())
	r.Type = string(d.bytes())
	r.Data = d.bytes()
	if d.byte() == 1 {
		r.Metadata = d.bytes()
	}
	var id uuid.UUID
	copy(id[:], d.take(16))
	r.ID = id.String()
	r.Version = Version(d.uvarint())
	r.RecordedAt = time.Unix(0, d.varint()).UTC()
	if d.err || r.Version < 0 {
		d.err = true
		return Recorded{}, fmt.Errorf("%w at position %d", ErrCorrupt, pos)
	}
	return r, nil
}

func (d *RecordDecoder) take(n int) []byte {
	if d.err || n < 0 || n > len(d.b) {
		d.err = true
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *RecordDecoder) byte() byte {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *RecordDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *RecordDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes copies, because the caller's buffer may not outlive the record (bbolt's memory is only valid inside its
// transaction).
func (d *RecordDecoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = true
		return nil
	}
	return bytes.Clone(d.take(int(n)))
}
