package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// FuzzCSVRoundTrip: any cells, neutralised and written, read back as themselves.
func FuzzCSVRoundTrip(f *testing.F) {
	f.Add("=HYPERLINK(\"x\")", "a,b", "line\r\nbreak")
	f.Add("\t=cmd", " =x", "\"q\"")
	f.Add("", "'", "\r")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		cells := []string{a, b, c}
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		enc := csvEncoder{w}
		neutral := make([]string, len(cells))
		for i, cell := range cells {
			neutral[i] = Neutralize(cell)
		}
		if err := enc.write(neutral); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		got, err := (&csvDecoder{r: bufio.NewReader(&buf)}).read()
		if err != nil {
			t.Fatalf("%q: %v", buf.String(), err)
		}
		for i := range got {
			got[i] = Unneutralize(got[i])
		}
		if !slices.Equal(got, cells) {
			t.Fatalf("%q came back as %q", cells, got)
		}
		for _, cell := range neutral {
			if first := strings.TrimLeft(cell, " "); first != "" && strings.ContainsAny(first[:1], "=+-@\t\r\x00") {
				t.Fatalf("live formula cell %q", cell)
			}
		}
	})
}

// FuzzVerify: whatever file an auditor is handed, Verify answers with a verdict, never a panic, and never OK for a
// file other than the export.
func FuzzVerify(f *testing.F) {
	log, signer, vkey := fuzzLog(f)
	var file bytes.Buffer
	var m Manifest
	q := Query{Format: FormatCSV}
	if err := log.Snapshot(f.Context(), 0, func(v View) error {
		res, err := Write(f.Context(), v, q, &file)
		if err != nil {
			return err
		}
		m, err = NewManifest(v, q, res, signer, vkey)
		return err
	}); err != nil {
		f.Fatal(err)
	}
	f.Add(file.Bytes(), FormatCSV)
	f.Add([]byte(strings.Join(Columns(), ",")+"\r\n1,2,3\r\n"), FormatCSV)
	f.Add([]byte(`{"seq":1}`+"\n"), FormatJSONL)
	f.Fuzz(func(t *testing.T, data []byte, format string) {
		mm := m
		mm.Query.Format = format
		v, err := Verify(bytes.NewReader(data), mm, vkey)
		if err == nil && v.OK && !bytes.Equal(data, file.Bytes()) {
			t.Fatalf("a different file verified: %q", data)
		}
	})
}

// FuzzCSVDecoder: arbitrary bytes decode or fail cleanly.
func FuzzCSVDecoder(f *testing.F) {
	f.Add([]byte("a,\"b\"\"c\",d\r\n\"x\r\ny\"\n"))
	f.Add([]byte("\"unterminated"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &csvDecoder{r: bufio.NewReader(bytes.NewReader(data))}
		for range 1000 {
			if _, err := d.read(); err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, errCSV) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
		}
	})
}

func fuzzLog(f *testing.F) (*Memory, note.Signer, string) {
	_, log := filled(f)
	signer, vkey := testKey(f)
	return log, signer, vkey
}

// FuzzRowFromLeaf: the direct leaf reader and json.Unmarshal with RowOf agree on every input: both fail, or both
// give the same row.
func FuzzRowFromLeaf(f *testing.F) {
	_, log := filled(f)
	for _, e := range entriesOf(f, log, 0, 40) {
		leaf, _ := e.Leaf()
		f.Add(leaf)
	}
	f.Add([]byte(`{"v":1,"seq":1,"position":2,"eventId":"e","stream":"s","type":"t","action":"a","summary":"a \"quoted\" \u003cthing\u003e","recordedAt":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"v":1,"seq":1,"position":2,"eventId":"e","stream":"s","type":"t","action":"a","summary":"x","recordedAt":"2026-01-01T00:00:00.000Z"}`))
	f.Add([]byte(`{"v":1,"V":2}`))
	f.Add([]byte(`{"seq":01}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"amounts":{"amount":"1","amount":"2"}}`))
	f.Fuzz(func(t *testing.T, leaf []byte) {
		var fast Row
		errFast := rowFromLeaf(leaf, &fast)
		var e Entry
		errSlow := json.Unmarshal(leaf, &e)
		var slow Row
		if errSlow == nil {
			slow, errSlow = RowOf(&e, leaf)
		}
		if (errFast == nil) != (errSlow == nil) {
			t.Fatalf("%q: direct %v, json %v", leaf, errFast, errSlow)
		}
		if errFast == nil && fast != slow {
			t.Fatalf("%q:\ndirect %+v\njson   %+v", leaf, fast, slow)
		}
	})
}

// Stored leaves take the direct path.
func TestStoredLeavesAreReadDirectly(t *testing.T) {
	_, log := filled(t)
	for _, e := range entriesOf(t, log, 0, log.Size()) {
		leaf, _ := e.Leaf()
		var r Row
		if !fastRow(leaf, &r) {
			t.Fatalf("entry %d goes the slow way: %s", e.Seq, leaf)
		}
	}
}

// FuzzPlainCell: a cell written as it is needs neither neutralising nor quoting.
func FuzzPlainCell(f *testing.F) {
	for _, s := range []string{"", "plain", " x", "-1", "a,b", "a\"b", "x\ny", "'q", "2026-01-01T00:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cell string) {
		if plainCell(cell) && (Neutralize(cell) != cell || strings.ContainsAny(cell, ",\"\r\n")) {
			t.Fatalf("%q is not plain", cell)
		}
	})
}
