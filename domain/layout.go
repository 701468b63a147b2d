package domain

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// The layout decoder reads an event body in exactly the form encoding/json writes for it: the struct's fields in
// declaration order, no whitespace, omitempty fields possibly absent. Rebuilding a projection decodes every event
// of the log and encoding/json spends ten times longer on it than the projection does on the event, mostly
// validating and matching names case-insensitively; bodies that Marshal wrote need neither. Anything else (another
// order, an unknown or repeated name, a null, whitespace, a value the fast path does not parse itself) makes it
// decline, and Unmarshal then decodes with encoding/json, which decides and explains. A field whose type has its
// own UnmarshalJSON (Amount, time.Time), or that is rare and structured (a slice of structs, bytes), is handed to
// encoding/json on its own, so the results are the same by construction; FuzzLayoutMatchesEncodingJSON holds
// them equal.

type layoutKind int

const (
	kindString layoutKind = iota
	kindUint
	kindInt
	kindUintPtr
	kindStrings
	kindStruct
	kindUnmarshaler // has its own UnmarshalJSON
	kindJSON        // decoded on its own by encoding/json
)

type layoutField struct {
	key   []byte   // `"name":`
	words []uint64 // key in little-endian words, the last one masked by mask: matched a word at a time
	mask  uint64
	index int
	kind  layoutKind
	bits  int
	inner *layoutPlan
}

type layoutPlan struct {
	fields []layoutField
	ok     bool // false: the type has a shape the layout decoder does not follow
}

var layoutPlans sync.Map // reflect.Type → *layoutPlan

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func planFor(t reflect.Type) *layoutPlan {
	if p, ok := layoutPlans.Load(t); ok {
		return p.(*layoutPlan)
	}
	p := &layoutPlan{ok: true}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if name == "" || !f.IsExported() || hasOption(opts, "string") || hasOption(opts, "inline") {
			p.ok = false // promoted fields and string-encoded numbers: encoding/json's rules, not ours
			break
		}
		lf := layoutField{key: []byte(strconv.Quote(name) + ":"), index: i, kind: kindJSON}
		lf.words, lf.mask = keyWords(lf.key)
		ft := f.Type
		switch {
		case reflect.PointerTo(ft).Implements(unmarshalerType):
			lf.kind = kindUnmarshaler
		case ft.Implements(unmarshalerType):
		case ft.Kind() == reflect.String:
			lf.kind = kindString
		case ft.Kind() == reflect.Uint64 || ft.Kind() == reflect.Uint32:
			lf.kind, lf.bits = kindUint, ft.Bits()
		case ft.Kind() == reflect.Int:
			lf.kind, lf.bits = kindInt, ft.Bits()
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Uint64:
			lf.kind, lf.bits = kindUintPtr, 64
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			lf.kind = kindStrings
		case ft.Kind() == reflect.Struct:
			lf.kind, lf.inner = kindStruct, planFor(ft)
			if !lf.inner.ok {
				lf.kind, lf.inner = kindJSON, nil
			}
		}
		p.fields = append(p.fields, lf)
	}
	actual, _ := layoutPlans.LoadOrStore(t, p)
	return actual.(*layoutPlan)
}

// decodeLayout decodes body into the struct e points to, or reports false and leaves the rest to encoding/json
// (e may then hold part of the body: the caller decodes into a fresh value). The strings of an event are cut
// from one copy of its body (one allocation instead of one per field), or from body itself when it is shared:
// never modified by anyone.
func decodeLayout(body []byte, e any, shared bool) bool {
	v := reflect.ValueOf(e).Elem()
	p := planFor(v.Type())
	if !p.ok {
		return false
	}
	d := layoutDecoder{b: body}
	if shared {
		d.src = unsafe.String(unsafe.SliceData(body), len(body))
	} else {
		d.src = string(body)
	}
	return d.object(v, p) && len(d.b) == 0
}

type layoutDecoder struct {
	b   []byte // what is left to read
	src string // the whole body, for substrings
}

