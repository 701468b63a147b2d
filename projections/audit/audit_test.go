package audit

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/eventstore/memory"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/internal/simtest"
	"github.com/streamledger/streamledger/projections"
	"github.com/streamledger/streamledger/projections/streams"
)

func filled(t testing.TB) (*memory.Store, *Memory) {
	t.Helper()
	store := memory.New()
	simtest.Ingest(t, sim.Config{Seed: 4, Streams: 6, TxPerLedger: 3, Ledgers: 80, Reorgs: true, ReorgEvery: 8, ReorgDepth: 2}, 2, store)
	log := NewMemory(streams.NewAnomalies(store))
	simtest.CatchUp(t, store, log, 9)
	return store, log
}

func TestEntriesCoverEveryAction(t *testing.T) {
	_, log := filled(t)
	seen := map[string]int{}
	for i, e := range entriesOf(t, log, 0, log.Size()) {
		if e.Seq != int64(i) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
		seen[e.Action]++
	}
	for _, a := range []string{ActionApplied, ActionReverted, ActionObserved} {
		if seen[a] == 0 {
			t.Fatalf("no %s entry: %v", a, seen)
		}
	}
}

func TestProofs(t *testing.T) {
	_, log := filled(t)
	head, err := log.Head()
	if err != nil {
		t.Fatal(err)
	}
	all := entriesOf(t, log, 0, head.Size)
	for _, seq := range []int64{0, 1, head.Size / 2, head.Size - 1} {
		proof, err := log.InclusionProof(context.Background(), seq, head.Size)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := all[seq].LeafHash()
		if err := VerifyInclusion(head, seq, leaf, proof); err != nil {
			t.Fatalf("entry %d: %v", seq, err)
		}
		// A tampered leaf does not verify.
		changed := all[seq]
		changed.Summary += " "
		bad, _ := changed.LeafHash()
		if VerifyInclusion(head, seq, bad, proof) == nil {
			t.Fatalf("a tampered entry %d verified", seq)
		}
	}
	// Consistency between every earlier size and now.
	for _, older := range []int64{1, 2, head.Size / 3, head.Size - 1, head.Size} {
		proof, err := log.ConsistencyProof(context.Background(), older, head.Size)
		if err != nil {
			t.Fatal(err)
		}
		old := Checkpoint{Origin: Origin, Size: older, Root: rootOf(t, all[:older])}
		if err := VerifyConsistency(old, head, proof); err != nil {
			t.Fatalf("size %d: %v", older, err)
		}
	}
	if _, err := log.InclusionProof(context.Background(), head.Size, head.Size); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("proof past the end: %v", err)
	}
}

// rootOf recomputes a tree's root from entries alone, as an auditor holding an export does.
func rootOf(t *testing.T, entries []Entry) tlog.Hash {
	t.Helper()
	var hashes []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for i := range entries {
		leaf, err := entries[i].Leaf()
		if err != nil {
			t.Fatal(err)
		}
		hs, err := tlog.StoredHashes(int64(i), leaf, reader)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hs...)
	}
	root, err := tlog.TreeHash(int64(len(entries)), reader)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestTamperingIsDetected recomputes the root of an export: untouched it matches the signed head; a changed, a
// removed, or a swapped entry gives another root.
func TestTamperingIsDetected(t *testing.T) {
	_, log := filled(t)
	head, _ := log.Head()
	all := entriesOf(t, log, 0, head.Size)
	if rootOf(t, all) != head.Root {
		t.Fatal("the untouched entries do not give the head's root")
	}
	changed := append([]Entry(nil), all...)
	changed[5].Summary += " (edited)"
	removed := append(append([]Entry(nil), all[:7]...), all[8:]...)
	swapped := append([]Entry(nil), all...)
	swapped[10], swapped[11] = swapped[11], swapped[10]
	for name, es := range map[string][]Entry{"changed": changed, "removed": removed, "swapped": swapped} {
		if rootOf(t, es) == head.Root {
			t.Fatalf("a %s entry gives the same root", name)
		}
	}
}

