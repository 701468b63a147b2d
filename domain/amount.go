package domain

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// DefaultDecimals is the number of fraction digits of Stellar asset contract tokens.
const DefaultDecimals = 7

// Amount is an exact signed 128-bit integer of token base units: the contract's i128.
//
// It is a value type (two words, no pointers) so that Stream states can be copied freely by the fold and
// arithmetic never allocates; math/big is used only at the edges (parsing and printing very large values).
type Amount struct {
	hi int64
	lo uint64
}

var (
	// MaxAmount and MinAmount are the bounds of i128.
	MaxAmount = Amount{hi: 1<<63 - 1, lo: 1<<64 - 1}
	MinAmount = Amount{hi: -1 << 63, lo: 0}

	maxAmountBig = MaxAmount.Big()
	minAmountBig = MinAmount.Big()
)

// Decimal errors. Each has the stable code that the HTTP edge reports; match them with errors.Is.
var (
	ErrDecimalInvalidType   = errors.New("DECIMAL_INVALID_TYPE")
	ErrDecimalInvalidFormat = errors.New("DECIMAL_INVALID_FORMAT")
	ErrDecimalOutOfRange    = errors.New("DECIMAL_OUT_OF_RANGE")
	ErrDecimalEmptyValue    = errors.New("DECIMAL_EMPTY_VALUE")
)

// DecimalError says why an amount string was refused. Code is one of the DECIMAL_* sentinels.
type DecimalError struct {
	Code   error
	Input  string
	Reason string
}

func (e *DecimalError) Error() string {
	if e.Input == "" {
		return fmt.Sprintf("%s: %s", e.Code, e.Reason)
	}
	return fmt.Sprintf("%s: %q: %s", e.Code, truncate(e.Input, 64), e.Reason)
}

func (e *DecimalError) Unwrap() error { return e.Code }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// NewAmount returns an Amount holding v.
func NewAmount(v int64) Amount {
	return Amount{hi: v >> 63, lo: uint64(v)}
}

// AmountFromParts builds an Amount from the high and low words of an XDR Int128Parts.
func AmountFromParts(hi int64, lo uint64) Amount { return Amount{hi: hi, lo: lo} }

// Parts returns the high and low words, as XDR Int128Parts holds them.
func (a Amount) Parts() (hi int64, lo uint64) { return a.hi, a.lo }

// AmountFromBig converts b, failing when it is outside i128.
func AmountFromBig(b *big.Int) (Amount, error) {
	if b.Cmp(maxAmountBig) > 0 || b.Cmp(minAmountBig) < 0 {
		return Amount{}, &DecimalError{Code: ErrDecimalOutOfRange, Input: b.String(), Reason: "outside the i128 range"}
	}
	var mag big.Int
	var buf [16]byte
	mag.Abs(b).FillBytes(buf[:])
	u := Amount{hi: int64(binary.BigEndian.Uint64(buf[:8])), lo: binary.BigEndian.Uint64(buf[8:])}
	if b.Sign() < 0 {
		u = u.negWrap()
	}
	return u, nil
}

// Big returns a as a new big.Int.
func (a Amount) Big() *big.Int {
	neg := a.hi < 0
	m := a
	if neg {
		m = a.negWrap()
	}
	b := new(big.Int).SetUint64(uint64(m.hi))
	b.Lsh(b, 64)
	b.Or(b, new(big.Int).SetUint64(m.lo))
	if neg {
		b.Neg(b)
	}
	return b
}

func (a Amount) negWrap() Amount {
	lo, borrow := bits.Sub64(0, a.lo, 0)
	hi, _ := bits.Sub64(0, uint64(a.hi), borrow)
	return Amount{hi: int64(hi), lo: lo}
}

// Sign returns -1, 0 or +1.
func (a Amount) Sign() int {
	switch {
	case a.hi < 0:
		return -1
	case a.hi == 0 && a.lo == 0:
		return 0
	default:
		return 1
	}
}

// IsZero reports whether a is zero.
func (a Amount) IsZero() bool { return a.hi == 0 && a.lo == 0 }

// Cmp compares a and b: -1, 0 or +1.
func (a Amount) Cmp(b Amount) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	default:
		return 0
	}
}

// Add returns a+b and whether it fitted in i128.
func (a Amount) Add(b Amount) (Amount, bool) {
	lo, carry := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(uint64(a.hi), uint64(b.hi), carry)
	r := Amount{hi: int64(hi), lo: lo}
	ok := !((a.hi < 0) == (b.hi < 0) && (r.hi < 0) != (a.hi < 0))
	return r, ok
}

