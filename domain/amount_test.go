package domain

import (
	"encoding/json"
	"errors"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in      string
		raw     string
		wantErr error
	}{
		{"1000000.0000000", "10000000000000", nil},
		{"0", "0", nil},
		{"0.0000001", "1", nil},
		{"1.5", "15000000", nil},
		{"007", "70000000", nil},
		{"17014118346046923173168730371.5884105727", "", ErrDecimalInvalidFormat}, // 10 fraction digits
		{"17014118346046923173168730371.5884105", "170141183460469231731687303715884105", nil},
		{"17014118346046923173168730371588.4105727", "170141183460469231731687303715884105727", nil}, // i128 max
		{"17014118346046923173168730371588.4105728", "", ErrDecimalOutOfRange},
		{"99999999999999999999999999999999999999999", "", ErrDecimalOutOfRange},
		{"", "", ErrDecimalEmptyValue},
		{"-1", "", ErrDecimalInvalidFormat},
		{"+1", "", ErrDecimalInvalidFormat},
		{"1e7", "", ErrDecimalInvalidFormat},
		{"1E7", "", ErrDecimalInvalidFormat},
		{"1.00000001", "", ErrDecimalInvalidFormat},
		{"1.", "", ErrDecimalInvalidFormat},
		{".5", "", ErrDecimalInvalidFormat},
		{"1.2.3", "", ErrDecimalInvalidFormat},
		{" 1", "", ErrDecimalInvalidFormat},
		{"1,5", "", ErrDecimalInvalidFormat},
		{"0x10", "", ErrDecimalInvalidFormat},
		{"NaN", "", ErrDecimalInvalidFormat},
		{"١", "", ErrDecimalInvalidFormat},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDecimal(tt.in, DefaultDecimals)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseDecimal(%q) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				var de *DecimalError
				if !errors.As(err, &de) || de.Reason == "" {
					t.Fatalf("error %v is not a DecimalError with a reason", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDecimal(%q): %v", tt.in, err)
			}
			if got.String() != tt.raw {
				t.Fatalf("ParseDecimal(%q) = %s, want %s", tt.in, got, tt.raw)
			}
		})
	}
}

func TestParseDecimalJSON(t *testing.T) {
	tests := []struct {
		in      string
		wantErr error
	}{
		{`"12.5"`, nil},
		{`12.5`, ErrDecimalInvalidType},
		{`12`, ErrDecimalInvalidType},
		{`1e3`, ErrDecimalInvalidType},
		{`true`, ErrDecimalInvalidType},
		{`null`, ErrDecimalInvalidType},
		{`""`, ErrDecimalEmptyValue},
		{``, ErrDecimalEmptyValue},
		{`"12.5`, ErrDecimalInvalidFormat},
		{`"-3"`, ErrDecimalInvalidFormat},
	}
	for _, tt := range tests {
		_, err := ParseDecimalJSON(json.RawMessage(tt.in), DefaultDecimals)
		if !errors.Is(err, tt.wantErr) && !(tt.wantErr == nil && err == nil) {
			t.Errorf("ParseDecimalJSON(%s) error = %v, want %v", tt.in, err, tt.wantErr)
		}
	}
}

func TestDecimalFormatting(t *testing.T) {
	tests := []struct {
		raw      int64
		decimals int
		want     string
	}{
		{10000000000, 7, "1000.0000000"},
		{1, 7, "0.0000001"},
		{0, 7, "0.0000000"},
		{-15, 7, "-0.0000015"},
		{-150000000, 7, "-15.0000000"},
		{42, 0, "42"},
		{-42, 0, "-42"},
		{123, 2, "1.23"},
	}
	for _, tt := range tests {
		if got := NewAmount(tt.raw).Decimal(tt.decimals); got != tt.want {
			t.Errorf("NewAmount(%d).Decimal(%d) = %q, want %q", tt.raw, tt.decimals, got, tt.want)
		}
	}
	if got := MaxAmount.Decimal(7); got != "17014118346046923173168730371588.4105727" {
		t.Errorf("MaxAmount.Decimal = %s", got)
	}
	if got := MinAmount.String(); got != "-170141183460469231731687303715884105728" {
		t.Errorf("MinAmount = %s", got)
	}
}

func TestParseRawAmount(t *testing.T) {
	for _, in := range []string{"0", "-1", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
		MaxAmount.String(), MinAmount.String()} {
		a, err := ParseRawAmount(in)
		if err != nil || a.String() != in {
			t.Errorf("ParseRawAmount(%q) = %v, %v", in, a, err)
		}
	}
	for in, want := range map[string]error{
		"":   ErrDecimalEmptyValue,
		"-":  ErrDecimalInvalidFormat,
		"1.": ErrDecimalInvalidFormat,
		"+1": ErrDecimalInvalidFormat,
		"170141183460469231731687303715884105728":  ErrDecimalOutOfRange,
		"-170141183460469231731687303715884105729": ErrDecimalOutOfRange,
	} {
		if _, err := ParseRawAmount(in); !errors.Is(err, want) {
			t.Errorf("ParseRawAmount(%q) error = %v, want %v", in, err, want)
		}
	}
}

func TestAmountJSON(t *testing.T) {
	in := struct {
		A Amount `json:"a"`
	}{A: MaxAmount}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"a":"170141183460469231731687303715884105727"}` {
		t.Fatalf("marshal = %s", b)
	}
	var out struct {
		A Amount `json:"a"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.A != MaxAmount {
		t.Fatalf("round trip = %v, %v", out.A, err)
	}
	for doc, want := range map[string]error{
		`{"a":12}`:       ErrDecimalInvalidType,
		`{"a":"1.5"}`:    ErrDecimalInvalidFormat,
		`{"a":"\u0031"}`: nil,
	} {
		err := json.Unmarshal([]byte(doc), &out)
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("unmarshal %s error = %v, want %v", doc, err, want)
		}
	}
}

