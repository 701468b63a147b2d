package http

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// FuzzReadPush feeds arbitrary bodies to the push route's parser, as JSON and as raw bytes: an answer or an API
// error, never a panic; a JSON body that parses is the ledgers it names, and nothing past the limit is accepted.
func FuzzReadPush(f *testing.F) {
	f.Add([]byte(`{"ledgers":[{"sequence":2,"hash":"00","metadataXdr":"AAAA"}]}`), true)
	f.Add([]byte(`{"ledgers":[]} {}`), true)
	f.Add([]byte(`{"ledgers":[{"sequence":-1}]}`), true)
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0}, false)
	f.Add([]byte{}, false)
	const limit = 1 << 10
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		ct := fiber.MIMEOctetStream
		if asJSON {
			ct = fiber.MIMEApplicationJSON
		}
		got, err := readPush(ct, bytes.NewReader(body), limit)
		if err != nil {
			if _, ok := err.(*APIError); !ok {
				t.Fatalf("not an API error: %T %v", err, err)
			}
			return
		}
		if len(body) > limit {
			t.Fatalf("a body of %d bytes passed a limit of %d", len(body), limit)
		}
		if !asJSON {
			if !bytes.Equal(got.raw, body) {
				t.Fatal("the raw body changed")
			}
			return
		}
		var want pushRequest
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("parsed a body encoding/json refuses: %v", err)
		}
		if !reflect.DeepEqual(got.ledgers, want.Ledgers) {
			t.Fatalf("parsed %+v, encoding/json %+v", got.ledgers, want.Ledgers)
		}
	})
}