func TestSignedCheckpoints(t *testing.T) {
	_, log := filled(t)
	dir := t.TempDir()
	signer, vkey, err := LoadOrCreateKey(filepath.Join(dir, KeyFile), "streamledger-test")
	if err != nil {
		t.Fatal(err)
	}
	again, vkey2, err := LoadOrCreateKey(filepath.Join(dir, KeyFile), "other-name-ignored")
	if err != nil || vkey2 != vkey || again.KeyHash() != signer.KeyHash() {
		t.Fatalf("the key was not kept: %v", err)
	}
	head, _ := log.Head()
	signed, err := head.Sign(signer)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := OpenCheckpoint(signed, vkey)
	if err != nil || opened != head {
		t.Fatalf("open: %+v %v", opened, err)
	}
	// A forged checkpoint: another root under the same signature, or another key's signature.
	forged := []byte(string(signed))
	copy(forged[len(Origin)+1:], "9")
	if _, err := OpenCheckpoint(forged, vkey); !errors.Is(err, ErrBadCheckpoint) {
		t.Fatalf("forged size accepted: %v", err)
	}
	otherKey, _, _ := note.GenerateKey(nil, "streamledger-test")
	otherSigner, _ := note.NewSigner(otherKey)
	other, _ := head.Sign(otherSigner)
	if _, err := OpenCheckpoint(other, vkey); !errors.Is(err, ErrBadCheckpoint) {
		t.Fatalf("another key's checkpoint accepted: %v", err)
	}
}

// TestAuditRebuildIsIdentical: a log rebuilt from zero in other batch sizes has the same root.
func TestAuditRebuildIsIdentical(t *testing.T) {
	store, log := filled(t)
	head, _ := log.Head()
	again := NewMemory(streams.NewAnomalies(store))
	simtest.CatchUp(t, store, again, 1000)
	if h, _ := again.Head(); h != head {
		t.Fatalf("rebuilt head %+v, live %+v", h, head)
	}
}

func TestParseKeyDerivesTheVerifierKey(t *testing.T) {
	for range 64 { // enough keys that some hold '+' in their base64
		skey, vkey, err := note.GenerateKey(nil, "streamledger-test")
		if err != nil {
			t.Fatal(err)
		}
		if _, got, err := ParseKey(skey); err != nil || got != vkey {
			t.Fatalf("%s: verifier %q, want %q (%v)", skey, got, vkey, err)
		}
	}
	if _, _, err := ParseKey("not a key"); err == nil {
		t.Fatal("garbage accepted")
	}
}

