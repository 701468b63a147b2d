package http

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/streamledger/streamledger/http/apikit"
)

// refusedAs fails unless err is a 400 validation error naming field.
func refusedAs(t *testing.T, err error, field string) {
	t.Helper()
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Code != apikit.CodeValidation {
		t.Fatalf("not a validation error: %v", err)
	}
	if d, ok := apiErr.Details.(map[string]string); !ok || d["field"] != field {
		t.Fatalf("the error names %v, not %s", apiErr.Details, field)
	}
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
