package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The CSV codec is RFC 4180 written out by hand because encoding/csv does not give every cell back: its writer
// drops a carriage return inside a field when it ends lines with CRLF, and its reader removes one before a line
// feed. An audit export must return each cell exactly, or its leaf would not verify.

// csvEncoder writes records with CRLF line ends, quoting a field that holds a comma, a quote, CR or LF (quotes
// doubled); inside quotes CR and LF are kept as they are.
type csvEncoder struct{ w *bufio.Writer }

func (c csvEncoder) write(fields []string) error {
	for i, f := range fields {
		if i > 0 {
			c.w.WriteByte(',')
		}
		c.field(f)
	}
	_, err := c.w.WriteString("\r\n")
	return err
}

// field writes one field, quoted when it must be.
func (c csvEncoder) field(f string) {
	quote := false
	for i := 0; i < len(f) && !quote; i++ {
		switch f[i] {
		case ',', '"', '\r', '\n':
			quote = true
		}
	}
	if !quote {
		c.w.WriteString(f)
		return
	}
	c.w.WriteByte('"')
	c.w.WriteString(strings.ReplaceAll(f, `"`, `""`))
	c.w.WriteByte('"')
}

// errCSV is the cause of every malformed CSV record.
var errCSV = errors.New("malformed CSV")

// csvDecoder reads what csvEncoder writes (and any RFC 4180 record); a record ends at CRLF or a lone LF.
type csvDecoder struct {
	r    *bufio.Reader
	line int
}

// read returns the next record, io.EOF after the last.
func (d *csvDecoder) read() ([]string, error) {
	d.line++
	var fields []string
	var f strings.Builder
	quoted, inQuotes, started := false, false, false
	for {
		b, err := d.r.ReadByte()
		if err == io.EOF {
			switch {
			case inQuotes:
				return nil, fmt.Errorf("%w: line %d: unterminated quoted field", errCSV, d.line)
			case !started:
				return nil, io.EOF
			}
			return append(fields, f.String()), nil
		}
		if err != nil {
			return nil, err
		}
		started = true
		if inQuotes {
			if b != '"' {
				f.WriteByte(b)
				continue
			}
			next, err := d.r.Peek(1)
			if err == nil && next[0] == '"' {
				d.r.ReadByte()
				f.WriteByte('"')
				continue
			}
			inQuotes = false
			continue
		}
		switch b {
		case '"':
			if quoted || f.Len() > 0 {
				return nil, fmt.Errorf("%w: line %d: a quote inside an unquoted field", errCSV, d.line)
			}
			quoted, inQuotes = true, true
		case ',':
			fields = append(fields, f.String())
			f.Reset()
			quoted = false
		case '\r':
			if next, err := d.r.Peek(1); err != nil || next[0] != '\n' {
				return nil, fmt.Errorf("%w: line %d: a carriage return outside quotes", errCSV, d.line)
			}
		case '\n':
			return append(fields, f.String()), nil
		default:
			if quoted {
				return nil, fmt.Errorf("%w: line %d: text after a closing quote", errCSV, d.line)
			}
			f.WriteByte(b)
		}
	}
}
