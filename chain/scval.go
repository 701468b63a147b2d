package chain

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
)

// errShape is the cause of every decode error: the contract event did not have the shape its topic promises.
var errShape = errors.New("unexpected event shape")

// maxStructFields bounds the payload maps we read field by field (the largest Fluxora struct has 11 fields).
const maxStructFields = 64

// fields reads a #[contracttype] struct, which arrives as an ScMap keyed by field-name Symbols. It keeps the
// first error, so a topic decoder reads every field and checks once; extra fields are ignored, because a contract
// upgrade may add some and that must not turn a known event into an observed one. Lookups scan the entries: for
// a dozen fields that beats building a map per event.
type fields struct {
	entries xdr.ScMap
	err     error
}

func structOf(v xdr.ScVal) fields {
	sm, ok := v.GetMap()
	if !ok || sm == nil {
		return fields{err: fmt.Errorf("%w: payload is %s, want a map", errShape, v.Type)}
	}
	if len(*sm) > maxStructFields {
		return fields{err: fmt.Errorf("%w: payload map has %d entries (at most %d)", errShape, len(*sm), maxStructFields)}
	}
	sorted := true
	for i, entry := range *sm {
		if entry.Key.Type != xdr.ScValTypeScvSymbol || entry.Key.Sym == nil {
			return fields{err: fmt.Errorf("%w: map key is %s, want a symbol", errShape, entry.Key.Type)}
		}
		if i > 0 && *(*sm)[i-1].Key.Sym >= *entry.Key.Sym {
			sorted = false
		}
	}
	// The host sorts map keys, so strictly ascending keys (the usual case) cannot repeat; anything else is
	// checked pair by pair.
	if !sorted {
		for i, entry := range *sm {
			for _, earlier := range (*sm)[:i] {
				if *earlier.Key.Sym == *entry.Key.Sym {
					return fields{err: fmt.Errorf("%w: field %q appears twice", errShape, *entry.Key.Sym)}
				}
			}
		}
	}
	return fields{entries: *sm}
}

func (f *fields) get(name string) (xdr.ScVal, bool) {
	if f.err != nil {
		return xdr.ScVal{}, false
	}
	for _, entry := range f.entries {
		if string(*entry.Key.Sym) == name {
			return entry.Val, true
		}
	}
	f.err = fmt.Errorf("%w: field %q is missing", errShape, name)
	return xdr.ScVal{}, false
}

func (f *fields) fail(name string, v xdr.ScVal, want string) {
	f.err = fmt.Errorf("%w: field %q is %s, want %s", errShape, name, v.Type, want)
}

func (f *fields) u64(name string) uint64 {
	v, ok := f.get(name)
	if !ok {
		return 0
	}
	n, ok := v.GetU64()
	if !ok {
		f.fail(name, v, "u64")
	}
	return uint64(n)
}

// amount reads an i128 amount. Every amount the contract publishes is a balance or a rate, never negative, so a
// negative one is out of range rather than a value to fold into a stream.
func (f *fields) amount(name string) domain.Amount {
	v, ok := f.get(name)
	if !ok {
		return domain.Amount{}
	}
	a, err := amountOf(v)
	if err != nil {
		f.err = fmt.Errorf("field %q: %w", name, err)
	}
	return a
}

func amountOf(v xdr.ScVal) (domain.Amount, error) {
	p, ok := v.GetI128()
	if !ok {
		return domain.Amount{}, fmt.Errorf("%w: %s, want i128", errShape, v.Type)
	}
	a := domain.AmountFromParts(int64(p.Hi), uint64(p.Lo))
	if a.Sign() < 0 {
		return domain.Amount{}, fmt.Errorf("%w: amount %s is negative", errShape, a)
	}
	return a, nil
}

func (f *fields) address(name string) domain.Address {
	v, ok := f.get(name)
	if !ok {
		return ""
	}
	a, err := addressOf(v)
	if err != nil {
		f.err = fmt.Errorf("field %q: %w", name, err)
	}
	return a
}

// addressOf accepts the two kinds of address a stream party can be: an account (G…) or a contract (C…).
func addressOf(v xdr.ScVal) (domain.Address, error) {
	sa, ok := v.GetAddress()
	if !ok {
		return "", fmt.Errorf("%w: %s, want an address", errShape, v.Type)
	}
	switch sa.Type {
	case xdr.ScAddressTypeScAddressTypeAccount, xdr.ScAddressTypeScAddressTypeContract:
	default:
		return "", fmt.Errorf("%w: address of type %s, want an account or a contract", errShape, sa.Type)
	}
	s, err := sa.String()
	if err != nil {
		return "", fmt.Errorf("%w: %v", errShape, err)
	}
	return domain.Address(s), nil
}

func (f *fields) str(name string) string {
	v, ok := f.get(name)
	if !ok {
		return ""
	}
	s, ok := v.GetStr()
	if !ok {
		f.fail(name, v, "a string")
	}
	return string(s)
}

// optBytes reads an Option<Bytes>: Void is None.
func (f *fields) optBytes(name string) []byte {
	v, ok := f.get(name)
	if !ok || v.Type == xdr.ScValTypeScvVoid {
		return nil
	}
	b, ok := v.GetBytes()
	if !ok {
		f.fail(name, v, "bytes or void")
	}
	return []byte(b)
}

