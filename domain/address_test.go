package domain

import (
	"errors"
	"testing"

	"github.com/stellar/go-stellar-sdk/strkey"
)

const (
	testAccount  = "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"
	testAccount2 = "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"
	testContract = "CA3D5KRYM6CB7OWQ6TWYRR3Z4T7GNZLKERYNZGGA5SOAOPIFY6YQGAXE"
)

func TestParseAddress(t *testing.T) {
	flipped := []byte(testAccount)
	flipped[10] = 'B'
	tests := []struct {
		name    string
		in      string
		kind    AddressKind
		wantErr error
	}{
		{"account", testAccount, AccountAddress, nil},
		{"contract", testContract, ContractAddress, nil},
		{"empty", "", 0, ErrAddressEmpty},
		{"bad checksum", string(flipped), 0, ErrAddressInvalid},
		{"truncated", testAccount[:40], 0, ErrAddressInvalid},
		{"lowercase", "Gaazi4tcr3ty5ojhctjc2a4qsy6cjwjh5iajtgkin2er7lbnvkoccwn7", 0, ErrAddressInvalid},
		{"not base32", "G!AZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7", 0, ErrAddressInvalid},
		{"secret seed", "SBU2RRGLXH3E5CQHTD3ODLDF2BWDCYUSSBLLZ5GNW7JXHDIYKXZWHOKR", 0, ErrAddressWrongKind},
		{"muxed account", "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVAAAAAAAAAAAAAGZ6", 0, ErrAddressWrongKind},
		{"account bytes under a contract prefix", "C" + testAccount[1:], 0, ErrAddressInvalid},
		{"short input the SDK panics on", "G\r2222", 0, ErrAddressInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAddress(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseAddress(%q) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", tt.in, err)
			}
			if a.Kind() != tt.kind || a.String() != tt.in {
				t.Fatalf("ParseAddress(%q) = %s (%s)", tt.in, a, a.Kind())
			}
		})
	}
}

func TestParseAddressOf(t *testing.T) {
	if _, err := ParseAddressOf(testContract, AccountAddress); !errors.Is(err, ErrAddressWrongKind) {
		t.Errorf("contract as account: %v", err)
	}
	if _, err := ParseAddressOf(testAccount, ContractAddress); !errors.Is(err, ErrAddressWrongKind) {
		t.Errorf("account as contract: %v", err)
	}
	if _, err := ParseAddressOf("", ContractAddress); !errors.Is(err, ErrAddressEmpty) {
		t.Errorf("empty: %v", err)
	}
	if a, err := ParseAddressOf(testContract, ContractAddress); err != nil || a != testContract {
		t.Errorf("contract: %v %v", a, err)
	}
	if AccountAddress.String() == ContractAddress.String() || AddressKind(0).String() != "unknown" {
		t.Error("kinds must print distinctly")
	}
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{testAccount, testContract, "", "G", testAccount[:55] + "A", "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVAAAAAAAAAAAAAGZ6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if !errors.Is(err, ErrAddressEmpty) && !errors.Is(err, ErrAddressInvalid) && !errors.Is(err, ErrAddressWrongKind) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		want := strkey.VersionByteAccountID
		if a.Kind() == ContractAddress {
			want = strkey.VersionByteContract
		}
		if _, err := strkey.Decode(want, s); err != nil {
			t.Fatalf("accepted %q as %s but strkey says %v", s, a.Kind(), err)
		}
	})
}
