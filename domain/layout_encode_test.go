package domain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// encodeShapes has a field of every kind the layout encoder handles, with and without omitempty, and some it
// leaves to encoding/json.
type encodeShapes struct {
	S        string                   `json:"s"`
	SO       string                   `json:"so,omitempty"`
	U        uint32                   `json:"u"`
	UO       uint64                   `json:"uo,omitempty"`
	I        int                      `json:"i"`
	IO       int64                    `json:"io,omitempty"`
	B        bool                     `json:"b"`
	BO       bool                     `json:"bo,omitempty"`
	P        *uint64                  `json:"p"`
	PO       *uint64                  `json:"po,omitempty"`
	L        []string                 `json:"l"`
	LO       []string                 `json:"lo,omitempty"`
	Raw      []byte                   `json:"raw"`
	RawO     []byte                   `json:"rawO,omitempty"`
	T        time.Time                `json:"t"`
	TP       *time.Time               `json:"tp,omitempty"`
	A        domain.Amount            `json:"a"`
	AO       *domain.Amount           `json:"ao,omitempty"`
	Kind     fluxora.StreamStatus     `json:"kind"`
	Inner    domain.ChainMeta         `json:"inner"`
	M        map[string]domain.Amount `json:"m,omitempty"`
	MA       map[string]domain.Amount `json:"ma"`
	Anoms    []domain.Anomaly         `json:"anoms,omitempty"`
	F        float64                  `json:"f"`
	Untagged string
	Skipped  string `json:"-"`
	hidden   string
}

type embedding struct {
	domain.ChainMeta
	X string `json:"x"`
}

type stringOption struct {
	N uint64 `json:"n,string"`
}

type selfEncoding struct{ V string }

func (s *selfEncoding) MarshalJSON() ([]byte, error) { return []byte(`{ "v" : 1 }`), nil }

type withSelfEncoding struct {
	S selfEncoding `json:"s"`
}

type failing struct{}

func (failing) MarshalText() ([]byte, error) { return nil, errors.New("no text") }

type withFailing struct {
	F failing `json:"f"`
}

func sameAsEncodingJSON(t *testing.T, v any) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	got, err := domain.AppendJSON([]byte("prefix"), v)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%T: error %v, encoding/json's %v", v, err, wantErr)
	}
	if err == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("%T:\ngot  %s\nwant prefix%s", v, got, want)
	}
}

// TestAppendJSONMatchesEncodingJSON: every event and stream state, and every kind of field, encode exactly as
// encoding/json encodes them.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, e := range layoutEvents() {
		sameAsEncodingJSON(t, e)
	}
	one := uint64(1)
	amount := domain.NewAmount(-5)
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	cases := []any{
		&encodeShapes{},
		&encodeShapes{S: "a<b>&c", SO: "é\u2028\x00\"\\", U: 7, UO: 8, I: -9, IO: 10, B: true, BO: true, P: &one, PO: &one,
			L: []string{}, LO: []string{"x", "<"}, Raw: []byte{}, RawO: []byte{0xff, 0}, T: at, TP: &at, A: domain.NewAmount(1 << 62),
			AO: &amount, Kind: fluxora.StatusActive, Inner: domain.ChainMeta{TopicsXDR: []string{"t"}, LedgerClosedAt: at},
			M: map[string]domain.Amount{"z": domain.NewAmount(1), "a": domain.NewAmount(2)}, MA: map[string]domain.Amount{"<": domain.NewAmount(-1), "é\xff": {}}, Anoms: []domain.Anomaly{{Code: "c"}}, F: 1.5, Untagged: "u",
			Skipped: "s", hidden: "h"},
		&encodeShapes{S: "\xff", A: domain.AmountFromParts(-1, 0)},
		&encodeShapes{T: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, // encoding/json refuses the year
		&fluxora.Stream{ContractID: "C", StreamID: 3, Memo: []byte("memo"), ClonedFrom: &one, Anomalies: []domain.Anomaly{{Code: "x"}}},
		&embedding{X: "x"},
		&taggedEmbedding{X: "x"},
		&stringOption{N: 5},
		&withSelfEncoding{},
		&withFailing{},
		encodeShapes{S: "not a pointer"},
	}
	for _, c := range cases {
		sameAsEncodingJSON(t, c)
	}
}

func FuzzAppendJSONMatchesEncodingJSON(f *testing.F) {
	f.Add("plain", "", uint64(0), int64(0), []byte(nil), int64(0), uint64(0))
	f.Add("<&>\"\\\x7f\u2028", "é\xff", uint64(1<<63), int64(-1), []byte{1, 2}, int64(1<<62), uint64(1<<63))
	f.Fuzz(func(t *testing.T, s1, s2 string, u uint64, i int64, raw []byte, hi int64, lo uint64) {
		p := u
		sameAsEncodingJSON(t, &encodeShapes{S: s1, SO: s2, U: uint32(u), UO: u, I: int(i), IO: i, B: u%2 == 0, P: &p,
			L: []string{s1, s2}, LO: []string{s2}, Raw: raw, RawO: raw, A: domain.AmountFromParts(hi, lo), Kind: fluxora.StreamStatus(s2),
			Inner: domain.ChainMeta{NetworkID: s1, TopicsXDR: []string{s2}, LedgerClosedAt: time.Unix(i%(1<<35), int64(u%1e9)).UTC()},
			M:     map[string]domain.Amount{s1: domain.NewAmount(i)}, MA: map[string]domain.Amount{s1: domain.AmountFromParts(hi, lo), s2: domain.NewAmount(i)}, Untagged: s2})
		sameAsEncodingJSON(t, &fluxora.StreamCreated{ChainMeta: domain.ChainMeta{ValueXDR: s1, ChainEventID: s2}, StreamID: u, Sender: domain.Address(s1),
			DepositAmount: domain.AmountFromParts(hi, lo), Memo: raw})
	})
}

// BenchmarkMarshal encodes events as the ingester stores them: the layout encoder, and encoding/json for
// comparison.
func BenchmarkMarshal(b *testing.B) {
	events := layoutEvents()
	b.Run("layout", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := domain.Marshal(events[i%len(events)]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("encoding/json", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := json.Marshal(events[i%len(events)]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

type taggedEmbedding struct {
	domain.ChainMeta `json:"chain"`
	X                string `json:"x"`
}
