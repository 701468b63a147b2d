package chain

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/stellar/go-stellar-sdk/network"
	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/domain"
)

// sameLedger compares a scanned ledger with the fully decoded one (the reference: Decode reads every ledger whole),
// and the events' stored forms with their encoding.
func sameLedger(t *testing.T, got, want Ledger) {
	t.Helper()
	for i := range got.Events {
		if enc, err := domain.Marshal(got.Events[i].Event); err != nil || string(enc) != string(got.Events[i].data) {
			t.Fatalf("ledger %d event %d: stored form %q, want %q (%v)", want.Sequence, i, got.Events[i].data, enc, err)
		}
		got.Events[i].data = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ledger %d: scanned %+v\nwant %+v", want.Sequence, got, want)
	}
}

// scanMatchesDecode scans raw, the encoding of lcm, and checks it gives what a whole decode of lcm gives.
func scanMatchesDecode(t *testing.T, d *Decoder, lcm xdr.LedgerCloseMeta, raw []byte) Ledger {
	t.Helper()
	want, err := d.Decode(lcm)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Scan(raw)
	if err != nil {
		t.Fatalf("scan ledger %d: %v", lcm.LedgerSequence(), err)
	}
	sameLedger(t, got, want)
	return got
}

// TestScanEqualsDecode: on every ledger of a simulated chain (events of the configured contract in most of them,
// none in some, another contract's in none) and on a real pubnet ledger, with the contract configured or not,
// Scan gives what a whole decode gives.
func TestScanEqualsDecode(t *testing.T) {
	c, err := sim.New(sim.Config{Seed: 5, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 6, TxPerLedger: 1, Ledgers: 120})
	if err != nil {
		t.Fatal(err)
	}
	other := otherContract(t)
	// Past fewContracts the prefilter looks every id up in one pass instead of searching for each.
	many := append([]domain.Address{c.ContractID()}, absentContracts(40)...)
	for _, contracts := range [][]domain.Address{{c.ContractID()}, {other}, {c.ContractID(), other}, many, absentContracts(40)} {
		d, err := NewDecoder(DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: fluxoraContracts(t, contracts...)})
		if err != nil {
			t.Fatal(err)
		}
		withEvents, without := 0, 0
		for seq := c.StartLedger(); seq <= c.LastLedger(); seq++ {
			lcm, err := c.Canonical(seq)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := lcm.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if got := scanMatchesDecode(t, d, lcm, raw); len(got.Events) > 0 {
				withEvents++
			} else {
				without++
			}
		}
		if contracts[0] == c.ContractID() && (withEvents == 0 || without == 0) {
			t.Fatalf("the fixture has %d ledgers with events and %d without: both kinds are needed", withEvents, without)
		}
	}

	raw := pubnetLedger(t)
	var lcm xdr.LedgerCloseMeta
	if err := xdr.SafeUnmarshal(raw, &lcm); err != nil {
		t.Fatal(err)
	}
	refs := referenceEvents(t, raw)
	for _, tc := range []struct {
		contracts  []domain.Address
		withEvents bool
	}{
		{[]domain.Address{other}, false},
		{[]domain.Address{domain.Address(refs[0].contract)}, true},
		{absentContracts(40), false},
		{append(absentContracts(40), domain.Address(refs[len(refs)-1].contract)), true},
	} {
		d, err := NewDecoder(DecoderConfig{NetworkPassphrase: network.PublicNetworkPassphrase, Contracts: fluxoraContracts(t, tc.contracts...)})
		if err != nil {
			t.Fatal(err)
		}
		if got := scanMatchesDecode(t, d, lcm, raw); (len(got.Events) > 0) != tc.withEvents {
			t.Fatalf("%d contracts: %d events of the pubnet ledger, want some: %v", len(tc.contracts), len(got.Events), tc.withEvents)
		}
	}
}