func (d *layoutDecoder) object(v reflect.Value, p *layoutPlan) bool {
	if len(d.b) == 0 || d.b[0] != '{' {
		return false
	}
	d.b = d.b[1:]
	if len(d.b) > 0 && d.b[0] == '}' {
		d.b = d.b[1:]
		return true
	}
	next := 0
	for {
		// Fields come in declaration order; an absent one was empty and omitted.
		for next < len(p.fields) && !p.fields[next].at(d.b) {
			next++
		}
		if next == len(p.fields) {
			return false
		}
		f := &p.fields[next]
		next++
		d.b = d.b[len(f.key):]
		if !d.value(v.Field(f.index), f) {
			return false
		}
		if len(d.b) == 0 {
			return false
		}
		switch d.b[0] {
		case ',':
			d.b = d.b[1:]
		case '}':
			d.b = d.b[1:]
			return true
		default:
			return false
		}
	}
}

// keyWords splits key into little-endian words, the last one zero-padded, and returns the mask of its bytes.
func keyWords(key []byte) ([]uint64, uint64) {
	words := make([]uint64, (len(key)+7)/8)
	var last [8]byte
	copy(last[:], key[(len(words)-1)*8:])
	for i := range len(words) - 1 {
		words[i] = binary.LittleEndian.Uint64(key[i*8:])
	}
	words[len(words)-1] = binary.LittleEndian.Uint64(last[:])
	mask := ^uint64(0)
	if n := len(key) % 8; n != 0 {
		mask = 1<<(8*n) - 1
	}
	return words, mask
}

// at reports whether b starts with the field's key. Comparing words instead of calling bytes.HasPrefix matters:
// an event has some forty fields, and the key comparisons were a tenth of decoding it.
func (f *layoutField) at(b []byte) bool {
	n := len(f.words)
	if len(b) < 8*n {
		return bytes.HasPrefix(b, f.key)
	}
	for i := range n - 1 {
		if binary.LittleEndian.Uint64(b[8*i:]) != f.words[i] {
			return false
		}
	}
	return binary.LittleEndian.Uint64(b[8*(n-1):])&f.mask == f.words[n-1]
}

func (d *layoutDecoder) value(fv reflect.Value, f *layoutField) bool {
	if len(d.b) > 0 && d.b[0] == 'n' && f.kind != kindUnmarshaler && f.kind != kindJSON && bytes.HasPrefix(d.b, []byte("null")) {
		d.b = d.b[4:] // the value is fresh: null leaves it zero, as encoding/json does (Marshal writes nil slices so)
		return true
	}
	switch f.kind {
	case kindString:
		s, ok := d.str()
		if ok {
			fv.SetString(s)
		}
		return ok
	case kindUint, kindInt, kindUintPtr:
		return d.number(fv, f)
	case kindStrings:
		return d.strings(fv)
	case kindStruct:
		return d.object(fv, f.inner)
	case kindUnmarshaler:
		// A string without escapes reaches UnmarshalJSON as the same bytes encoding/json would pass it.
		if raw, ok := d.rawStr(); ok {
			return fv.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw) == nil
		}
	}
	raw, ok := d.skip()
	return ok && json.Unmarshal(raw, fv.Addr().Interface()) == nil
}

// str reads a string without escapes whose bytes encoding/json would keep as they are (valid UTF-8, no control
// characters).
func (d *layoutDecoder) str() (string, bool) {
	start := len(d.src) - len(d.b)
	raw, ok := d.rawStr()
	if !ok {
		return "", false
	}
	return d.src[start+1 : start+len(raw)-1], true
}

// rawStr reads such a string and returns it with its quotes.
func (d *layoutDecoder) rawStr() ([]byte, bool) {
	if len(d.b) == 0 || d.b[0] != '"' {
		return nil, false
	}
	end := plainLen(d.b[1:])
	if end == len(d.b)-1 || d.b[1+end] != '"' {
		// Not printable ASCII up to the closing quote: accept only valid UTF-8 without escapes or control bytes.
		end = bytes.IndexByte(d.b[1:], '"')
		if end < 0 {
			return nil, false
		}
		inner := d.b[1 : 1+end]
		if bytes.IndexByte(inner, '\\') >= 0 || hasControl(inner) || !utf8.Valid(inner) {
			return nil, false
		}
	}
	raw := d.b[:2+end]
	d.b = d.b[2+end:]
	return raw, true
}