// TestPostgresEqualsMemory: the PostgreSQL log holds the same entries and root as the memory one, and proves
// inclusion and consistency against it: with its hashes in tiles, and in a row per hash as generations made before
// tiles keep them. Batches of 13 entries end inside tiles, so partial tiles are read back and rewritten.
func TestPostgresEqualsMemory(t *testing.T) {
	url := pgtest.URL(t)
	store, mem := filled(t)
	ctx := context.Background()
	for _, tiled := range []bool{true, false} {
		t.Run(map[bool]string{true: "tiles", false: "rows"}[tiled], func(t *testing.T) {
			pool, schema := pgtest.Pool(t, url), pgtest.Schema(t, url)
			if !tiled {
				if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()+`;
CREATE TABLE `+pgx.Identifier{schema, "audit_hashes_g1"}.Sanitize()+` (idx bigint PRIMARY KEY, hash bytea NOT NULL)`); err != nil {
					t.Fatal(err)
				}
			}
			pg, err := OpenPostgres(ctx, pool, schema, 1, streams.AuditFoldsOn(store))
			if err != nil {
				t.Fatal(err)
			}
			simtest.CatchUp(t, store, pg, 13)
			var tiles int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "audit_tiles_g1"}.Sanitize()).Scan(&tiles); (err == nil) != tiled {
				t.Fatalf("tiled %v: %d tiles (%v)", tiled, tiles, err)
			}
			want, _ := mem.Head()
			got, err := pg.Head(ctx)
			if err != nil || got != want {
				t.Fatalf("head %+v, memory %+v (%v)", got, want, err)
			}
			if got.Size < 4*(1<<TileHeight) {
				t.Fatalf("a log of %d entries does not reach the second level of tiles", got.Size)
			}
			es, err := pg.Entries(ctx, 0, got.Size)
			if err != nil || !reflect.DeepEqual(es, entriesOf(t, mem, 0, want.Size)) {
				t.Fatalf("entries differ (%v)", err)
			}
			for seq := int64(0); seq < got.Size; seq += 7 {
				proof, err := pg.InclusionProof(ctx, seq, got.Size)
				if err != nil {
					t.Fatal(err)
				}
				leaf, _ := es[seq].LeafHash()
				if err := VerifyInclusion(want, seq, leaf, proof); err != nil {
					t.Fatalf("entry %d: %v", seq, err)
				}
			}
			for _, older := range []int64{1, 3, 1 << TileHeight, got.Size - 1} {
				tp, err := pg.ConsistencyProof(ctx, older, got.Size)
				if err != nil {
					t.Fatal(err)
				}
				if err := VerifyConsistency(Checkpoint{Origin: Origin, Size: older, Root: rootOf(t, es[:older])}, want, tp); err != nil {
					t.Fatalf("from %d: %v", older, err)
				}
			}
			if _, err := pg.InclusionProof(ctx, 0, got.Size+1); !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("proof past the end: %v", err)
			}
		})
	}
}

// TestFoldsSnapshotAcrossRestarts: the audit log keeps its stream folds in memory and writes them only as a
// snapshot now and then, so a projection that starts again (here: a new instance every 37 events, batches of 13)
// folds the events since the snapshot from the log again. Its entries, anomalies included, equal the memory log's
// whether the snapshot is taken often, never (every start folds the whole log again), or with every batch, as
// generations made before snapshots keep doing. A start that trusted a stale snapshot would see streams it does
// not know and report anomalies the memory log does not have.
func TestFoldsSnapshotAcrossRestarts(t *testing.T) {
	url := pgtest.URL(t)
	store, mem := filled(t)
	ctx := context.Background()
	head, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := entriesOf(t, mem, 0, mem.Size())
	anomalies := 0
	for _, e := range want {
		if e.Action == ActionAnomaly {
			anomalies++
		}
	}
	for _, tc := range []struct {
		name          string
		snapshotEvery eventstore.Position
		everyBatch    bool
	}{{"often", 50, false}, {"never", 1 << 40, false}, {"every batch", 0, true}} {
		t.Run(tc.name, func(t *testing.T) {
			pool, schema := pgtest.Pool(t, url), pgtest.Schema(t, url)
			folds := pgx.Identifier{schema, "audit_folds_g1"}.Sanitize()
			if tc.everyBatch {
				if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()+`;
CREATE TABLE `+folds+` (ref text COLLATE "C" PRIMARY KEY, state json NOT NULL)`); err != nil {
					t.Fatal(err)
				}
			}
			for target := eventstore.Position(37); ; target += 37 {
				pg, err := OpenPostgres(ctx, pool, schema, 1, foldsEvery(store, tc.snapshotEvery))
				if err != nil {
					t.Fatal(err)
				}
				r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: pg, BatchSize: 13})
				if err != nil {
					t.Fatal(err)
				}
				if err := r.CatchUpTo(ctx, min(target, head)); err != nil {
					t.Fatal(err)
				}
				if target < head {
					continue
				}
				got, err := pg.Entries(ctx, 0, int64(len(want))+1)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("%d entries (%v), memory has %d (%d anomalies)", len(got), err, len(want), anomalies)
				}
				break
			}
			var stored int
			var at int64
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+folds).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			err = pool.QueryRow(ctx, `SELECT position FROM `+pgx.Identifier{schema, "audit_folds_at_g1"}.Sanitize()).Scan(&at)
			switch {
			case tc.everyBatch && (err == nil || stored != cachedFolds(mem)):
				t.Fatalf("a generation from before snapshots holds %d folds, memory %d (snapshot position: %v)", stored, cachedFolds(mem), err)
			case tc.everyBatch:
			case err != nil:
				t.Fatal(err)
			case tc.snapshotEvery > eventstore.Position(head) && (stored != 0 || at != 0):
				t.Fatalf("a snapshot was taken: %d folds at %d", stored, at)
			case tc.snapshotEvery < eventstore.Position(head) && (stored == 0 || at == 0):
				t.Fatalf("no snapshot was taken: %d folds at %d", stored, at)
			}
		})
	}
}

