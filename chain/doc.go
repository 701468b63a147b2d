// Package chain is Stellar ingestion (DESIGN §2, §4): ledger sources (any go-stellar-sdk
// ingest/ledgerbackend.LedgerBackend, plus the push API), decoding of Fluxora contract events from XDR into domain
// events, hash-chain verification, and reorg handling by compensating events. chain/sim is the deterministic
// simulator used by demos and tests.
package chain
