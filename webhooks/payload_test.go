package webhooks

import (
	"encoding/json"
	"testing"
)

// A payload carries its subject under the subject's kind, whatever module made it, and a consumer reads it back.
func TestPayloadDataCarriesItsSubjectUnderItsKind(t *testing.T) {
	d := PayloadData{EventID: "e1", Subject: Subject{Kind: "escrow", ID: "INV-7", View: json.RawMessage(`{"id":"INV-7","status":"funded"}`)},
		Event: json.RawMessage(`{"amount":"5"}`), Ledger: 12, TxHash: "ab"}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"eventId":"e1","escrow":{"id":"INV-7","status":"funded"},"event":{"amount":"5"},"ledger":12,"txHash":"ab"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back PayloadData
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Subject.Kind != "escrow" || back.Subject.ID != "INV-7" || back.EventID != "e1" || back.Ledger != 12 || back.TxHash != "ab" {
		t.Fatalf("read back: %+v", back)
	}
	for _, bad := range []string{
		`{"eventId":"e1","event":{},"ledger":1,"txHash":"ab"}`,
		`{"eventId":"e1","stream":{"id":"a"},"escrow":{"id":"b"},"event":{},"ledger":1,"txHash":"ab"}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s was read", bad)
		}
	}
	for _, kind := range []string{"", "event", "ledger"} {
		d.Subject.Kind = kind
		if _, err := json.Marshal(d); err == nil {
			t.Errorf("subject kind %q was written", kind)
		}
	}
}
