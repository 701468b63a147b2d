package domain

import (
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// AppendJSON appends v's encoding/json encoding to dst: the same bytes json.Marshal returns, faster for the
// shapes the domain stores. Every stored event, audit leaf and folded stream state is encoded once, and
// encoding/json spends most of that time in reflection and in its generic string escaping. The layout encoder
// follows a per-type plan built once (fields in declaration order, omitempty) and writes plain strings as they
// are; whatever it does not handle itself (a string that needs escaping, a map, a slice of structs, a type with
// its own MarshalJSON other than time.Time) is encoded by encoding/json, field by field, and a type it does not
// follow at all (embedded structs, the string and omitzero options) entirely. FuzzAppendJSONMatchesEncodingJSON
// holds the two equal.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		if p := encodePlanFor(rv.Type()); p.ok {
			return p.encode(dst, rv.Elem())
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

type encodeKind int

const (
	encString encodeKind = iota
	encUint
	encInt
	encBool
	encUintPtr
	encStrings
	encBytes
	encStruct
	encTime
	encTimePtr
	encAmount
	encAmounts // map[string]Amount
	encText    // a value-receiver encoding.TextMarshaler (Amount)
	encGeneral // encoded by encoding/json
)

type encodeField struct {
	key       []byte // `"name":`
	index     int
	kind      encodeKind
	omitEmpty bool
	inner     *encodePlan
}

type encodePlan struct {
	fields []encodeField
	ok     bool
}

var encodePlans sync.Map // reflect.Type → *encodePlan

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	timeType          = reflect.TypeFor[time.Time]()
	amountType        = reflect.TypeFor[Amount]()
)