// Sub returns a-b and whether it fitted in i128.
func (a Amount) Sub(b Amount) (Amount, bool) {
	lo, borrow := bits.Sub64(a.lo, b.lo, 0)
	hi, _ := bits.Sub64(uint64(a.hi), uint64(b.hi), borrow)
	r := Amount{hi: int64(hi), lo: lo}
	ok := !((a.hi < 0) != (b.hi < 0) && (r.hi < 0) != (a.hi < 0))
	return r, ok
}

// Mul returns a*b and whether it fitted in i128 (the contract's checked_mul).
func (a Amount) Mul(b Amount) (Amount, bool) {
	neg := (a.hi < 0) != (b.hi < 0)
	ma, mb := a.magnitude(), b.magnitude()
	if ma.hi != 0 && mb.hi != 0 {
		return Amount{}, false
	}
	if ma.hi != 0 {
		ma, mb = mb, ma
	}
	// ma < 2^64 now: ma.lo * (mb.hi·2^64 + mb.lo)
	p1hi, p1lo := bits.Mul64(ma.lo, mb.lo)
	p2hi, p2lo := bits.Mul64(ma.lo, mb.hi)
	if p2hi != 0 {
		return Amount{}, false
	}
	hi, carry := bits.Add64(p1hi, p2lo, 0)
	if carry != 0 {
		return Amount{}, false
	}
	const signBit = 1 << 63
	switch {
	case hi < signBit:
	case neg && hi == signBit && p1lo == 0: // exactly -2^127
	default:
		return Amount{}, false
	}
	r := uAmount{hi: hi, lo: p1lo}.asAmount()
	if neg {
		r = r.negWrap()
	}
	return r, true
}

// uAmount is an unsigned 128-bit magnitude.
type uAmount struct{ hi, lo uint64 }

func (u uAmount) asAmount() Amount { return Amount{hi: int64(u.hi), lo: u.lo} }

func (a Amount) magnitude() uAmount {
	if a.hi < 0 {
		n := a.negWrap()
		return uAmount{hi: uint64(n.hi), lo: n.lo}
	}
	return uAmount{hi: uint64(a.hi), lo: a.lo}
}

// SaturatingAdd is the contract's saturating_add.
func (a Amount) SaturatingAdd(b Amount) Amount {
	r, ok := a.Add(b)
	if ok {
		return r
	}
	if b.hi < 0 {
		return MinAmount
	}
	return MaxAmount
}

// SaturatingSub is the contract's saturating_sub.
func (a Amount) SaturatingSub(b Amount) Amount {
	r, ok := a.Sub(b)
	if ok {
		return r
	}
	if b.hi < 0 {
		return MaxAmount
	}
	return MinAmount
}

// MinAmountOf returns the smaller of a and b.
func MinAmountOf(a, b Amount) Amount {
	if a.Cmp(b) <= 0 {
		return a
	}
	return b
}

// MaxAmountOf returns the larger of a and b.
func MaxAmountOf(a, b Amount) Amount {
	if a.Cmp(b) >= 0 {
		return a
	}
	return b
}

// String prints the raw integer (base units), e.g. "-12345".
func (a Amount) String() string {
	var buf [40]byte // an i128 has at most 39 digits and a sign
	return string(a.appendRaw(buf[:0]))
}

// appendRaw appends String's digits.
func (a Amount) appendRaw(b []byte) []byte {
	if (a.hi == 0 && a.lo <= 1<<63-1) || (a.hi == -1 && a.lo >= 1<<63) {
		return strconv.AppendInt(b, int64(a.lo), 10)
	}
	return a.Big().Append(b, 10)
}

// Decimal prints a with the given number of fraction digits, always all of them: "1000000.0000000".
func (a Amount) Decimal(decimals int) string {
	raw := a.String()
	neg := strings.HasPrefix(raw, "-")
	raw = strings.TrimPrefix(raw, "-")
	if decimals <= 0 {
		if neg {
			return "-" + raw
		}
		return raw
	}
	if len(raw) <= decimals {
		raw = strings.Repeat("0", decimals-len(raw)+1) + raw
	}
	cut := len(raw) - decimals
	s := raw[:cut] + "." + raw[cut:]
	if neg {
		return "-" + s
	}
	return s
}

