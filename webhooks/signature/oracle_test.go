package signature

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamledger/streamledger/internal/nodetest"
)

// standardWebhooks runs the Standard Webhooks reference verifier (npm standardwebhooks, testdata/standardwebhooks)
// over deliveries and returns its verdict for each (see nodetest.Run for when it is missing).
func standardWebhooks(t *testing.T, deliveries []map[string]any) []string {
	t.Helper()
	in, err := json.Marshal(deliveries)
	if err != nil {
		t.Fatal(err)
	}
	out := nodetest.Run(t, filepath.Join("testdata", "standardwebhooks"), "standardwebhooks", "verify.js", in)
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// The Standard Webhooks headers we send are accepted by the scheme's reference verifier: with one secret, with
// each of the two that sign during a rotation, and not with another secret or a changed body.
func TestStandardWebhooksReferenceVerifierAcceptsOurSignatures(t *testing.T) {
	old, fresh, stranger := GenerateSecret(), GenerateSecret(), GenerateSecret()
	body := `{"id":"d1","type":"stream.withdrawn","data":{"amount":"1.0000000"}}`
	now := time.Now()
	headersOf := func(secrets ...string) map[string]string {
		h, err := Sign(secrets, "0c3e3a0e-0000-5000-8000-000000000001", "stream.withdrawn", now, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"webhook-id": h.Get("webhook-id"), "webhook-timestamp": h.Get("webhook-timestamp"),
			"webhook-signature": h.Get("webhook-signature")}
	}
	one, rotating := headersOf(old), headersOf(old, fresh)
	verdicts := standardWebhooks(t, []map[string]any{
		{"secret": old, "body": body, "headers": one},
		{"secret": old, "body": body, "headers": rotating},
		{"secret": fresh, "body": body, "headers": rotating},
		{"secret": stranger, "body": body, "headers": one},
		{"secret": old, "body": strings.Replace(body, "1.0000000", "2.0000000", 1), "headers": one},
	})
	want := []string{"ok", "ok", "ok", "refused", "refused"}
	if len(verdicts) != len(want) {
		t.Fatalf("verdicts %q", verdicts)
	}
	for i, w := range want {
		if !strings.HasPrefix(verdicts[i], w) {
			t.Errorf("delivery %d: the reference verifier says %q, want %s", i, verdicts[i], w)
		}
	}
}