// TestAmountArithmeticMatchesBig is a property test: every operation agrees with math/big, including the
// overflow verdict, on random values biased towards the i128 edges.
func TestAmountArithmeticMatchesBig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	edges := []Amount{MaxAmount, MinAmount, {}, NewAmount(1), NewAmount(-1), NewAmount(1 << 62), AmountFromParts(0, 1<<63), AmountFromParts(-1, 0)}
	random := func() Amount {
		switch r.IntN(4) {
		case 0:
			return edges[r.IntN(len(edges))]
		case 1:
			return NewAmount(r.Int64() >> r.IntN(64))
		default:
			return AmountFromParts(int64(r.Uint64())>>r.IntN(64), r.Uint64())
		}
	}
	fits := func(b *big.Int) bool { return b.Cmp(maxAmountBig) <= 0 && b.Cmp(minAmountBig) >= 0 }
	for i := 0; i < 200000; i++ {
		a, b := random(), random()
		ab, bb := a.Big(), b.Big()
		if rt, err := AmountFromBig(ab); err != nil || rt != a {
			t.Fatalf("big round trip of %s = %s, %v", a, rt, err)
		}
		check := func(op string, got Amount, ok bool, want *big.Int) {
			t.Helper()
			if ok != fits(want) {
				t.Fatalf("%s %s %s: ok = %v, want %v (%s)", a, op, b, ok, fits(want), want)
			}
			if ok && got.Big().Cmp(want) != 0 {
				t.Fatalf("%s %s %s = %s, want %s", a, op, b, got, want)
			}
		}
		sum, ok := a.Add(b)
		check("+", sum, ok, new(big.Int).Add(ab, bb))
		diff, ok := a.Sub(b)
		check("-", diff, ok, new(big.Int).Sub(ab, bb))
		prod, ok := a.Mul(b)
		check("*", prod, ok, new(big.Int).Mul(ab, bb))
		if got, want := a.Cmp(b), ab.Cmp(bb); got != want {
			t.Fatalf("Cmp(%s, %s) = %d, want %d", a, b, got, want)
		}
		if a.Sign() != ab.Sign() {
			t.Fatalf("Sign(%s) = %d", a, a.Sign())
		}
		if a.String() != ab.String() {
			t.Fatalf("String = %s, want %s", a, ab)
		}
	}
}

func TestSaturating(t *testing.T) {
	if got := MaxAmount.SaturatingAdd(NewAmount(1)); got != MaxAmount {
		t.Errorf("max+1 = %s", got)
	}
	if got := MinAmount.SaturatingAdd(NewAmount(-1)); got != MinAmount {
		t.Errorf("min-1 = %s", got)
	}
	if got := MinAmount.SaturatingSub(NewAmount(1)); got != MinAmount {
		t.Errorf("min-1 = %s", got)
	}
	if got := MaxAmount.SaturatingSub(NewAmount(-1)); got != MaxAmount {
		t.Errorf("max+1 = %s", got)
	}
	if got := NewAmount(5).SaturatingSub(NewAmount(7)); got != NewAmount(-2) {
		t.Errorf("5-7 = %s", got)
	}
	if _, err := AmountFromBig(new(big.Int).Add(maxAmountBig, big.NewInt(1))); !errors.Is(err, ErrDecimalOutOfRange) {
		t.Errorf("AmountFromBig(max+1) error = %v", err)
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"1000000.0000000", "0.0000001", "1e7", "-1", "", "17014118346046923173168730371588.4105728", "1.", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseDecimal(s, DefaultDecimals)
		if err != nil {
			var de *DecimalError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a DecimalError", err)
			}
			return
		}
		if a.Sign() < 0 {
			t.Fatalf("ParseDecimal(%q) = %s is negative", s, a)
		}
		back, err := ParseDecimal(a.Decimal(DefaultDecimals), DefaultDecimals)
		if err != nil || back != a {
			t.Fatalf("round trip of %q via %q = %s, %v", s, a.Decimal(DefaultDecimals), back, err)
		}
	})
}

func FuzzParseRawAmount(f *testing.F) {
	for _, s := range []string{"0", "-1", "170141183460469231731687303715884105727", "-170141183460469231731687303715884105729", "1.5", "--1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseRawAmount(s)
		if err != nil {
			return
		}
		back, err := ParseRawAmount(a.String())
		if err != nil || back != a {
			t.Fatalf("round trip of %q = %s, %v", s, back, err)
		}
	})
}

// FuzzAmountUnmarshalJSON: the short path for small amounts decides exactly as the general one does.
func FuzzAmountUnmarshalJSON(f *testing.F) {
	for _, s := range []string{`"0"`, `"-0"`, `"007"`, `"-123456789012345678"`, `"1234567890123456789"`, `"-"`, `""`, `"1a"`,
		`"+1"`, `"1\u0030"`, `12`, `"12`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast Amount
		fastErr := fast.UnmarshalJSON(b)
		var general Amount
		var generalErr error
		if s, err := strconv.Unquote(string(b)); len(b) == 0 || b[0] != '"' || err != nil {
			generalErr = errors.New("not a JSON string")
		} else {
			general, generalErr = ParseRawAmount(s)
		}
		if (fastErr == nil) != (generalErr == nil) || fast != general {
			t.Fatalf("%s: %s, %v; the general path: %s, %v", b, fast, fastErr, general, generalErr)
		}
	})
}
