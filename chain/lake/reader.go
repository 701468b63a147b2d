package lake

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain"
)

// maxFileBytes bounds one lake file, compressed and decompressed: a pubnet ledger is about 1.3 MB of XDR, so this
// leaves room for large batches while a hostile file cannot take the machine's memory.
const maxFileBytes = 1 << 30

// zstdMagic starts every zstd frame.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// Reader reads a lake's ledgers in sequence (chain.LedgerReader). Files are fetched, decompressed and scanned ahead
// by its workers, a bounded number of files at a time; Read hands the ledgers out in order. It is used by one
// goroutine at a time; Close stops its workers.
type Reader struct {
	lake    *Lake
	decoder *chain.Decoder
	end     uint32
	workers int

	next    uint32         // the ledger Read returns next
	pending []chain.Ledger // scanned ledgers from next on
	prev    *chain.Ledger  // the ledger before next, when read by this reader: the next must link to it
	pipe    *pipeline
}

var _ chain.LedgerReader = (*Reader)(nil)

func newReader(l *Lake, d *chain.Decoder, from, end uint32, workers int) *Reader {
	r := &Reader{lake: l, decoder: d, end: end, workers: workers}
	r.restart(from)
	return r
}

// restart positions the reader at ledger from, dropping whatever was read ahead.
func (r *Reader) restart(from uint32) {
	if r.pipe != nil {
		r.pipe.stop()
	}
	if from != r.next {
		r.prev = nil // a new position: its parent is the ingester's to check
	}
	r.next, r.pending = from, nil
	r.pipe = nil
	if from <= r.end {
		r.pipe = startPipeline(r.lake, r.decoder, from, r.end, r.workers)
	}
}

// Read returns the ledgers from from on (see chain.LedgerReader): as many as the batch rule takes, all of which the
// lake holds. Past the reader's end it waits until ctx ends. A missing or corrupt file, or ledgers that do not
// link, fail with chain.ErrBadSource naming the file and ledger: nothing of it is handed out.
func (r *Reader) Read(ctx context.Context, from uint32, maxLedgers, maxEvents int) ([]chain.Ledger, error) {
	if from != r.next {
		r.restart(from)
	}
	if from > r.end {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	var out []chain.Ledger
	events := 0
	for len(out) < maxLedgers && events < maxEvents && r.next <= r.end {
		if len(r.pending) == 0 {
			ledgers, err := r.pipe.take(ctx)
			if err != nil {
				r.restart(r.next) // the next read tries again from where this one stood, and fails the same way
				if len(out) > 0 {
					break // hand out the good ledgers before the failure first
				}
				return nil, err
			}
			r.pending = ledgers
			continue
		}
		l := r.pending[0]
		if r.prev != nil && l.PreviousHash != r.prev.Hash {
			err := fmt.Errorf("%w: %s: ledger %d (file %s) does not link to ledger %d: its previous hash is %s, ledger %d's hash is %s",
				chain.ErrBadSource, r.lake.where, l.Sequence, r.lake.schema.GetObjectKeyFromSequenceNumber(l.Sequence),
				r.prev.Sequence, l.PreviousHash, r.prev.Sequence, r.prev.Hash)
			r.restart(r.next) // the next read meets the same ledger, and fails the same way
			if len(out) > 0 {
				break // hand out the good ledgers before it first
			}
			return nil, err
		}
		r.pending = r.pending[1:]
		out = append(out, l)
		r.prev = &out[len(out)-1]
		r.next++
		events += len(l.Events)
	}
	if len(out) > 0 {
		// out's last element is r.prev: keep a copy that outlives the caller's use of out.
		last := out[len(out)-1]
		r.prev = &last
	}
	return out, nil
}

// Close stops the workers.
func (r *Reader) Close() error {
	if r.pipe != nil {
		r.pipe.stop()
		r.pipe = nil
	}
	return nil
}

// job is one lake file to read: the ledgers first..last of it that the reader wants.
type job struct {
	key         string
	first, last uint32
	done        chan struct{}
	ledgers     []chain.Ledger
	err         error
}

// pipeline fetches, decompresses and scans files on its workers; take hands the results out in file order.
type pipeline struct {
	cancel  context.CancelFunc
	ordered chan *job
	wg      sync.WaitGroup
}

func startPipeline(l *Lake, d *chain.Decoder, from, end uint32, workers int) *pipeline {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pipeline{cancel: cancel, ordered: make(chan *job, 4*workers)}
	jobs := make(chan *job, 4*workers)
	p.wg.Go(func() {
		defer close(p.ordered)
		defer close(jobs)
		for seq := from; seq <= end; {
			last := min(l.schema.GetSequenceNumberEndBoundary(seq), end)
			j := &job{key: l.schema.GetObjectKeyFromSequenceNumber(seq), first: seq, last: last, done: make(chan struct{})}
			select {
			case p.ordered <- j: // bounds the read-ahead: a file is fetched only once it has a place in order
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
			if last == end {
				return
			}
			seq = last + 1
		}
	})
	for range workers {
		p.wg.Go(func() {
			dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxFileBytes))
			if err != nil {
				panic(err) // only for invalid options
			}
			defer dec.Close()
			var compressed, plain []byte
			for j := range jobs {
				j.ledgers, compressed, plain, j.err = readFile(ctx, l, d, dec, j, compressed, plain)
				close(j.done)
			}
		})
	}
	return p
}

