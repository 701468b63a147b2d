package lake

import (
	_ "embed"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// pubnetLedger is pubnet ledger 58752000 (1.28 MB of LedgerCloseMeta XDR, 249 transactions, protocol 22), as the
// SDK ships it for its own tests (xdr/testdata), compressed: the filler of `lake make --pubnet-filler`, so that a
// lake of pubnet-sized ledgers can be made anywhere, without the SDK's sources.
//
//go:embed pubnet_58752000.xdr.zst
var pubnetLedger []byte

// PubnetLedger returns the XDR of pubnet ledger 58752000.
func PubnetLedger() ([]byte, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	raw, err := dec.DecodeAll(pubnetLedger, nil)
	if err != nil {
		return nil, fmt.Errorf("the embedded pubnet ledger: %w", err)
	}
	return raw, nil
}
