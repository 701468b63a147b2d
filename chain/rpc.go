package chain

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/stellar/go-stellar-sdk/clients/rpcclient"
	"github.com/stellar/go-stellar-sdk/ingest/ledgerbackend"
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
