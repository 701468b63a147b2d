package escrowsapi_test

import (
	"testing"

	api "github.com/streamledger/streamledger/http"
	"github.com/streamledger/streamledger/http/escrowsapi"
	"github.com/streamledger/streamledger/http/streamsapi"
)

// The escrow fragment merges with the core's document and the stream module's.
func TestFragmentMerges(t *testing.T) {
	doc, err := api.LoadOpenAPI(streamsapi.OpenAPI(), escrowsapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if doc.Paths.Find("/api/escrows/{id}") == nil || len(doc.Components.Schemas["WebSocketMessage"].Value.OneOf) != 7 {
		t.Fatal("the escrow paths and messages are not in the merged document")
	}
}