// optMetadata reads an Option<Map<Bytes, Bytes>>.
func (f *fields) optMetadata(name string) []domain.MetadataEntry {
	v, ok := f.get(name)
	if !ok || v.Type == xdr.ScValTypeScvVoid {
		return nil
	}
	sm, ok := v.GetMap()
	if !ok || sm == nil {
		f.fail(name, v, "a map or void")
		return nil
	}
	out := make([]domain.MetadataEntry, 0, len(*sm))
	for _, entry := range *sm {
		k, kok := entry.Key.GetBytes()
		val, vok := entry.Val.GetBytes()
		if !kok || !vok {
			f.err = fmt.Errorf("%w: field %q holds a %s → %s entry, want bytes → bytes", errShape, name, entry.Key.Type, entry.Val.Type)
			return nil
		}
		out = append(out, domain.MetadataEntry{Key: []byte(k), Value: []byte(val)})
	}
	return out
}

// variant reads a `StreamEvent::X(u64)` payload: ScVec[Symbol("X"), U64(id)].
func variant(v xdr.ScVal, name string) (uint64, error) {
	vec, ok := v.GetVec()
	if !ok || vec == nil {
		return 0, fmt.Errorf("%w: payload is %s, want a vec", errShape, v.Type)
	}
	if len(*vec) != 2 {
		return 0, fmt.Errorf("%w: payload vec has %d elements, want 2", errShape, len(*vec))
	}
	sym, ok := (*vec)[0].GetSym()
	if !ok {
		return 0, fmt.Errorf("%w: payload variant is %s, want the symbol %s", errShape, (*vec)[0].Type, name)
	}
	if string(sym) != name {
		return 0, fmt.Errorf("%w: payload variant is %q, want %q", errShape, string(sym), name)
	}
	id, ok := (*vec)[1].GetU64()
	if !ok {
		return 0, fmt.Errorf("%w: payload id is %s, want u64", errShape, (*vec)[1].Type)
	}
	return uint64(id), nil
}

func (f *fields) boolean(name string) bool {
	v, ok := f.get(name)
	if !ok {
		return false
	}
	b, ok := v.GetB()
	if !ok {
		f.fail(name, v, "a bool")
	}
	return b
}

func (f *fields) u32(name string) uint32 {
	v, ok := f.get(name)
	if !ok {
		return 0
	}
	n, ok := v.GetU32()
	if !ok {
		f.fail(name, v, "u32")
	}
	return uint32(n)
}

// optAddress reads an Option<Address>: Void is None.
func (f *fields) optAddress(name string) *domain.Address {
	v, ok := f.get(name)
	if !ok || v.Type == xdr.ScValTypeScvVoid {
		return nil
	}
	a, err := addressOf(v)
	if err != nil {
		f.err = fmt.Errorf("field %q: %w", name, err)
		return nil
	}
	return &a
}

// optU64 reads an Option<u64>: Void is None.
func (f *fields) optU64(name string) *uint64 {
	v, ok := f.get(name)
	if !ok || v.Type == xdr.ScValTypeScvVoid {
		return nil
	}
	n, ok := v.GetU64()
	if !ok {
		f.fail(name, v, "u64 or void")
		return nil
	}
	out := uint64(n)
	return &out
}

// hash32 reads a BytesN<32> as hex.
func (f *fields) hash32(name string) string {
	v, ok := f.get(name)
	if !ok {
		return ""
	}
	h, err := hash32Of(v)
	if err != nil {
		f.err = fmt.Errorf("field %q: %w", name, err)
	}
	return h
}

func hash32Of(v xdr.ScVal) (string, error) {
	b, ok := v.GetBytes()
	if !ok || len(b) != 32 {
		return "", fmt.Errorf("%w: %s of %d bytes, want 32 bytes", errShape, v.Type, len(b))
	}
	return hex.EncodeToString(b), nil
}

// tuple reads a tuple payload, which arrives as a vec of n values.
func tuple(v xdr.ScVal, n int) ([]xdr.ScVal, error) {
	vec, ok := v.GetVec()
	if !ok || vec == nil {
		return nil, fmt.Errorf("%w: payload is %s, want a vec (a tuple)", errShape, v.Type)
	}
	if len(*vec) != n {
		return nil, fmt.Errorf("%w: payload tuple has %d elements, want %d", errShape, len(*vec), n)
	}
	return *vec, nil
}

// tupleReader reads a tuple's elements in order, keeping the first error.
type tupleReader struct {
	vals []xdr.ScVal
	i    int
	err  error
}

func (t *tupleReader) next() (xdr.ScVal, bool) {
	if t.err != nil {
		return xdr.ScVal{}, false
	}
	t.i++
	return t.vals[t.i-1], true
}

func (t *tupleReader) failAt(v xdr.ScVal, want string) {
	if t.err == nil {
		t.err = fmt.Errorf("%w: tuple element %d is %s, want %s", errShape, t.i-1, v.Type, want)
	}
}

func (t *tupleReader) u64() uint64 {
	v, ok := t.next()
	n, isU64 := v.GetU64()
	if ok && !isU64 {
		t.failAt(v, "u64")
	}
	return uint64(n)
}

func (t *tupleReader) u32() uint32 {
	v, ok := t.next()
	n, isU32 := v.GetU32()
	if ok && !isU32 {
		t.failAt(v, "u32")
	}
	return uint32(n)
}

func (t *tupleReader) address() domain.Address {
	v, ok := t.next()
	if !ok {
		return ""
	}
	a, err := addressOf(v)
	if err != nil && t.err == nil {
		t.err = fmt.Errorf("tuple element %d: %w", t.i-1, err)
	}
	return a
}

func (t *tupleReader) hash32() string {
	v, ok := t.next()
	if !ok {
		return ""
	}
	h, err := hash32Of(v)
	if err != nil && t.err == nil {
		t.err = fmt.Errorf("tuple element %d: %w", t.i-1, err)
	}
	return h
}
