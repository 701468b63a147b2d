package webhooks

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamledger/streamledger/webhooks/signature"
)

// BenchmarkDeliver measures signed deliveries to a local receiver that verifies each one, through the worker
// and each queue: claim, sign, POST, verify, record the attempt.
func BenchmarkDeliver(b *testing.B) {
	for _, backend := range []string{"memory", "file", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			secret := signature.GenerateSecret()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := signature.Verify(r, signature.VerifyConfig{Secrets: []string{secret}}); err != nil {
					b.Errorf("receiver: %v", err)
				}
			}))
			defer srv.Close()
			var q Store
			switch backend {
			case "memory":
				q = NewMemoryStore()
			case "file":
				fs, err := OpenFileStore(filepath.Join(b.TempDir(), "webhooks.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer fs.Close()
				q = fs
			case "postgres":
				q = openPGStore(b)
			}
			reg := &registry{endpoints: map[string]Endpoint{"ok": {ID: "ok", URL: srv.URL, Secret: secret, Enabled: true}}}
			w, err := NewWorker(WorkerConfig{Queue: q, Endpoints: reg, Client: NewClient(true), Concurrency: 64})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			body := []byte(`{"type":"stream.created","data":{"streamId":"42","depositAmount":"1000.0000000"}}`)
			jobs := make([]Job, b.N)
			for i := range jobs {
				jobs[i] = Job{ID: id(fmt.Sprint(i)), EndpointID: "ok", EventType: "stream.created", Body: body}
			}
			if err := q.Enqueue(ctx, jobs, time.Now()); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for done := 0; done < b.N; {
				n, err := w.RunOnce(ctx)
				if err != nil {
					b.Fatal(err)
				}
				done += n
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
