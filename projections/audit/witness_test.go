package audit

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections/streams"
)

// testWitness is a C2SP tlog-witness in the test process: it knows one log (origin and key), keeps the latest
// checkpoint it cosigned, and answers add-checkpoint as the spec says (404, 403, 400, 409, 422, or cosignatures).
type testWitness struct {
	logKey note.Verifier
	signer note.Signer
	vkey   string

	mu   sync.Mutex
	size int64
	root tlog.Hash
}

func newTestWitness(t *testing.T, name, logVkey string) *testWitness {
	t.Helper()
	skey, vkey, err := note.GenerateKey(nil, name)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(logVkey)
	if err != nil {
		t.Fatal(err)
	}
	return &testWitness{logKey: v, signer: signer, vkey: vkey}
}

func (w *testWitness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/add-checkpoint" {
		http.NotFound(rw, r)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Scan()
	oldRaw, ok := strings.CutPrefix(sc.Text(), "old ")
	old, err := strconv.ParseInt(oldRaw, 10, 64)
	if !ok || err != nil {
		http.Error(rw, "bad old size", http.StatusBadRequest)
		return
	}
	var proof tlog.TreeProof
	for sc.Scan() && sc.Text() != "" {
		h, err := base64.StdEncoding.DecodeString(sc.Text())
		if err != nil || len(h) != 32 {
			http.Error(rw, "bad proof line", http.StatusBadRequest)
			return
		}
		proof = append(proof, tlog.Hash(h))
	}
	cpStart := strings.Index(string(raw), "\n\n") + 2
	n, err := note.Open(raw[cpStart:], note.VerifierList(w.logKey))
	if err != nil {
		var unknown *note.UnverifiedNoteError
		if errors.As(err, &unknown) {
			http.Error(rw, "unknown log", http.StatusNotFound)
		} else {
			http.Error(rw, err.Error(), http.StatusForbidden)
		}
		return
	}
	lines := strings.Split(n.Text, "\n")
	if lines[0] != Origin {
		http.Error(rw, "unknown origin", http.StatusNotFound)
		return
	}
	size, _ := strconv.ParseInt(lines[1], 10, 64)
	rootRaw, _ := base64.StdEncoding.DecodeString(lines[2])
	root := tlog.Hash(rootRaw)
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case old > size:
		http.Error(rw, "old size beyond the checkpoint", http.StatusBadRequest)
		return
	case old != w.size:
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", w.size)
		return
	case old == 0 && len(proof) > 0, old == size && root != w.root:
		http.Error(rw, "inconsistent", http.StatusUnprocessableEntity)
		return
	case old > 0 && old < size && tlog.CheckTree(proof, size, root, old, w.root) != nil:
		http.Error(rw, "not consistent with what I cosigned", http.StatusUnprocessableEntity)
		return
	}
	w.size, w.root = size, root
	cosigned, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	_, sig, _ := strings.Cut(string(cosigned), "\n\n")
	io.WriteString(rw, sig)
}

// witnessedLog is a memory audit log of a simulated network of n ledgers.
func witnessedLog(t *testing.T, seed uint64, ledgers uint32) *Memory {
	t.Helper()
	store := memory.New()
	simtest.Ingest(t, sim.Config{Seed: seed, Streams: 5, TxPerLedger: 3, Ledgers: ledgers}, 1, store)
	log := NewMemory(streams.NewAnomalies(store))
	simtest.CatchUp(t, store, log, 100)
	return log
}

