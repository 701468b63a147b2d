//go:build linux

package bolt

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/internal/boltpages"
)

// Reading the whole log leaves few of its pages in the process's resident set: the kernel's accounting
// (/proc/self/smaps) of the file's mapping is the oracle.
func TestReadingTheLogGivesItsPagesBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := []byte(`"` + strings.Repeat("x", 1000) + `"`)
	for batch := range 40 {
		var events []eventstore.NewEvent
		for range 500 {
			events = append(events, eventstore.NewEvent{ID: uuid.NewString(), Type: "t", Data: data})
		}
		if _, err := s.AppendMany(ctx, []eventstore.StreamAppend{{Stream: "s" + strconv.Itoa(batch), Expected: eventstore.NoStream,
			Events: events}}); err != nil {
			t.Fatal(err)
		}
	}
	var read int
	for after := eventstore.Position(0); ; {
		recs, err := s.ReadAll(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		read += len(recs)
		after = recs[len(recs)-1].Position
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	rss, err := boltpages.Resident(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d events: %d KiB resident of a %d KiB file", read, rss>>10, fi.Size()>>10)
	if read != 20_000 || rss*5 > fi.Size() {
		t.Fatalf("read %d events; %d KiB of the %d KiB file stay resident", read, rss>>10, fi.Size()>>10)
	}
}
