package escrows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/streamledger/streamledger/contracts/liquifact"
)

// hashOf digests escrows in contract order: equal digests, equal read models.
func hashOf(escrows []liquifact.Escrow) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for i := range escrows {
		_ = enc.Encode(&escrows[i]) // a hash.Hash never fails a write
	}
	return hex.EncodeToString(h.Sum(nil))
}
