// Package scval reads Soroban contract values (ScVal) the way contract modules need them: a #[contracttype]
// struct field by field, tuples, enum variants, amounts and addresses, each with an error that names what was
// expected. It is a Stellar primitive shared by the modules; it knows no contract.
package scval

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
)

// ErrShape is the cause of every decode error: the contract event did not have the shape its topic promises.
var ErrShape = errors.New("unexpected event shape")

// maxStructFields bounds the payload maps read field by field (contract structs have a dozen fields or so).
const maxStructFields = 64

// Fields reads a #[contracttype] struct, which arrives as an ScMap keyed by field-name Symbols. It keeps the
// first error, so a topic decoder reads every field and checks once; extra fields are ignored, because a contract
// upgrade may add some and that must not turn a known event into an observed one. Lookups scan the entries: for
// a dozen fields that beats building a map per event.
type Fields struct {
	entries xdr.ScMap
	err     error
}

func Struct(v xdr.ScVal) Fields {
	sm, ok := v.GetMap()
	if !ok || sm == nil {
		return Fields{err: fmt.Errorf("%w: payload is %s, want a map", ErrShape, v.Type)}
	}
	if len(*sm) > maxStructFields {
		return Fields{err: fmt.Errorf("%w: payload map has %d entries (at most %d)", ErrShape, len(*sm), maxStructFields)}
	}
	sorted := true
	for i, entry := range *sm {
		if entry.Key.Type != xdr.ScValTypeScvSymbol || entry.Key.Sym == nil {
			return Fields{err: fmt.Errorf("%w: map key is %s, want a symbol", ErrShape, entry.Key.Type)}
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
					return Fields{err: fmt.Errorf("%w: field %q appears twice", ErrShape, *entry.Key.Sym)}
				}
			}
		}
	}
	return Fields{entries: *sm}
}

// Err is the first error met reading the struct, nil when every field read was there with its type.
func (f *Fields) Err() error { return f.err }

func (f *Fields) get(name string) (xdr.ScVal, bool) {
	if f.err != nil {
		return xdr.ScVal{}, false
	}
	for _, entry := range f.entries {
		if string(*entry.Key.Sym) == name {
			return entry.Val, true
		}
	}
	f.err = fmt.Errorf("%w: field %q is missing", ErrShape, name)
	return xdr.ScVal{}, false
}

func (f *Fields) fail(name string, v xdr.ScVal, want string) {
	f.err = fmt.Errorf("%w: field %q is %s, want %s", ErrShape, name, v.Type, want)
}

func (f *Fields) U64(name string) uint64 {
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

// Amount reads an i128 amount. Every amount the contract publishes is a balance or a rate, never negative, so a
// negative one is out of range rather than a value to fold into a stream.
func (f *Fields) Amount(name string) domain.Amount {
	v, ok := f.get(name)
	if !ok {
		return domain.Amount{}
	}
	a, err := AmountOf(v)
	if err != nil {
		f.err = fmt.Errorf("field %q: %w", name, err)
	}
	return a
}

func AmountOf(v xdr.ScVal) (domain.Amount, error) {
	p, ok := v.GetI128()
	if !ok {
		return domain.Amount{}, fmt.Errorf("%w: %s, want i128", ErrShape, v.Type)
	}
	a := domain.AmountFromParts(int64(p.Hi), uint64(p.Lo))
	if a.Sign() < 0 {
		return domain.Amount{}, fmt.Errorf("%w: amount %s is negative", ErrShape, a)
	}
	return a, nil
}

func (f *Fields) Address(name string) domain.Address {
	v, ok := f.get(name)
	if !ok {
		return ""
	}
	a, err := AddressOf(v)
	if err != nil {
		f.err = fmt.Errorf("field %q: %w", name, err)
	}
	return a
}

// AddressOf accepts the two kinds of address a stream party can be: an account (G…) or a contract (C…).
func AddressOf(v xdr.ScVal) (domain.Address, error) {
	sa, ok := v.GetAddress()
	if !ok {
		return "", fmt.Errorf("%w: %s, want an address", ErrShape, v.Type)
	}
	switch sa.Type {
	case xdr.ScAddressTypeScAddressTypeAccount, xdr.ScAddressTypeScAddressTypeContract:
	default:
		return "", fmt.Errorf("%w: address of type %s, want an account or a contract", ErrShape, sa.Type)
	}
	s, err := sa.String()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrShape, err)
	}
	return domain.Address(s), nil
}

