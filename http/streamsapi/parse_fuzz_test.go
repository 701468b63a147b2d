package streamsapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/http/apikit"
)

const contract = domain.Address("CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP")

// refusedAs fails unless err is a 400 validation error naming field.
func refusedAs(t *testing.T, err error, field string) {
	t.Helper()
	var apiErr *apikit.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Code != apikit.CodeValidation {
		t.Fatalf("not a validation error: %v", err)
	}
	if d, ok := apiErr.Details.(map[string]string); !ok || d["field"] != field {
		t.Fatalf("the error names %v, not %s", apiErr.Details, field)
	}
}

// FuzzParseRef: a stream id from a path or a WebSocket message is refused with a validation error naming the id,
// or read as a contract's stream whose canonical form reads back as the same stream. The bare stream id is taken
// only when one contract is configured.
func FuzzParseRef(f *testing.F) {
	const other = domain.Address("CA3D5KRYM6CB7OWQ6TWYRR3Z4T7GNZLKERYNZGGA5SOAOPIFY6YQGAXE")
	for _, s := range []string{string(contract) + ":42", string(contract) + "%3A42", "42", "", ":", string(contract) + ":",
		string(contract) + ":-1", string(contract) + ":18446744073709551616", "%zz", string(contract) + ":007",
		string(other) + ":1", "GAZDGNBVGY3TQOJ2HM6D2PR7IBAUEQ2EIVDEOSCJJJFUYTKOJ5IFDANM:1", string(contract) + "%253A1"} {
		f.Add(s)
	}
	servers := []*API{New(Config{Contracts: []domain.Address{contract}}), New(Config{Contracts: []domain.Address{contract, other}})}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, s := range servers {
			ref, err := s.parseRef(raw)
			if err != nil {
				refusedAs(t, err, "id")
				continue
			}
			if ref.ContractID.Kind() != domain.ContractAddress {
				t.Fatalf("%q: %s is not a contract", raw, ref.ContractID)
			}
			unescaped, uerr := url.PathUnescape(raw)
			if uerr != nil {
				unescaped = raw
			}
			if len(s.cfg.Contracts) > 1 && !strings.Contains(unescaped, ":") {
				t.Fatalf("%q read as %s with several contracts configured", raw, ref)
			}
			back, err := s.parseRef(ref.String())
			if err != nil || back != ref {
				t.Fatalf("%q read as %s, which reads back as %s (%v)", raw, ref, back, err)
			}
		}
	})
}
