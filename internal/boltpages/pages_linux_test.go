package boltpages

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	bbolt "go.etcd.io/bbolt"
)

// Writing random keys touches pages all over the file, and the kernel maps the neighbours of every page a fault
// brings in (fault-around): after enough writes most of the file is resident. With a Releaser only what was touched
// since its last release is. The kernel's accounting (/proc/self/smaps) is the oracle, and the same writes without a
// Releaser are the control.
func TestReleaserBoundsTheResidentPages(t *testing.T) {
	write := func(t *testing.T, release bool) (resident, size int64) {
		path := filepath.Join(t.TempDir(), "random.db")
		db, err := bbolt.Open(path, 0o600, &bbolt.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		r := NewReleaser(db, 1_000_000) // every fifth transaction
		value := make([]byte, 400)
		for range 100 { // the last release comes right after the last write
			err := db.Update(func(tx *bbolt.Tx) error {
				b, err := tx.CreateBucketIfNotExists([]byte("b"))
				if err != nil {
					return err
				}
				for range 500 {
					if err := b.Put([]byte(rand.Text()), value); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if release {
				if err := r.Touched(500 * len(value)); err != nil {
					t.Fatal(err)
				}
			}
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		resident, err = Resident(path)
		if err != nil {
			t.Fatal(err)
		}
		return resident, fi.Size()
	}
	kept, size := write(t, false)
	released, _ := write(t, true)
	t.Logf("a %d MiB file: %d MiB resident without a releaser, %d MiB with one", size>>20, kept>>20, released>>20)
	if kept*2 < size {
		t.Fatalf("the control kept only %d of %d bytes resident: the test measures nothing", kept, size)
	}
	if released*4 > size {
		t.Fatalf("%d of %d bytes stay resident with a releaser", released, size)
	}
}
