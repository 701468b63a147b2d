// Package lake reads ledger history from a Stellar data lake (SEP-54: the layout Galexie writes, zstd-compressed
// XDR LedgerCloseMetaBatch files named by the schema in the lake's own config file), through go-stellar-sdk's
// support/datastore (a filesystem, S3 or an S3-compatible store, GCS). It reads files ahead on several goroutines,
// decompresses them and scans their ledgers in place (chain.Decoder.Scan): a ledger without the configured
// contracts' events is never decoded whole. The ingester appends what it reads in order (DESIGN §13).
package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/stellar/go-stellar-sdk/support/datastore"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
)

// manifestFile is the lake's config file (SEP-54), written by Galexie beside the ledger files.
const manifestFile = ".config.json"

// Errors. Every error names the lake, the file or the ledger it is about.
var (
	// ErrConfig: LAKE_URL is not a lake address this build reads.
	ErrConfig = errors.New("lake configuration")
	// ErrNetwork: the lake holds another network's ledgers.
	ErrNetwork = errors.New("lake of another network")
	// ErrLake: the lake's content is missing or broken (no config file, a missing file, a corrupt one, a gap).
	ErrLake = errors.New("lake content")
)

// Lake is an opened data lake: its schema, and the ledgers it held when opened.
type Lake struct {
	store  datastore.DataStore
	schema datastore.DataStoreSchema
	where  string // the lake's address, for messages (no credentials: LAKE_URL carries none)
	first  uint32
	last   uint32
}

// manifest is the part of the lake's config file that matters here.
type manifest struct {
	NetworkPassphrase string `json:"networkPassphrase"`
	Compression       string `json:"compression"`
	LedgersPerBatch   uint32 `json:"ledgersPerBatch"`
	BatchesPerPart    uint32 `json:"batchesPerPartition"`
}

// Config parses LAKE_URL into the SDK's datastore configuration: file:///dir, s3://bucket/prefix?region=R[&endpoint=URL]
// (an S3-compatible store at endpoint), gs://bucket/prefix.
func Config(raw string) (datastore.DataStoreConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return datastore.DataStoreConfig{}, fmt.Errorf("%w: LAKE_URL: %v", ErrConfig, err)
	}
	bucketPath := strings.TrimSuffix(u.Host+u.Path, "/")
	q := u.Query()
	known := map[string]bool{}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return datastore.DataStoreConfig{}, fmt.Errorf("%w: LAKE_URL %q: a file URL names a local directory (file:///dir)", ErrConfig, raw)
		}
		if u.Path == "" {
			return datastore.DataStoreConfig{}, fmt.Errorf("%w: LAKE_URL %q: no directory", ErrConfig, raw)
		}
		return datastore.DataStoreConfig{Type: "Filesystem", Params: map[string]string{"destination_path": filepath.Clean(u.Path)}}, unknownParams(raw, q, known)
	case "s3":
		known["region"], known["endpoint"] = true, true
		if u.Host == "" {
			return datastore.DataStoreConfig{}, fmt.Errorf("%w: LAKE_URL %q: no bucket", ErrConfig, raw)
		}
		if q.Get("region") == "" {
			return datastore.DataStoreConfig{}, fmt.Errorf("%w: LAKE_URL %q: region is required (s3://bucket/prefix?region=…)", ErrConfig, raw)
		}
		params := map[string]string{"destination_bucket_path": bucketPath, "region": q.Get("region")}
		if ep := q.Get("endpoint"); ep != "" {
			if e, err := url.Parse(ep); err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return datastore.DataStoreConfig{}, fmt.Errorf("%w: LAKE_URL %q: endpoint %q is not an http(s) URL", ErrConfig, raw, ep)
			}
			params["endpoint_url"] = ep
		}
		return datastore.DataStoreConfig{Type: "S3", Params: params}, unknownParams(raw, q, known)
	case "gs":
		if u.Host == "" {
			return datastore.DataStoreConfig{}, fmt.Errorf("%w: LAKE_URL %q: no bucket", ErrConfig, raw)
		}
		return datastore.DataStoreConfig{Type: "GCS", Params: map[string]string{"destination_bucket_path": bucketPath}}, unknownParams(raw, q, known)
	}
	return datastore.DataStoreConfig{}, fmt.Errorf("%w: LAKE_URL %q: want file:///dir, s3://bucket/prefix?region=… or gs://bucket/prefix", ErrConfig, raw)
}

func unknownParams(raw string, q url.Values, known map[string]bool) error {
	for k := range q {
		if !known[k] {
			return fmt.Errorf("%w: LAKE_URL %q: unknown parameter %q", ErrConfig, raw, k)
		}
	}
	return nil
}