func (f *Fields) Str(name string) string {
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

// Bytes reads a Bytes field.
func (f *Fields) Bytes(name string) []byte {
	v, ok := f.get(name)
	if !ok {
		return nil
	}
	b, ok := v.GetBytes()
	if !ok {
		f.fail(name, v, "bytes")
	}
	return []byte(b)
}

// OptAmount reads an Option<i128> amount: Void is None.
func (f *Fields) OptAmount(name string) *domain.Amount {
	v, ok := f.get(name)
	if !ok || v.Type == xdr.ScValTypeScvVoid {
		return nil
	}
	a, err := AmountOf(v)
	if err != nil {
		f.err = fmt.Errorf("field %q: %w", name, err)
		return nil
	}
	return &a
}

// OptBytes reads an Option<Bytes>: Void is None.
func (f *Fields) OptBytes(name string) []byte {
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

// Observed is the observed form of a contract event a module decodes: its first topic, when a Symbol, names it.
// A module returns it for a topic it does not know, and with DecodeError set for one that did not decode.
func Observed(m domain.ChainMeta, topics []xdr.ScVal) *domain.ContractEventObserved {
	observed := &domain.ContractEventObserved{ChainMeta: m}
	if len(topics) > 0 {
		if sym, ok := topics[0].GetSym(); ok {
			observed.Topic = string(sym)
		}
	}
	return observed
}

// BytesPair is one entry of a Map<Bytes, Bytes>.
type BytesPair struct{ Key, Value []byte }

// OptBytesMap reads an Option<Map<Bytes, Bytes>>: None is nil, an empty map an empty slice.
func (f *Fields) OptBytesMap(name string) []BytesPair {
	v, ok := f.get(name)
	if !ok || v.Type == xdr.ScValTypeScvVoid {
		return nil
	}
	sm, ok := v.GetMap()
	if !ok || sm == nil {
		f.fail(name, v, "a map or void")
		return nil
	}
	out := make([]BytesPair, 0, len(*sm))
	for _, entry := range *sm {
		k, kok := entry.Key.GetBytes()
		val, vok := entry.Val.GetBytes()
		if !kok || !vok {
			f.err = fmt.Errorf("%w: field %q holds a %s → %s entry, want bytes → bytes", ErrShape, name, entry.Key.Type, entry.Val.Type)
			return nil
		}
		out = append(out, BytesPair{Key: []byte(k), Value: []byte(val)})
	}
	return out
}

// Variant reads a `StreamEvent::X(u64)` payload: ScVec[Symbol("X"), U64(id)].
func Variant(v xdr.ScVal, name string) (uint64, error) {
	vec, ok := v.GetVec()
	if !ok || vec == nil {
		return 0, fmt.Errorf("%w: payload is %s, want a vec", ErrShape, v.Type)
	}
	if len(*vec) != 2 {
		return 0, fmt.Errorf("%w: payload vec has %d elements, want 2", ErrShape, len(*vec))
	}
	sym, ok := (*vec)[0].GetSym()
	if !ok {
		return 0, fmt.Errorf("%w: payload variant is %s, want the symbol %s", ErrShape, (*vec)[0].Type, name)
	}
	if string(sym) != name {
		return 0, fmt.Errorf("%w: payload variant is %q, want %q", ErrShape, string(sym), name)
	}
	id, ok := (*vec)[1].GetU64()
	if !ok {
		return 0, fmt.Errorf("%w: payload id is %s, want u64", ErrShape, (*vec)[1].Type)
	}
	return uint64(id), nil
}

func (f *Fields) Bool(name string) bool {
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

func (f *Fields) U32(name string) uint32 {
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

// OptAddress reads an Option<Address>: Void is None.
func (f *Fields) OptAddress(name string) *domain.Address {
	v, ok := f.get(name)
	if !ok || v.Type == xdr.ScValTypeScvVoid {
		return nil
	}
	a, err := AddressOf(v)
	if err != nil {
		f.err = fmt.Errorf("field %q: %w", name, err)
		return nil
	}
	return &a
}

// OptU64 reads an Option<u64>: Void is None.
func (f *Fields) OptU64(name string) *uint64 {
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

// Hash32 reads a BytesN<32> as hex.
func (f *Fields) Hash32(name string) string {
	v, ok := f.get(name)
	if !ok {
		return ""
	}
	h, err := Hash32Of(v)
	if err != nil {
		f.err = fmt.Errorf("field %q: %w", name, err)
	}
	return h
}

func Hash32Of(v xdr.ScVal) (string, error) {
	b, ok := v.GetBytes()
	if !ok || len(b) != 32 {
		return "", fmt.Errorf("%w: %s of %d bytes, want 32 bytes", ErrShape, v.Type, len(b))
	}
	return hex.EncodeToString(b), nil
}

// Tuple reads a tuple payload, which arrives as a vec of n values.
func Tuple(v xdr.ScVal, n int) ([]xdr.ScVal, error) {
	vec, ok := v.GetVec()
	if !ok || vec == nil {
		return nil, fmt.Errorf("%w: payload is %s, want a vec (a tuple)", ErrShape, v.Type)
	}
	if len(*vec) != n {
		return nil, fmt.Errorf("%w: payload tuple has %d elements, want %d", ErrShape, len(*vec), n)
	}
	return *vec, nil
}

// TupleReader reads a tuple's elements in order, keeping the first error.
type TupleReader struct {
	vals []xdr.ScVal
	i    int
	err  error
}

// NewTupleReader reads vals, the elements of a tuple (see Tuple), in order.
func NewTupleReader(vals []xdr.ScVal) *TupleReader { return &TupleReader{vals: vals} }

// Err is the first error met reading the tuple.
func (t *TupleReader) Err() error { return t.err }

func (t *TupleReader) next() (xdr.ScVal, bool) {
	if t.err != nil {
		return xdr.ScVal{}, false
	}
	t.i++
	return t.vals[t.i-1], true
}

func (t *TupleReader) failAt(v xdr.ScVal, want string) {
	if t.err == nil {
		t.err = fmt.Errorf("%w: tuple element %d is %s, want %s", ErrShape, t.i-1, v.Type, want)
	}
}

func (t *TupleReader) U64() uint64 {
	v, ok := t.next()
	n, isU64 := v.GetU64()
	if ok && !isU64 {
		t.failAt(v, "u64")
	}
	return uint64(n)
}

func (t *TupleReader) U32() uint32 {
	v, ok := t.next()
	n, isU32 := v.GetU32()
	if ok && !isU32 {
		t.failAt(v, "u32")
	}
	return uint32(n)
}

func (t *TupleReader) Address() domain.Address {
	v, ok := t.next()
	if !ok {
		return ""
	}
	a, err := AddressOf(v)
	if err != nil && t.err == nil {
		t.err = fmt.Errorf("tuple element %d: %w", t.i-1, err)
	}
	return a
}

func (t *TupleReader) Hash32() string {
	v, ok := t.next()
	if !ok {
		return ""
	}
	h, err := Hash32Of(v)
	if err != nil && t.err == nil {
		t.err = fmt.Errorf("tuple element %d: %w", t.i-1, err)
	}
	return h
}

// Sym reads a Symbol field.
func (f *Fields) Sym(name string) string {
	v, ok := f.get(name)
	if !ok {
		return ""
	}
	s, ok := v.GetSym()
	if !ok {
		f.fail(name, v, "a symbol")
	}
	return string(s)
}

// I64 reads an i64 field.
func (f *Fields) I64(name string) int64 {
	v, ok := f.get(name)
	if !ok {
		return 0
	}
	n, ok := v.GetI64()
	if !ok {
		f.fail(name, v, "i64")
	}
	return int64(n)
}

// Struct reads a field that is itself a #[contracttype] struct.
func (f *Fields) Struct(name string) Fields {
	v, ok := f.get(name)
	if !ok {
		return Fields{err: f.err}
	}
	inner := Struct(v)
	if inner.err != nil {
		inner.err = fmt.Errorf("field %q: %w", name, inner.err)
	}
	return inner
}

// Sym reads a Symbol element.
func (t *TupleReader) Sym() string {
	v, ok := t.next()
	s, isSym := v.GetSym()
	if ok && !isSym {
		t.failAt(v, "a symbol")
	}
	return string(s)
}

// ScAddressOf is the ScAddress of an account (G…) or contract (C…) address.
func ScAddressOf(a domain.Address) (xdr.ScAddress, error) {
	if raw, err := strkey.Decode(strkey.VersionByteContract, string(a)); err == nil && len(raw) == 32 {
		id := xdr.ContractId(raw)
		return xdr.ScAddress{Type: xdr.ScAddressTypeScAddressTypeContract, ContractId: &id}, nil
	}
	raw, err := strkey.Decode(strkey.VersionByteAccountID, string(a))
	if err != nil || len(raw) != 32 {
		return xdr.ScAddress{}, fmt.Errorf("%w: %q is not a G… or C… address", ErrShape, a)
	}
	var key xdr.Uint256
	copy(key[:], raw)
	id := xdr.AccountId{Type: xdr.PublicKeyTypePublicKeyTypeEd25519, Ed25519: &key}
	return xdr.ScAddress{Type: xdr.ScAddressTypeScAddressTypeAccount, AccountId: &id}, nil
}
