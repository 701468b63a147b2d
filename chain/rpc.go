package chain

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/stellar/go-stellar-sdk/clients/rpcclient"
	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
	protocol "github.com/stellar/go-stellar-sdk/protocols/rpc"
	"github.com/stellar/go-stellar-sdk/xdr"
)

// RPCSource reads ledgers from a Stellar RPC server with the SDK's RPCLedgerBackend (getHealth + getLedgers).
type RPCSource struct {
	url        string
	httpClient *http.Client
	bufferSize uint32
	client     *rpcclient.Client
}

// NewRPCSource checks the server URL. httpClient may be nil (the SDK's default client).
func NewRPCSource(serverURL string, httpClient *http.Client) (*RPCSource, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("rpc source: %q is not an http(s) URL", serverURL)
	}
	return &RPCSource{url: serverURL, httpClient: httpClient, bufferSize: 20,
		client: rpcclient.NewClient(serverURL, httpClient)}, nil
}

// Open returns a new, unprepared RPCLedgerBackend; it fits Config.Open.
func (s *RPCSource) Open() (ledgerbackend.LedgerBackend, error) {
	return ledgerbackend.NewRPCLedgerBackend(ledgerbackend.RPCLedgerBackendOptions{
		RPCServerURL: s.url, BufferSize: s.bufferSize, HttpClient: s.httpClient}), nil
}

// Latest is the server's latest ledger (getLatestLedger): how far the source is ahead of the ingester.
func (s *RPCSource) Latest(ctx context.Context) (uint32, error) {
	res, err := s.client.GetLatestLedger(ctx)
	if err != nil {
		return 0, fmt.Errorf("rpc getLatestLedger: %w", err)
	}
	if res.Sequence == 0 {
		return 0, errors.New("rpc getLatestLedger: the server reported ledger 0")
	}
	return res.Sequence, nil
}

// Close releases the client.
func (s *RPCSource) Close() error { return s.client.Close() }

// maxLedgerKeys is how many keys one getLedgerEntries request carries (the RPC server's limit is 200).
const maxLedgerKeys = 200

// LedgerEntries reads contract storage entries as of the server's latest ledger (getLedgerEntries), for
// reconciliation (DESIGN §15). Keys without an entry are left out.
func (s *RPCSource) LedgerEntries(ctx context.Context, keys []xdr.LedgerKey) ([]xdr.LedgerEntry, uint32, error) {
	return s.ledgerEntries(ctx, keys, 3)
}

// ledgerEntries reads keys in pages of one ledger; a page of a newer ledger starts it again, at most attempts times.
func (s *RPCSource) ledgerEntries(ctx context.Context, keys []xdr.LedgerKey, attempts int) ([]xdr.LedgerEntry, uint32, error) {
	var out []xdr.LedgerEntry
	var latest uint32
	for start := 0; start < len(keys); start += maxLedgerKeys {
		var req protocol.GetLedgerEntriesRequest
		for _, k := range keys[start:min(start+maxLedgerKeys, len(keys))] {
			b64, err := xdr.MarshalBase64(k)
			if err != nil {
				return nil, 0, fmt.Errorf("rpc getLedgerEntries: key: %w", err)
			}
			req.Keys = append(req.Keys, b64)
		}
		res, err := s.client.GetLedgerEntries(ctx, req)
		if err != nil {
			return nil, 0, fmt.Errorf("rpc getLedgerEntries: %w", err)
		}
		if latest != 0 && res.LatestLedger != latest {
			// The pages must be of one ledger: start again at the newer one.
			if attempts <= 1 {
				return nil, 0, errors.New("rpc getLedgerEntries: the ledger moved between pages every time")
			}
			return s.ledgerEntries(ctx, keys, attempts-1)
		}
		latest = res.LatestLedger
		for _, e := range res.Entries {
			var data xdr.LedgerEntryData
			if err := xdr.SafeUnmarshalBase64(e.DataXDR, &data); err != nil {
				return nil, 0, fmt.Errorf("rpc getLedgerEntries: entry of key %s: %w", e.KeyXDR, err)
			}
			out = append(out, xdr.LedgerEntry{LastModifiedLedgerSeq: xdr.Uint32(e.LastModifiedLedger), Data: data})
		}
	}
	return out, latest, nil
}
