package audit

import (
	"bufio"
	"bytes"
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
