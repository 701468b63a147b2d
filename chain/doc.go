// Package chain is Stellar ingestion (DESIGN §2, §4, §13, §14): ledger sources (any go-stellar-sdk
// ingest/ledgerbackend.LedgerBackend, several RPC endpoints, a SEP-54 data lake, the push API), hash-chain
// verification, the decoding of the configured contracts' events by the modules they are bound to (Module,
// Contracts; the core knows no contract), and reorg handling by compensating events. chain/sim is the
// deterministic simulator used by demos and tests.
package chain
