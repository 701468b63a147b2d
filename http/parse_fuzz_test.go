package http

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/streamledger/streamledger/domain"
)

// refusedAs fails unless err is a 400 validation error naming field.
func refusedAs(t *testing.T, err error, field string) {
	t.Helper()
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Code != CodeValidation {
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
	servers := []*Server{{cfg: Config{Contracts: []domain.Address{contract}}}, {cfg: Config{Contracts: []domain.Address{contract, other}}}}
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

// FuzzParseRange: a recovery range from a request body is refused with a validation error naming since or until,
// or is one kind of bound (ledgers from 1, or times; the zero time is the earliest), with until, when given, not before since.
func FuzzParseRange(f *testing.F) {
	for _, b := range []string{`{"since":5}`, `{"since":"5","until":"9"}`, `{"since":9,"until":5}`, `{"since":0}`,
		`{"since":"2026-01-01T00:00:00Z","until":"2026-01-02T00:00:00.5Z"}`, `{"since":5,"until":"2026-01-01T00:00:00Z"}`,
		`{"since":null}`, `{}`, `{"since":4294967296}`, `{"since":5.0}`, `{"since":"x"}`, `{"since":[1]}`,
		`{"since":"0001-01-01T00:00:00Z","until":3}`} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req recoverRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		r, err := parseRange(req)
		if err != nil {
			field := "since"
			if strings.Contains(err.Error(), "until") {
				field = "until"
			}
			refusedAs(t, err, field)
			return
		}
		byLedger := r.SinceLedger != 0
		switch {
		case byLedger && !r.Since.IsZero():
			t.Fatalf("%s: since is both a ledger and a time: %+v", body, r)
		case r.UntilLedger != 0 && (!byLedger || r.UntilLedger < r.SinceLedger):
			t.Fatalf("%s: until ledger %d with %+v", body, r.UntilLedger, r)
		case !r.Until.IsZero() && (byLedger || r.Until.Before(r.Since)):
			t.Fatalf("%s: until time %v with %+v", body, r.Until, r)
		}
	})
}