// TestFailedBatchesLeaveNoTrace: batches that fail after writing everything, the folds snapshot included, roll
// back; the projection, keeping its instance, applies them again (its folds are gone from memory with the failed
// batch, so it folds from the stored snapshot), and its entries equal the memory log's.
func TestFailedBatchesLeaveNoTrace(t *testing.T) {
	url := pgtest.URL(t)
	store, mem := filled(t)
	ctx := context.Background()
	for _, snapshotEvery := range []eventstore.Position{1, 40, 1 << 40} {
		t.Run(fmt.Sprint(snapshotEvery), func(t *testing.T) {
			pg, err := OpenPostgres(ctx, pgtest.Pool(t, url), pgtest.Schema(t, url), 1, foldsEvery(store, snapshotEvery))
			if err != nil {
				t.Fatal(err)
			}
			batches, failed := 0, 0
			pg.beforeCommit = func() error {
				if batches++; batches%3 == 0 {
					failed++
					return errors.New("injected failure before the commit")
				}
				return nil
			}
			r, err := projections.NewRunner(projections.RunnerConfig{Codec: fluxora.NewCodec(), Store: store, Projection: pg, BatchSize: 11})
			if err != nil {
				t.Fatal(err)
			}
			for attempts := 0; ; attempts++ {
				err := r.CatchUp(ctx)
				if err == nil {
					break
				}
				if attempts > 1000 || !strings.Contains(err.Error(), "injected failure") {
					t.Fatalf("after %d attempts: %v", attempts, err)
				}
			}
			want := entriesOf(t, mem, 0, mem.Size())
			got, err := pg.Entries(ctx, 0, int64(len(want))+1)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%d entries (%v), memory has %d", len(got), err, len(want))
			}
			if failed < 5 {
				t.Fatalf("only %d batches failed", failed)
			}
		})
	}
}