// specialBytes flags (high bit) the bytes of w that are a control character, a quote, a backslash or not ASCII.
func specialBytes(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	control := (w - 0x20*ones) & ^w & highs
	q := w ^ '"'*ones
	quote := (q - ones) & ^q & highs
	bs := w ^ '\\'*ones
	backslash := (bs - ones) & ^bs & highs
	return w&highs | control | quote | backslash
}

// plainLen is the length of b's longest prefix of printable ASCII other than a quote or a backslash: in one pass,
// eight bytes at a time, where the end of a string is and whether it needs a closer look (string values are most
// of an event's bytes). The lowest byte each has-byte test flags is exact, which is the only one used.
func plainLen(b []byte) int {
	i := 0
	for ; i+16 <= len(b); i += 16 { // two independent words per round keep the CPU's pipelines full
		m0, m1 := specialBytes(binary.LittleEndian.Uint64(b[i:])), specialBytes(binary.LittleEndian.Uint64(b[i+8:]))
		if m0|m1 != 0 {
			if m0 != 0 {
				return i + bits.TrailingZeros64(m0)/8
			}
			return i + 8 + bits.TrailingZeros64(m1)/8
		}
	}
	if i+8 <= len(b) {
		if m := specialBytes(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return i
		}
	}
	return len(b)
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// number reads an integer as JSON writes it: digits, no leading zero, a sign only for signed fields.
func (d *layoutDecoder) number(fv reflect.Value, f *layoutField) bool {
	n := 0
	if f.kind == kindInt && len(d.b) > 0 && d.b[0] == '-' {
		n = 1
	}
	start := n
	for n < len(d.b) && d.b[n] >= '0' && d.b[n] <= '9' {
		n++
	}
	if n == start || (d.b[start] == '0' && n > start+1) || (n < len(d.b) && (d.b[n] == '.' || d.b[n] == 'e' || d.b[n] == 'E')) {
		return false
	}
	tok := string(d.b[:n])
	switch f.kind {
	case kindInt:
		x, err := strconv.ParseInt(tok, 10, f.bits)
		if err != nil {
			return false
		}
		fv.SetInt(x)
	case kindUint:
		x, err := strconv.ParseUint(tok, 10, f.bits)
		if err != nil {
			return false
		}
		fv.SetUint(x)
	case kindUintPtr:
		x, err := strconv.ParseUint(tok, 10, f.bits)
		if err != nil {
			return false
		}
		fv.Set(reflect.ValueOf(&x))
	}
	d.b = d.b[n:]
	return true
}

func (d *layoutDecoder) strings(fv reflect.Value) bool {
	if len(d.b) < 2 || d.b[0] != '[' {
		return false
	}
	d.b = d.b[1:]
	list := make([]string, 0, 4)
	set := func() bool {
		if p, ok := fv.Addr().Interface().(*[]string); ok {
			*p = list // the common case, without boxing the slice for reflect
		} else {
			fv.Set(reflect.ValueOf(list).Convert(fv.Type()))
		}
		return true
	}
	if d.b[0] == ']' {
		d.b = d.b[1:]
		return set()
	}
	for {
		s, ok := d.str()
		if !ok || len(d.b) == 0 {
			return false
		}
		list = append(list, s)
		switch d.b[0] {
		case ',':
			d.b = d.b[1:]
		case ']':
			d.b = d.b[1:]
			return set()
		default:
			return false
		}
	}
}

// skip returns the next value's bytes for encoding/json to decode: a string, a number, or a nested array or
// object (brackets counted outside strings).
func (d *layoutDecoder) skip() ([]byte, bool) {
	depth, inString := 0, false
	for i := 0; i < len(d.b); i++ {
		c := d.b[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
				if depth == 0 {
					raw := d.b[:i+1]
					d.b = d.b[i+1:]
					return raw, true
				}
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 {
				raw := d.b[:i]
				d.b = d.b[i:]
				return raw, i > 0
			}
			depth--
			if depth == 0 {
				raw := d.b[:i+1]
				d.b = d.b[i+1:]
				return raw, true
			}
		case c == ',' && depth == 0:
			raw := d.b[:i]
			d.b = d.b[i:]
			return raw, i > 0
		}
	}
	return nil, false
}
