package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/streamledger/streamledger/internal/fscktest"
	"github.com/streamledger/streamledger/internal/pgtest"
	"github.com/streamledger/streamledger/projections/audit"
)

// Tessera's fsck checks the audit log of a running serve as a C2SP tlog-tiles log, on the embedded store and on
// PostgreSQL; on PostgreSQL, an entry changed in the database behind the log's back makes it fail.
func TestFsckChecksARunningServe(t *testing.T) {
	for _, store := range []string{"embedded", "postgres"} {
		t.Run(store, func(t *testing.T) {
			const key = "auditor-key-0123456789"
			d := newDeployment(t, store)
			env := d.simEnv(60, true)
			env["API_KEYS"] = `[{"key":"` + key + `","clientId":"auditor","scopes":["audit:read"]}]`
			base, stop := startServe(t, env)
			defer stop()
			waitForTip(t, base, 60)
			req, _ := http.NewRequest("GET", base+"/api/audit/checkpoint", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var cp struct {
				Data struct {
					TreeSize    int64  `json:"treeSize"`
					VerifierKey string `json:"verifierKey"`
				} `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&cp)
			resp.Body.Close()
			if err != nil || cp.Data.TreeSize < 100 {
				t.Fatalf("checkpoint: %+v %v", cp, err)
			}
			ok, out := fscktest.Run(t, base+"/api/audit/log/", cp.Data.VerifierKey, audit.Origin, key, cp.Data.TreeSize)
			if !ok {
				t.Fatalf("fsck did not pass the serve's log:\n%s", out)
			}
			if store != "postgres" {
				return
			}
			pool := pgtest.Pool(t, d.databaseURL)
			table := pgx.Identifier{readModelSchema, "audit_entries_g1"}.Sanitize()
			tag, err := pool.Exec(context.Background(), `UPDATE `+table+` SET leaf = replace(leaf::text, '"seq":50', '"seq":50 ')::json WHERE seq = 50`)
			if err != nil || tag.RowsAffected() != 1 {
				t.Fatalf("change entry 50: %v %v", tag, err)
			}
			if ok, out := fscktest.Run(t, base+"/api/audit/log/", cp.Data.VerifierKey, audit.Origin, key, cp.Data.TreeSize); ok {
				t.Fatalf("fsck passed a log whose entry 50 was changed in the database:\n%s", out)
			}
		})
	}
}
