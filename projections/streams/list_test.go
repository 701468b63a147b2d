package streams

import (
	"context"
	"fmt"
	"testing"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/internal/pgtest"
)

func TestListPagesAndFilters(t *testing.T) {
	store := filledStore(t)
	mem := NewMemory(store)
	catchUp(t, store, mem, 100)
	all := mem.All()
	ctx := context.Background()
	url := pgtest.URL(t)
	pg, err := OpenPostgres(ctx, pgtest.Pool(t, url), pgtest.Schema(t, url), 1, store)
	if err != nil {
		t.Fatal(err)
	}
	catchUp(t, store, pg, 100)
	filters := []Filter{{}, {Status: fluxora.StatusActive}, {Sender: all[0].Sender}, {Recipient: all[1].Recipient},
		{ContractID: all[0].ContractID, Status: fluxora.StatusCancelled}, {ContractID: "CBSGKZTHNBUWU23MNVXG64DROJZXI5LWO54HS6T3PR6X474AQGBIHDKP"}}
	for _, f := range filters {
		var want []string
		for _, s := range all {
			if f.match(&s) {
				want = append(want, s.Ref().String())
			}
		}
		for _, limit := range []int{1, 3, 100} {
			for _, backend := range []struct {
				name string
				list func(Page) ([]fluxora.Stream, bool)
			}{
				{"memory", func(p Page) ([]fluxora.Stream, bool) { return mem.List(f, p) }},
				{"postgres", func(p Page) ([]fluxora.Stream, bool) {
					out, more, err := pg.List(ctx, f, p)
					if err != nil {
						t.Fatal(err)
					}
					return out, more
				}},
			} {
				name, list := backend.name, backend.list
				var got []string
				page := Page{Limit: limit}
				for {
					out, more := list(page)
					for _, s := range out {
						got = append(got, s.Ref().String())
					}
					if !more {
						break
					}
					if len(out) != limit {
						t.Fatalf("%s: a page of %d with more to come, limit %d", name, len(out), limit)
					}
					page.After = out[len(out)-1].Ref()
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s filter %+v limit %d:\n got %v\nwant %v", name, f, limit, got, want)
				}
			}
		}
	}
}