// take returns the next file's ledgers, in order.
func (p *pipeline) take(ctx context.Context) ([]chain.Ledger, error) {
	select {
	case j, ok := <-p.ordered:
		if !ok {
			return nil, errors.New("lake reader: read past its end")
		}
		select {
		case <-j.done:
			return j.ledgers, j.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *pipeline) stop() {
	p.cancel()
	// Unblock the dispatcher and let the workers finish the file they hold.
	for range p.ordered {
	}
	p.wg.Wait()
}

// readFile fetches, decompresses and scans one file. Buffers are reused from one file to the next.
func readFile(ctx context.Context, l *Lake, d *chain.Decoder, dec *zstd.Decoder, j *job, compressed, plain []byte) (
	[]chain.Ledger, []byte, []byte, error) {
	compressed, plain, err := fetch(ctx, l, dec, j, compressed, plain)
	if err != nil {
		return nil, compressed, plain, err
	}
	ledgers, err := scanBatch(d, plain, j)
	if err != nil {
		return nil, compressed, plain, fmt.Errorf("%w: %s: file %s: %v", chain.ErrBadSource, l.where, j.key, err)
	}
	return ledgers, compressed, plain, nil
}

// fetch reads and decompresses one file into plain, with compressed as the read buffer (both reused).
func fetch(ctx context.Context, l *Lake, dec *zstd.Decoder, j *job, compressed, plain []byte) (_, _ []byte, err error) {
	if err := ctx.Err(); err != nil {
		return compressed, plain, err
	}
	rc, _, err := l.store.GetFile(ctx, j.key)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return compressed, plain, fmt.Errorf("%w: %s: file %s (ledgers %d..%d) is missing", chain.ErrBadSource, l.where, j.key, j.first, j.last)
		}
		return compressed, plain, fmt.Errorf("lake %s: fetch %s: %w", l.where, j.key, err)
	}
	buf := bytes.NewBuffer(compressed[:0])
	_, err = buf.ReadFrom(io.LimitReader(rc, maxFileBytes+1))
	rc.Close()
	if err != nil {
		return compressed, plain, fmt.Errorf("lake %s: fetch %s: %w", l.where, j.key, err)
	}
	compressed = buf.Bytes()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: file %s: %s", chain.ErrBadSource, l.where, j.key, fmt.Sprintf(format, args...))
	}
	if len(compressed) > maxFileBytes {
		return compressed, plain, bad("larger than %d bytes", maxFileBytes)
	}
	if !bytes.HasPrefix(compressed, zstdMagic) {
		return compressed, plain, bad("not zstd-compressed")
	}
	if plain, err = dec.DecodeAll(compressed, plain[:0]); err != nil {
		return compressed, plain, bad("corrupt zstd data: %v", err)
	}
	return compressed, plain, nil
}

// scanBatch scans the ledgers j wants from a decompressed LedgerCloseMetaBatch. The file must hold exactly the
// ledgers its name says, in sequence.
func scanBatch(d *chain.Decoder, plain []byte, j *job) ([]chain.Ledger, error) {
	batch := xdr.LedgerCloseMetaBatchView(plain)
	var start, end uint32
	var metas xdr.LedgerCloseMetaBatchLedgerCloseMetasView
	err := xdr.TryVoid(func() {
		start, end = batch.MustStartSequence().MustValue(), batch.MustEndSequence().MustValue()
		metas = batch.MustLedgerCloseMetas()
	})
	if err != nil {
		return nil, fmt.Errorf("not a LedgerCloseMetaBatch: %v", err)
	}
	if j.first < start || j.last > end {
		return nil, fmt.Errorf("holds ledgers %d..%d, not %d..%d", start, end, j.first, j.last)
	}
	if end < start {
		return nil, fmt.Errorf("its header says ledgers %d..%d", start, end)
	}
	// Offsets of each ledger, so that each is scanned as its exact bytes. A file of one ledger (the usual layout)
	// holds it from after the array's count to its end: finding the end of a ledger walks all of it.
	var offsets []int
	if len(metas) >= 4 && binary.BigEndian.Uint32(metas) == 1 {
		offsets = []int{len(plain) - len(metas) + 4}
	} else {
		for v, err := range metas.Iter() {
			if err != nil {
				return nil, fmt.Errorf("ledger %d of the batch: %v", start+uint32(len(offsets)), err)
			}
			offsets = append(offsets, len(plain)-len(v))
		}
	}
	if uint32(len(offsets)) != end-start+1 {
		return nil, fmt.Errorf("holds %d ledgers, its header says %d..%d", len(offsets), start, end)
	}
	out := make([]chain.Ledger, 0, j.last-j.first+1)
	for seq := j.first; seq <= j.last; seq++ {
		i := int(seq - start)
		stop := len(plain)
		if i+1 < len(offsets) {
			stop = offsets[i+1]
		}
		l, err := d.Scan(plain[offsets[i]:stop:stop])
		if err != nil {
			return nil, fmt.Errorf("ledger %d: %v", seq, err)
		}
		if l.Sequence != seq {
			return nil, fmt.Errorf("holds ledger %d where ledger %d belongs", l.Sequence, seq)
		}
		if n := len(out); n > 0 && l.PreviousHash != out[n-1].Hash {
			return nil, fmt.Errorf("ledger %d does not link to ledger %d", seq, seq-1)
		}
		out = append(out, l)
	}
	return out, nil
}