// TestAnomaliesAndOperatorActions: a withdrawal on a stream the log never saw created is applied as the chain
// reported it, and the audit log records the anomaly right after it; registering a webhook endpoint is an operator
// action.
func TestAnomaliesAndOperatorActions(t *testing.T) {
	store := memory.New()
	ctx := context.Background()
	appendEvent := func(stream string, id string, e domain.Event) {
		t.Helper()
		data, err := domain.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, stream, eventstore.Any, eventstore.NewEvent{ID: id, Type: string(e.Type()), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	const contract = domain.Address("CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP")
	w := &fluxora.StreamWithdrawn{ChainMeta: domain.ChainMeta{ContractID: contract, Ledger: 7, LedgerClosedAt: time.Unix(1767225600, 0).UTC()},
		StreamID: 9, Recipient: "GAZDGNBVGY3TQOJ2HM6D2PR7IBAUEQ2EIVDEOSCJJJFUYTKOJ5IFDANM", Amount: domain.NewAmount(5)}
	appendEvent(fluxora.StreamRef{ContractID: contract, StreamID: w.StreamID}.StoreStream(), domain.DerivedEventUUID("t", "w"), w)
	appendEvent(domain.WebhookEndpointsStream, domain.DerivedEventUUID("t", "ep"), &domain.WebhookEndpointAdded{EndpointID: "e1", URL: "https://example.com"})
	log := NewMemory(streams.NewAnomalies(store))
	simtest.CatchUp(t, store, log, 10)
	es := entriesOf(t, log, 0, log.Size())
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action)
	}
	if fmt.Sprint(actions) != fmt.Sprint([]string{ActionApplied, ActionAnomaly, ActionOperator}) {
		t.Fatalf("actions %v", actions)
	}
	if an := es[1]; an.EventID != es[0].EventID || !strings.Contains(an.Summary, "anomaly") || an.Amounts != nil {
		t.Fatalf("anomaly entry %+v", an)
	}
	if es[0].Amounts["amount"] != domain.NewAmount(5) || es[0].StreamID == nil || *es[0].StreamID != 9 {
		t.Fatalf("applied entry %+v", es[0])
	}
}

type countingQuerier struct {
	querier
	queries int
}

func (c *countingQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.queries++
	return c.querier.Query(ctx, sql, args...)
}

// TestTileReaderReadsEachTileOnce: an append asks for the same partial tiles again and again; one reader (one
// transaction) fetches each tile once, and still refuses a hash that no stored tile holds.
func TestTileReaderReadsEachTileOnce(t *testing.T) {
	url := pgtest.URL(t)
	store, _ := filled(t)
	ctx := context.Background()
	pool := pgtest.Pool(t, url)
	pg, err := OpenPostgres(ctx, pool, pgtest.Schema(t, url), 1, streams.AuditFoldsOn(store))
	if err != nil {
		t.Fatal(err)
	}
	simtest.CatchUp(t, store, pg, 13)
	head, err := pg.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q := &countingQuerier{querier: pool}
	r := pg.tileReader(ctx, q)
	last := tlog.StoredHashCount(head.Size) - 1
	first, err := r.ReadHashes([]int64{0, 1, last})
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.ReadHashes([]int64{last, 1, 0})
	if err != nil || again[0] != first[2] || again[2] != first[0] {
		t.Fatalf("read again: %v", err)
	}
	if q.queries != 1 {
		t.Fatalf("%d queries for tiles read before", q.queries)
	}
	if _, err := r.ReadHashes([]int64{last + 1}); err == nil {
		t.Fatal("a hash past the log was read")
	}
	root, err := tlog.TreeHash(head.Size, r)
	if err != nil || root != head.Root {
		t.Fatalf("root from the cached tiles differs (%v)", err)
	}
}