// ParseRawAmount parses a base-unit integer string as stored in events ("-42", "1000"), within i128.
func ParseRawAmount(s string) (Amount, error) {
	if s == "" {
		return Amount{}, &DecimalError{Code: ErrDecimalEmptyValue, Reason: "empty amount"}
	}
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || !allDigits(digits) {
		return Amount{}, &DecimalError{Code: ErrDecimalInvalidFormat, Input: s, Reason: "expected an integer of base units"}
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return NewAmount(v), nil
	}
	b, _ := new(big.Int).SetString(s, 10)
	return AmountFromBig(b)
}

// smallRawAmount reads the common JSON amount, a quoted integer of at most 18 digits (which cannot overflow),
// without the allocations of unquoting and of the general parser: every stored event holds a few.
func smallRawAmount(b []byte) (int64, bool) {
	if len(b) < 3 || b[0] != '"' || b[len(b)-1] != '"' {
		return 0, false
	}
	digits := b[1 : len(b)-1]
	negative := digits[0] == '-'
	if negative {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if negative {
		v = -v
	}
	return v, true
}

// ParseDecimal parses a non-negative decimal string with at most `decimals` fraction digits
// ("1000.5", "0.0000001") into base units. It accepts exactly `^\d+(\.\d{1,decimals})?$`.
func ParseDecimal(s string, decimals int) (Amount, error) {
	if s == "" {
		return Amount{}, &DecimalError{Code: ErrDecimalEmptyValue, Reason: "empty amount"}
	}
	fail := func(reason string) (Amount, error) {
		return Amount{}, &DecimalError{Code: ErrDecimalInvalidFormat, Input: s, Reason: reason}
	}
	switch {
	case s[0] == '-' || s[0] == '+':
		return fail("a sign is not allowed")
	case strings.ContainsAny(s, "eE"):
		return fail("exponent notation is not allowed")
	}
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if intPart == "" || !allDigits(intPart) {
		return fail("expected digits with an optional fraction, like 1000.5")
	}
	if hasPoint {
		if frac == "" || !allDigits(frac) {
			return fail("expected digits after the decimal point")
		}
		if len(frac) > decimals {
			return fail(fmt.Sprintf("at most %d fraction digits", decimals))
		}
	}
	frac += strings.Repeat("0", decimals-len(frac))
	v, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return fail("not a number")
	}
	if v.Cmp(maxAmountBig) > 0 {
		return Amount{}, &DecimalError{Code: ErrDecimalOutOfRange, Input: s, Reason: "larger than the i128 maximum"}
	}
	return AmountFromBig(v)
}

// ParseDecimalJSON parses a JSON value that must be a decimal string; JSON numbers are refused so that no
// client can lose precision through a float on its side.
func ParseDecimalJSON(raw json.RawMessage, decimals int) (Amount, error) {
	trimmed := strings.TrimSpace(string(raw))
	if trimmed == "" {
		return Amount{}, &DecimalError{Code: ErrDecimalEmptyValue, Reason: "empty amount"}
	}
	if trimmed[0] != '"' {
		return Amount{}, &DecimalError{Code: ErrDecimalInvalidType, Input: trimmed, Reason: "amounts must be JSON strings, not numbers, booleans or null"}
	}
	var s string
	if err := json.Unmarshal([]byte(trimmed), &s); err != nil {
		return Amount{}, &DecimalError{Code: ErrDecimalInvalidFormat, Input: trimmed, Reason: "malformed JSON string"}
	}
	return ParseDecimal(s, decimals)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MarshalText is the raw base-unit integer, which JSON encodes as a string: never a JSON number. (A text
// marshaler, not a JSON one, because encoding/json re-validates what a JSON marshaler returns and amounts are on
// the hot path of every stored event.)
func (a Amount) MarshalText() ([]byte, error) {
	return []byte(a.String()), nil
}

// UnmarshalJSON accepts only a JSON string holding a base-unit integer.
func (a *Amount) UnmarshalJSON(b []byte) error {
	if v, ok := smallRawAmount(b); ok {
		*a = NewAmount(v)
		return nil
	}
	if len(b) == 0 || b[0] != '"' {
		return &DecimalError{Code: ErrDecimalInvalidType, Input: string(b), Reason: "amounts must be JSON strings"}
	}
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return &DecimalError{Code: ErrDecimalInvalidFormat, Input: string(b), Reason: "malformed JSON string"}
	}
	v, err := ParseRawAmount(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}