// Open opens the lake at rawURL, checks that it holds networkPassphrase's ledgers, and finds the ledgers it holds.
func Open(ctx context.Context, rawURL, networkPassphrase string) (*Lake, error) {
	cfg, err := Config(rawURL)
	if err != nil {
		return nil, err
	}
	store, err := datastore.NewDataStore(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: open lake %s: %v", ErrLake, rawURL, err)
	}
	l, err := open(ctx, store, rawURL, networkPassphrase)
	if err != nil {
		store.Close()
		return nil, err
	}
	return l, nil
}

// FromStore opens a lake over a datastore the caller made (tests, tools); where names it in messages.
func FromStore(ctx context.Context, store datastore.DataStore, where, networkPassphrase string) (*Lake, error) {
	return open(ctx, store, where, networkPassphrase)
}

func open(ctx context.Context, store datastore.DataStore, where, networkPassphrase string) (*Lake, error) {
	r, _, err := store.GetFile(ctx, manifestFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s has no %s: not a SEP-54 lake, or not its root", ErrLake, where, manifestFile)
		}
		return nil, fmt.Errorf("%w: read %s of %s: %v", ErrLake, manifestFile, where, err)
	}
	var m manifest
	err = json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&m)
	r.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: %s of %s is not JSON: %v", ErrLake, manifestFile, where, err)
	}
	if m.NetworkPassphrase != networkPassphrase {
		return nil, fmt.Errorf("%w: %s holds ledgers of network %q, NETWORK_PASSPHRASE is %q", ErrNetwork, where,
			m.NetworkPassphrase, networkPassphrase)
	}
	if m.Compression != "" && m.Compression != "zstd" {
		return nil, fmt.Errorf("%w: %s is compressed with %q; this build reads zstd", ErrLake, where, m.Compression)
	}
	schema, err := datastore.LoadSchema(ctx, store, datastore.DataStoreConfig{})
	if err != nil {
		return nil, fmt.Errorf("%w: schema of %s: %v", ErrLake, where, err)
	}
	if schema.LedgersPerFile == 0 || schema.FilesPerPartition == 0 {
		return nil, fmt.Errorf("%w: %s of %s: ledgersPerBatch and batchesPerPartition must be positive", ErrLake, manifestFile, where)
	}
	l := &Lake{store: store, schema: schema, where: where}
	if l.last, err = datastore.FindLatestLedgerSequence(ctx, store); err != nil {
		return nil, fmt.Errorf("%w: the last ledger of %s: %v", ErrLake, where, err)
	}
	if l.first, err = datastore.FindOldestLedgerSequence(ctx, store, schema); err != nil {
		return nil, fmt.Errorf("%w: the first ledger of %s: %v", ErrLake, where, err)
	}
	if schema.LedgersPerFile > 1 {
		// A file is named by its schema range; the last one may hold fewer ledgers (the lake's writer stopped).
		if l.last, err = l.lastInFile(ctx, l.last); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// lastInFile reads the end sequence of the file that holds ledger seq.
func (l *Lake) lastInFile(ctx context.Context, seq uint32) (uint32, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxFileBytes))
	if err != nil {
		return 0, err
	}
	defer dec.Close()
	j := &job{key: l.schema.GetObjectKeyFromSequenceNumber(seq), first: l.schema.GetSequenceNumberStartBoundary(seq), last: seq}
	_, plain, err := fetch(ctx, l, dec, j, nil, nil)
	if err != nil {
		return 0, err
	}
	end, err := xdr.Try(func() uint32 { return xdr.LedgerCloseMetaBatchView(plain).MustEndSequence().MustValue() })
	if err != nil {
		return 0, fmt.Errorf("%w: %s: file %s is not a LedgerCloseMetaBatch: %v", chain.ErrBadSource, l.where, j.key, err)
	}
	return end, nil
}

// First and Last are the lake's first and last ledgers when it was opened.
func (l *Lake) First() uint32 { return l.first }
func (l *Lake) Last() uint32  { return l.last }

// Close releases the datastore.
func (l *Lake) Close() error { return l.store.Close() }

// Reader returns a reader of ledgers from..end that scans with d, using workers goroutines (at least 1) to
// fetch, decompress and scan files ahead of the appends. Reading past end (from may be end+1) waits until ctx ends.
// A decoder that discovers contracts by executable scans with one worker: a file's ledgers must be read after those
// that may create the contracts their events are of.
func (l *Lake) Reader(d *chain.Decoder, from, end uint32, workers int) (*Reader, error) {
	if from < l.first || from > end+1 || end > l.last {
		return nil, fmt.Errorf("%w: ledgers %d..%d are not all in %s, which holds %d..%d", ErrLake, from, end, l.where, l.first, l.last)
	}
	if d.Discovers() {
		workers = 1
	}
	return newReader(l, d, from, end, max(workers, 1)), nil
}
