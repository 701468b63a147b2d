package lake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/stellar/go-stellar-sdk/support/datastore"
	"github.com/stellar/go-stellar-sdk/xdr"
)

// MakeConfig describes a lake to write.
type MakeConfig struct {
	Dir               string
	NetworkPassphrase string
	// From..To are the source's ledgers; Ledger returns each, in order.
	From, To uint32
	Ledger   func(ctx context.Context, seq uint32) (xdr.LedgerCloseMeta, error)
	// Filler, when set, is the XDR of a ledger put FillerCount times between consecutive source ledgers. Every
	// ledger of the lake then gets its place in one consistent hash chain (sequence, previous hash, hash), source
	// ledgers included, which therefore change hash.
	Filler      []byte
	FillerCount int
	// LedgersPerFile and FilesPerPartition are the lake's schema (defaults 1 and 64000, as the public pubnet lake).
	LedgersPerFile    uint32
	FilesPerPartition uint32
	// Progress, when set, is told how many ledgers are written so far.
	Progress func(written, total uint32)
}

// MakeResult says what Make wrote.
type MakeResult struct {
	First, Last uint32
	Bytes       int64
}

// Make writes a SEP-54 filesystem lake: the config file (the SDK's own manifest) and zstd LedgerCloseMetaBatch files
// named by the schema. The lake's ledgers start at From; with filler, ledger From+i·(FillerCount+1) is source ledger
// From+i and the ones between are fillers. Ledgers are handled as XDR bytes: re-sequencing a pubnet-sized filler
// changes a few header fields in place instead of decoding and encoding 1.3 MB.
func Make(ctx context.Context, cfg MakeConfig) (MakeResult, error) {
	if cfg.To < cfg.From || cfg.Ledger == nil {
		return MakeResult{}, errors.New("lake make: no ledgers to write")
	}
	if cfg.FillerCount > 0 && cfg.Filler == nil {
		return MakeResult{}, errors.New("lake make: filler count without a filler ledger")
	}
	if cfg.LedgersPerFile == 0 {
		cfg.LedgersPerFile = 1
	}
	if cfg.FilesPerPartition == 0 {
		cfg.FilesPerPartition = 64000
	}
	dsCfg := datastore.DataStoreConfig{Type: "Filesystem", Params: map[string]string{"destination_path": cfg.Dir},
		NetworkPassphrase: cfg.NetworkPassphrase, Compression: "zstd",
		Schema: datastore.DataStoreSchema{LedgersPerFile: cfg.LedgersPerFile, FilesPerPartition: cfg.FilesPerPartition, FileExtension: "zst"}}
	store, err := datastore.NewDataStore(ctx, dsCfg)
	if err != nil {
		return MakeResult{}, fmt.Errorf("lake make: %w", err)
	}
	defer store.Close()
	if _, _, err := datastore.PublishConfig(ctx, store, dsCfg); err != nil {
		return MakeResult{}, fmt.Errorf("lake make: %s: %w", cfg.Dir, err)
	}
	stride := uint32(cfg.FillerCount + 1)
	last := cfg.From + (cfg.To-cfg.From)*stride
	res := MakeResult{First: cfg.From, Last: last}

	// The hash chain is sequential; compressing and writing the files, the costly part, is spread over the cores.
	type file struct {
		key  string
		body []byte // an uncompressed LedgerCloseMetaBatch
	}
	files := make(chan file, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return firstErr
	}
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
			if err != nil {
				fail(err)
				return
			}
			defer enc.Close()
			for f := range files {
				out := enc.EncodeAll(f.body, nil)
				if err := store.PutFile(ctx, f.key, bytes.NewReader(out), nil); err != nil {
					fail(fmt.Errorf("lake make: write %s: %w", f.key, err))
					continue
				}
				mu.Lock()
				res.Bytes += int64(len(out))
				mu.Unlock()
			}
		})
	}
	schema := dsCfg.Schema
	var prev []byte
	var cur []byte // the batch being assembled: start, end, count, then the ledgers
	count := uint32(0)
	written := uint32(0)
	emit := func(raw []byte, seq uint32, closeTime []byte) error {
		if prev != nil || cfg.FillerCount > 0 {
			var err error
			if raw, err = place(raw, seq, prev, closeTime); err != nil {
				return fmt.Errorf("lake make: ledger %d: %w", seq, err)
			}
		}
		hash, err := xdr.LedgerCloseMetaView(raw).LedgerHash()
		if err != nil {
			return fmt.Errorf("lake make: ledger %d: %w", seq, err)
		}
		prev = append(prev[:0], hash...)
		if count == 0 {
			cur = binary.BigEndian.AppendUint32(cur[:0], seq)
			cur = append(cur, 0, 0, 0, 0, 0, 0, 0, 0) // end and count, set when the file is complete
		}
		cur = append(cur, raw...)
		count++
		if seq == schema.GetSequenceNumberEndBoundary(seq) || seq == last {
			binary.BigEndian.PutUint32(cur[4:], seq)
			binary.BigEndian.PutUint32(cur[8:], count)
			select {
			case files <- file{key: schema.GetObjectKeyFromSequenceNumber(seq), body: cur}:
			case <-ctx.Done():
				return ctx.Err()
			}
			cur, count = nil, 0
		}
		written++
		if cfg.Progress != nil {
			cfg.Progress(written, last-cfg.From+1)
		}
		return nil
	}
	err = func() error {
		for src := cfg.From; src <= cfg.To; src++ {
			lcm, err := cfg.Ledger(ctx, src)
			if err != nil {
				return fmt.Errorf("lake make: source ledger %d: %w", src, err)
			}
			raw, err := lcm.MarshalBinary()
			if err != nil {
				return fmt.Errorf("lake make: source ledger %d: %w", src, err)
			}
			if cfg.FillerCount == 0 {
				prev = nil // the source's own chain: written as it is
			}
			seq := cfg.From + (src-cfg.From)*stride
			if err := emit(raw, seq, nil); err != nil {
				return err
			}
			closeTime, err := xdr.Try(func() []byte {
				entry, err := xdr.LedgerCloseMetaView(raw).LedgerHeader()
				if err != nil {
					panic(err)
				}
				return entry.MustHeader().MustScpValue().MustCloseTime().MustRaw()
			})
			if err != nil {
				return fmt.Errorf("lake make: source ledger %d: %w", src, err)
			}
			for k := uint32(1); src < cfg.To && k < stride; k++ {
				// Fillers close with the source ledger before them: close times never go back.
				if err := emit(bytes.Clone(cfg.Filler), seq+k, closeTime); err != nil {
					return err
				}
			}
			if err := failed(); err != nil {
				return err
			}
		}
		return nil
	}()
	close(files)
	wg.Wait()
	if err == nil {
		err = failed()
	}
	return res, err
}

// place gives a ledger (its XDR, changed in place) its place in the lake's hash chain: its sequence, its parent's
// hash, its close time when given, and the hash of its header so changed. The transaction set is untouched, so the
// header still commits to it. raw must be the caller's own copy.
func place(raw []byte, seq uint32, prev, closeTime []byte) ([]byte, error) {
	return xdr.Try(func() []byte {
		entry, err := xdr.LedgerCloseMetaView(raw).LedgerHeader()
		if err != nil {
			panic(err)
		}
		header := entry.MustHeader()
		binary.BigEndian.PutUint32(header.MustLedgerSeq().MustRaw(), seq)
		if prev != nil {
			copy(header.MustPreviousLedgerHash().MustRaw(), prev)
		}
		if closeTime != nil {
			copy(header.MustScpValue().MustCloseTime().MustRaw(), closeTime)
		}
		sum := sha256.Sum256(header.MustRaw())
		copy(entry.MustHash().MustRaw(), sum[:])
		return raw
	})
}