// The log sends its checkpoints to two witnesses and keeps their cosignatures: a new process learns each witness's
// size from its 409 and proves consistency from there; a log that forked is refused by the witness it lied to and
// keeps its last witnessed checkpoint; RequireCosignatures demands every named witness.
func TestWitnessesCosignTheCheckpoints(t *testing.T) {
	ctx := context.Background()
	skey, vkey, err := note.GenerateKey(nil, "streamledger")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	w1, w2 := newTestWitness(t, "witness1.example", vkey), newTestWitness(t, "witness2.example", vkey)
	s1, s2 := httptest.NewServer(w1), httptest.NewServer(w2)
	defer s1.Close()
	defer s2.Close()
	store := FileWitnessStore{Path: filepath.Join(t.TempDir(), WitnessedFile)}
	witnesser := func(log WitnessedLog) *Witnesser {
		return &Witnesser{URLs: []string{s1.URL, s2.URL}, Log: log, Signer: signer, Store: store, Client: http.DefaultClient,
			Logger: slog.New(slog.DiscardHandler)}
	}
	long := witnessedLog(t, 3, 60)
	short := prefixLog{long, long.Size() / 2}
	if err := witnesser(short).Submit(ctx); err != nil {
		t.Fatal(err)
	}
	saved, _ := store.Load(ctx)
	if err := RequireCosignatures(saved, vkey, []string{w1.vkey, w2.vkey}); err != nil {
		t.Fatalf("after the first round: %v\n%s", err, saved)
	}
	if w1.size != short.size || w2.size != short.size {
		t.Fatalf("witnesses at %d and %d, the log at %d", w1.size, w2.size, short.size)
	}

	// The log grown: a fresh process (it knows no witness's size) gets 409s, then proves consistency.
	if err := witnesser(long).Submit(ctx); err != nil {
		t.Fatal(err)
	}
	saved, _ = store.Load(ctx)
	if size, _ := noteSize(saved); size != long.Size() || w1.size != long.Size() {
		t.Fatalf("saved size %d, witness at %d, log at %d", size, w1.size, long.Size())
	}
	if err := RequireCosignatures(saved, vkey, []string{w1.vkey, w2.vkey}); err != nil {
		t.Fatal(err)
	}
	_, stranger, _ := note.GenerateKey(nil, "witness3.example")
	if err := RequireCosignatures(saved, vkey, []string{w1.vkey, stranger}); !errors.Is(err, ErrNotWitnessed) {
		t.Fatalf("a witness that did not cosign: %v", err)
	}

	// Another history under the same key, longer still: the witnesses refuse it, and the witnessed checkpoint stays.
	forked := witnessedLog(t, 99, 90)
	if forked.Size() <= long.Size() {
		t.Fatalf("the fork has %d entries, not more than %d", forked.Size(), long.Size())
	}
	err = witnesser(forked).Submit(ctx)
	if err == nil || !strings.Contains(err.Error(), "422") {
		t.Fatalf("a forked log: %v", err)
	}
	if after, _ := store.Load(ctx); string(after) != string(saved) || w1.size != long.Size() {
		t.Fatalf("the fork replaced the witnessed checkpoint (witness at %d)", w1.size)
	}
}

// prefixLog is a log as it was at size entries.
type prefixLog struct {
	*Memory
	size int64
}

func (l prefixLog) Snapshot(ctx context.Context, treeSize int64, fn func(View) error) error {
	if treeSize == 0 {
		treeSize = l.size
	}
	return l.Memory.Snapshot(ctx, treeSize, fn)
}

// On PostgreSQL the witnessed checkpoint only grows: two serves witnessing at once cannot put an older checkpoint
// back over a newer one.
func TestPGWitnessStoreOnlyGrows(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	s, err := OpenPGWitnessStore(ctx, pgtest.Pool(t, url), pgtest.Schema(t, url))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load(ctx); err != nil || got != nil {
		t.Fatalf("empty: %q %v", got, err)
	}
	note := func(size int) []byte {
		return []byte(fmt.Sprintf("%s\n%d\nroot\n\n— streamledger sig\n", Origin, size))
	}
	for _, size := range []int{10, 30, 20} {
		if err := s.Save(ctx, note(size)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Load(ctx); err != nil || string(got) != string(note(30)) {
		t.Fatalf("after sizes 10, 30, 20: %q %v", got, err)
	}
	if err := s.Save(ctx, []byte("not a checkpoint")); err == nil {
		t.Fatal("a note without a size was saved")
	}
}
