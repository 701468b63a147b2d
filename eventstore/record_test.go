package eventstore

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

var sampleRecord = Recorded{ID: "6f1c0a52-3b9e-5d0e-9a57-5e2f0c1d7a10", Stream: "s", Type: "t", Data: []byte(`{"a":1}`),
	Metadata: []byte(`{}`), Version: 7, RecordedAt: time.Unix(1_700_000_000, 123_000).UTC()}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []Recorded{sampleRecord, {ID: sampleRecord.ID, Stream: "x", Type: "T", Data: []byte(` { } `), RecordedAt: time.Unix(0, 0).UTC()}} {
		b := AppendRecord(nil, r)
		if len(b) > RecordSize(r) {
			t.Fatalf("record of %d bytes, RecordSize says at most %d", len(b), RecordSize(r))
		}
		got, err := DecodeRecord(9, b)
		if err != nil {
			t.Fatal(err)
		}
		r.Position = 9
		if got.ID != r.ID || got.Stream != r.Stream || got.Type != r.Type || !bytes.Equal(got.Data, r.Data) ||
			!bytes.Equal(got.Metadata, r.Metadata) || (got.Metadata == nil) != (r.Metadata == nil) ||
			got.Version != r.Version || !got.RecordedAt.Equal(r.RecordedAt) || got.Position != 9 {
			t.Fatalf("round trip: got %+v, want %+v", got, r)
		}
	}
}

func TestCorruptRecord(t *testing.T) {
	for _, b := range [][]byte{nil, {1}, {200, 200, 200}, append(AppendRecord(nil, sampleRecord), 0)} {
		if _, err := DecodeRecord(1, b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decode(%v): %v, want ErrCorrupt", b, err)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(AppendRecord(nil, sampleRecord))
	f.Add([]byte{5, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRecord(1, b)
		if err != nil {
			return
		}
		if again, err := DecodeRecord(1, AppendRecord(nil, r)); err != nil || again.Stream != r.Stream || again.Version != r.Version {
			t.Fatalf("re-encode: %v", err)
		}
	})
}