// entriesOf reads entries [from, to) of a log in memory.
func entriesOf(t testing.TB, log *Memory, from, to int64) []Entry {
	t.Helper()
	es, err := log.Entries(from, to)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// A log kept in scratch files holds what the log in memory holds, and its root is RFC 6962's Merkle tree hash
// computed here from the leaves by the definition (MTH, section 2.1), not by tlog.
func TestScratchLogMatchesTheDefinition(t *testing.T) {
	store, mem := filled(t)
	dir := t.TempDir()
	log, err := NewScratch(streams.NewAnomalies(store), dir)
	if err != nil {
		t.Fatal(err)
	}
	simtest.CatchUp(t, store, log, 4)
	leaves, err := log.Leaves(0, log.Size())
	if err != nil {
		t.Fatal(err)
	}
	want, err := mem.Leaves(0, mem.Size())
	if err != nil || !reflect.DeepEqual(leaves, want) || len(leaves) < 100 {
		t.Fatalf("%d leaves in files, %d in memory (%v)", len(leaves), len(want), err)
	}
	var mth func(leaves [][]byte) [32]byte
	mth = func(leaves [][]byte) [32]byte {
		if len(leaves) == 1 {
			return sha256.Sum256(append([]byte{0}, leaves[0]...))
		}
		k := 1
		for k*2 < len(leaves) {
			k *= 2
		}
		l, r := mth(leaves[:k]), mth(leaves[k:])
		return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
	}
	for _, size := range []int64{1, 2, 3, 7, 64, 65, log.Size()} {
		var cut Checkpoint
		err := log.Snapshot(context.Background(), size, func(v View) error {
			root, err := tlog.TreeHash(v.Size(), v.Hashes())
			cut = Checkpoint{Size: v.Size(), Root: root}
			return err
		})
		if err != nil || cut.Root != tlog.Hash(mth(leaves[:size])) {
			t.Fatalf("root of the first %d entries: %x (%v), want %x", size, cut.Root, err, mth(leaves[:size]))
		}
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("Close left %v", left)
	}
}

// A log whose cache of stream states holds two streams (so that nearly every stream is replayed from the log when
// its next event comes) writes the same entries as one that keeps every state, through reorgs and then through
// withdrawals beyond what each stream holds, whose anomalies state what the stream held.
func TestFoldCacheMissesReplayTheSameState(t *testing.T) {
	store, full := filled(t)
	smallFolds := streams.NewAnomalies(store)
	smallFolds.MaxCached = 2
	small := NewMemory(smallFolds)
	simtest.CatchUp(t, store, small, 7)
	cached := smallFolds.Cached()
	ctx := context.Background()
	n := 0
	fullFolds := full.anomalies.(*streams.Anomalies)
	for _, ref := range fullFolds.Refs() {
		state, _ := fullFolds.State(ref)
		w := &fluxora.StreamWithdrawn{ChainMeta: domain.ChainMeta{ContractID: ref.ContractID, Ledger: 10_000,
			LedgerClosedAt: time.Unix(1_900_000_000, 0).UTC(), EventIndex: uint32(n)},
			StreamID: ref.StreamID, Recipient: state.Recipient, Amount: domain.NewAmount(1 << 62)}
		data, err := domain.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, ref.StoreStream(), eventstore.Any, eventstore.NewEvent{ID: domain.DerivedEventUUID("t", ref.String()),
			Type: string(w.Type()), Data: data}); err != nil {
			t.Fatal(err)
		}
		n++
	}
	simtest.CatchUp(t, store, small, 7)
	simtest.CatchUp(t, store, full, 7)
	if cached+4 > n {
		t.Fatalf("%d folds cached in the small log for %d streams: too few withdrawals meet a replayed state", cached, n)
	}
	got, err := small.Leaves(0, small.Size())
	if err != nil {
		t.Fatal(err)
	}
	want, err := full.Leaves(0, full.Size())
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%d entries with a small cache, %d with a full one (%v)", len(got), len(want), err)
	}
	anomalies := 0
	for _, e := range entriesOf(t, small, 0, small.Size()) {
		if e.Action == ActionAnomaly {
			anomalies++
		}
	}
	if anomalies < n {
		t.Fatalf("%d anomalies for %d withdrawals beyond the deposit", anomalies, n)
	}
}

// foldsEvery opens the stream folds of an audit log generation with a snapshot every every events.
func foldsEvery(log streams.AuditLog, every eventstore.Position) func(context.Context, *pgxpool.Pool, string, string) (*streams.AuditFolds, error) {
	return func(ctx context.Context, pool *pgxpool.Pool, schema, suffix string) (*streams.AuditFolds, error) {
		f, err := streams.OpenAuditFolds(ctx, pool, schema, suffix, log)
		if err == nil {
			f.SnapshotEvery = every
		}
		return f, err
	}
}

// cachedFolds is how many stream states the memory log's anomaly detection holds.
func cachedFolds(m *Memory) int { return m.anomalies.(*streams.Anomalies).Cached() }