// encodePlanFor is the plan of a struct type, or of the struct a pointer type points to (for a pointer that
// encoding/json would encode as that struct).
func encodePlanFor(t reflect.Type) *encodePlan {
	if p, ok := encodePlans.Load(t); ok {
		return p.(*encodePlan)
	}
	if t.Kind() == reflect.Pointer {
		p := &encodePlan{}
		if t.Elem().Kind() == reflect.Struct && !t.Implements(jsonMarshalerType) && !t.Implements(textMarshalerType) {
			p = encodePlanFor(t.Elem())
		}
		actual, _ := encodePlans.LoadOrStore(t, p)
		return actual.(*encodePlan)
	}
	p := &encodePlan{ok: t.Kind() == reflect.Struct}
	if !p.ok {
		actual, _ := encodePlans.LoadOrStore(t, p)
		return actual.(*encodePlan)
	}
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, tagged := f.Tag.Lookup("json")
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && (name == "" || !f.IsExported()) {
			p.ok = false // promoted fields: encoding/json's embedding rules (a tagged embedded field is just a field)
			break
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		if !tagged || name == "" {
			name = f.Name
		}
		if !plainName(name) || seen[name] || hasOption(opts, "string") || hasOption(opts, "omitzero") {
			p.ok = false // names encoding/json would reject or drop, and options this encoder does not follow
			break
		}
		seen[name] = true
		ef := encodeField{key: []byte(`"` + name + `":`), index: i, omitEmpty: hasOption(opts, "omitempty"), kind: encGeneral}
		ft := f.Type
		switch {
		case ft == amountType:
			ef.kind = encAmount
		case ft == reflect.TypeFor[map[string]Amount]():
			ef.kind = encAmounts
		case ft == timeType:
			ef.kind = encTime
		case ft.Kind() == reflect.Pointer && ft.Elem() == timeType:
			ef.kind = encTimePtr
		case ft.Implements(jsonMarshalerType) || reflect.PointerTo(ft).Implements(jsonMarshalerType):
		case ft.Implements(textMarshalerType):
			if ft.Kind() != reflect.Pointer && ft.Kind() != reflect.Interface {
				ef.kind = encText
			}
		case reflect.PointerTo(ft).Implements(textMarshalerType):
		case ft.Kind() == reflect.String:
			ef.kind = encString
		case ft.Kind() == reflect.Bool:
			ef.kind = encBool
		case ft.Kind() >= reflect.Uint && ft.Kind() <= reflect.Uint64:
			ef.kind = encUint
		case ft.Kind() >= reflect.Int && ft.Kind() <= reflect.Int64:
			ef.kind = encInt
		case ft.Kind() == reflect.Pointer && ft.Elem() == reflect.TypeFor[uint64]():
			ef.kind = encUintPtr
		case ft.Kind() == reflect.Slice && ft.Elem() == reflect.TypeFor[string]():
			ef.kind = encStrings
		case ft.Kind() == reflect.Slice && ft.Elem() == reflect.TypeFor[byte]():
			ef.kind = encBytes
		case ft.Kind() == reflect.Struct:
			if inner := encodePlanFor(ft); inner.ok {
				ef.kind, ef.inner = encStruct, inner
			}
		}
		p.fields = append(p.fields, ef)
	}
	actual, _ := encodePlans.LoadOrStore(t, p)
	return actual.(*encodePlan)
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// plainName: a key that encoding/json accepts as it is and that needs no escaping.
func plainName(name string) bool {
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (p *encodePlan) encode(b []byte, v reflect.Value) ([]byte, error) {
	b = append(b, '{')
	first := true
	for i := range p.fields {
		f := &p.fields[i]
		fv := v.Field(f.index)
		if f.omitEmpty && isEmpty(fv) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		var err error
		if b, err = f.encode(b, fv); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func (f *encodeField) encode(b []byte, fv reflect.Value) ([]byte, error) {
	switch f.kind {
	case encString:
		return appendJSONString(b, fv.String()), nil
	case encUint:
		return strconv.AppendUint(b, fv.Uint(), 10), nil
	case encInt:
		return strconv.AppendInt(b, fv.Int(), 10), nil
	case encBool:
		return strconv.AppendBool(b, fv.Bool()), nil
	case encUintPtr:
		if fv.IsNil() {
			return append(b, "null"...), nil
		}
		return strconv.AppendUint(b, fv.Elem().Uint(), 10), nil
	case encStrings:
		if fv.IsNil() {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i := range fv.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, fv.Index(i).String())
		}
		return append(b, ']'), nil
	case encBytes:
		if fv.IsNil() {
			return append(b, "null"...), nil
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, fv.Bytes())
		return append(b, '"'), nil
	case encStruct:
		return f.inner.encode(b, fv)
	case encAmount:
		var a Amount
		if fv.CanAddr() {
			a = *(*Amount)(fv.Addr().UnsafePointer()) // without boxing: a stored event holds a few amounts
		} else {
			a = fv.Interface().(Amount)
		}
		b = append(b, '"')
		b = a.appendRaw(b)
		return append(b, '"'), nil
	case encAmounts:
		if fv.IsNil() {
			return append(b, "null"...), nil
		}
		m := fv.Interface().(map[string]Amount)
		keys := slices.Sorted(maps.Keys(m)) // encoding/json sorts map keys
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':', '"')
			b = append(m[k].appendRaw(b), '"')
		}
		return append(b, '}'), nil
	case encTimePtr:
		if fv.IsNil() {
			return append(b, "null"...), nil
		}
		return appendTime(b, fv.Elem())
	case encTime:
		return appendTime(b, fv)
	case encText:
		text, err := fv.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return b, err
		}
		return appendJSONString(b, string(text)), nil
	}
	target := fv.Interface()
	if fv.CanAddr() {
		target = fv.Addr().Interface() // so that pointer-receiver marshalers are used, as encoding/json does
	}
	raw, err := json.Marshal(target)
	if err != nil {
		return b, err
	}
	return append(b, raw...), nil
}

func appendTime(b []byte, fv reflect.Value) ([]byte, error) {
	var t time.Time
	if fv.CanAddr() {
		t = *(*time.Time)(fv.Addr().UnsafePointer())
	} else {
		t = fv.Interface().(time.Time)
	}
	// MarshalJSON's bytes (quoted RFC 3339, nothing to escape) without its buffer.
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return b, err
	}
	return append(b, '"'), nil
}

// appendJSONString writes s as encoding/json does: as it is when it is printable ASCII that needs no escaping
// (no quote, backslash or HTML-sensitive <, >, &), by encoding/json otherwise.
func appendJSONString(b []byte, s string) []byte {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if escapedBytes(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) != 0 {
			return appendEscaped(b, s)
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendEscaped(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendEscaped(b []byte, s string) []byte {
	raw, _ := json.Marshal(s) // a string always encodes
	return append(b, raw...)
}

// escapedBytes flags (high bit) the bytes of w that encoding/json would not copy as they are: control characters,
// non-ASCII (left to encoding/json entirely), quote, backslash and the HTML-sensitive <, > and &.
func escapedBytes(w uint64) uint64 {
	const ones = 0x0101010101010101
	eq := func(c byte) uint64 {
		x := w ^ uint64(c)*ones
		return (x - ones) & ^x
	}
	return (specialBytes(w) | eq('<') | eq('>') | eq('&')) & (0x80 * ones)
}

// isEmpty is omitempty's "empty": false, 0, a nil pointer or interface, and an empty array, slice, map or string.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}
