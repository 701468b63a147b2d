package lake_test

import (
	"context"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stellar/go-stellar-sdk/support/datastore"

	"github.com/streamledger/streamledger/chain/lake"
)

// TestS3Lake: a lake in an S3-compatible store (an S3 server in this process, on loopback), written and read
// through the SDK's S3 datastore, reads as the same lake on the filesystem does.
func TestS3Lake(t *testing.T) {
	// The SDK's AWS client takes credentials from the environment; never from this machine's files or from an
	// instance metadata service (which is not on loopback).
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty, "AWS_PROFILE": "", "AWS_REGION": "", "AWS_ENDPOINT_URL": ""} {
		t.Setenv(k, v)
	}
	backend := s3mem.New()
	if err := backend.CreateBucket("history"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	ctx := context.Background()

	c := simChain(t, 30)
	dir, res := makeLake(t, c, 4, nil, 0)
	url := "s3://history/pubnet/v1?region=us-east-1&endpoint=" + srv.URL
	cfg, err := lake.Config(url)
	if err != nil {
		t.Fatal(err)
	}
	s3, err := datastore.NewDataStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	files := 0
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files++
		return s3.PutFile(ctx, filepath.ToSlash(rel), strings.NewReader(string(raw)), nil)
	})
	if err != nil {
		t.Fatal(err)
	}

	l, err := lake.Open(ctx, url, passphrase)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.First() != res.First || l.Last() != res.Last {
		t.Fatalf("the S3 lake holds %d..%d, %d..%d were written (%d files)", l.First(), l.Last(), res.First, res.Last, files)
	}
	fsLake, err := lake.Open(ctx, "file://"+dir, passphrase)
	if err != nil {
		t.Fatal(err)
	}
	defer fsLake.Close()
	d := decoder(t, c)
	r1, err := l.Reader(d, res.First, res.Last, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := fsLake.Reader(d, res.First, res.Last, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	fromS3, fromFS := readAll(t, r1, res.First, res.Last, 9), readAll(t, r2, res.First, res.Last, 9)
	if len(fromS3) != int(res.Last-res.First+1) || len(fromS3) != len(fromFS) {
		t.Fatalf("read %d ledgers from S3, %d from the filesystem", len(fromS3), len(fromFS))
	}
	events := 0
	for i := range fromS3 {
		a, b := fromS3[i], fromFS[i]
		if a.Sequence != b.Sequence || a.Hash != b.Hash || len(a.Events) != len(b.Events) {
			t.Fatalf("ledger %d differs", a.Sequence)
		}
		events += len(a.Events)
	}
	if events == 0 {
		t.Fatal("no events: the fixture needs some")
	}
	// A missing bucket is said at start.
	if _, err := lake.Open(ctx, "s3://nothing/here?region=us-east-1&endpoint="+srv.URL, passphrase); err == nil || !strings.Contains(err.Error(), "nothing") {
		t.Fatalf("missing bucket: %v", err)
	}
}