// TestScanRefusesATamperedHeader: a header that does not hash to its stated hash is refused, naming the ledger.
func TestScanRefusesATamperedHeader(t *testing.T) {
	raw := pubnetLedger(t)
	d, err := NewDecoder(DecoderConfig{NetworkPassphrase: network.PublicNetworkPassphrase, Contracts: fluxoraContracts(t, otherContract(t))})
	if err != nil {
		t.Fatal(err)
	}
	view := xdr.LedgerCloseMetaView(raw)
	entry, err := view.LedgerHeader()
	if err != nil {
		t.Fatal(err)
	}
	header := entry.MustHeader().MustRaw()
	bad := append([]byte(nil), raw...)
	// Change the close time, inside the header: version, previous hash, scpValue.txSetHash, then closeTime.
	at := indexOf(raw, header) + 4 + 32 + 32
	bad[at+7] ^= 1
	if _, err := d.Scan(bad); err == nil {
		t.Fatal("a tampered header scanned")
	} else if want := "ledger 58752000: header does not hash"; !contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

// absentContracts are n contract addresses no fixture's events come from.
func absentContracts(n int) []domain.Address {
	out := make([]domain.Address, n)
	for i := range out {
		id := sha256.Sum256([]byte(fmt.Sprint("absent ", i)))
		out[i] = domain.Address(strkey.MustEncode(strkey.VersionByteContract, id[:]))
	}
	return out
}

// otherContract is a contract address that no fixture's events come from.
func otherContract(t testing.TB) domain.Address {
	s, err := strkey.Encode(strkey.VersionByteContract, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return domain.Address(s)
}

func indexOf(b, sub []byte) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}

func contains(s, sub string) bool { return indexOf([]byte(s), []byte(sub)) >= 0 }

// FuzzScan feeds arbitrary bytes as a lake's ledger: refused with an error, never a panic; what scans is what a
// whole decode makes of the same bytes.
func FuzzScan(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 2})
	c, err := sim.New(sim.Config{Seed: 1, NetworkPassphrase: network.TestNetworkPassphrase, Streams: 2, TxPerLedger: 1, Ledgers: 3})
	if err != nil {
		f.Fatal(err)
	}
	for seq := uint32(2); seq <= 4; seq++ {
		lcm, err := c.Canonical(seq)
		if err != nil {
			f.Fatal(err)
		}
		raw, _ := lcm.MarshalBinary()
		f.Add(raw)
	}
	d, err := NewDecoder(DecoderConfig{NetworkPassphrase: network.TestNetworkPassphrase, Contracts: fluxoraContracts(f, c.ContractID())})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := d.Scan(raw)
		if err != nil || len(got.Events) == 0 {
			return
		}
		var lcm xdr.LedgerCloseMeta
		if err := xdr.SafeUnmarshal(raw, &lcm); err != nil {
			t.Fatalf("scanned events from bytes that are no LedgerCloseMeta: %v", err)
		}
		want, err := d.Decode(lcm)
		if err != nil {
			t.Fatalf("scanned what does not decode: %v", err)
		}
		sameLedger(t, got, want)
	})
}

// TestIDFilterFindsAlignedIDs: the one-pass filter answers what a plain search of every 4-byte-aligned offset
// answers, for ids planted at aligned and unaligned offsets of random bytes among many followed ones.
func TestIDFilterFindsAlignedIDs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for round := 0; round < 300; round++ {
		f := newIDFilter()
		followed := map[xdr.ContractId]bool{}
		for range 1 + r.IntN(200) {
			var id xdr.ContractId
			for i := range id {
				id[i] = byte(r.UintN(256))
			}
			followed[id] = true
			f.add(id)
		}
		raw := make([]byte, 4*(8+r.IntN(500)))
		for i := range raw {
			raw[i] = byte(r.UintN(256))
		}
		for id := range followed {
			if r.IntN(4) == 0 {
				at := r.IntN(len(raw) - 31)
				copy(raw[at:], id[:])
			}
			break
		}
		want := false
		for i := 0; i+32 <= len(raw); i += 4 {
			if followed[xdr.ContractId(raw[i:i+32])] {
				want = true
			}
		}
		if got := f.find(raw, func(id xdr.ContractId) bool { return followed[id] }); got != want {
			t.Fatalf("round %d: found %v, an aligned search says %v", round, got, want)
		}
	}
}
