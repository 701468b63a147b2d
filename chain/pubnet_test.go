package chain

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stellar/go-stellar-sdk/ingest"
	"github.com/stellar/go-stellar-sdk/network"
	protocol "github.com/stellar/go-stellar-sdk/protocols/rpc"
	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// pubnetLedger is a real pubnet ledger shipped with the SDK module (protocol 22, meta v3).
func pubnetLedger(tb testing.TB) []byte {
	tb.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/stellar/go-stellar-sdk").Output()
	if err != nil {
		tb.Fatalf("locate the SDK module: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "xdr", "testdata", "ledger_58752000.bin"))
	if err != nil {
		tb.Fatalf("the SDK's pubnet ledger: %v", err)
	}
	return raw
}

// referenceEvent is a contract event as the SDK's view-based extractor (a code path independent of the
// transaction reader our decoder uses) sees it.
type referenceEvent struct {
	chainEventID, txHash, contract, value string
	topics                                []string
}

func referenceEvents(t testing.TB, raw []byte) []referenceEvent {
	t.Helper()
	parts, err := ingest.ExtractLedgerTxParts(xdr.LedgerCloseMetaView(raw))
	if err != nil {
		t.Fatal(err)
	}
	events, err := ingest.EventsFromTxParts(parts)
	if err != nil {
		t.Fatal(err)
	}
	var lcm xdr.LedgerCloseMeta
	if err := xdr.SafeUnmarshal(raw, &lcm); err != nil {
		t.Fatal(err)
	}
	var out []referenceEvent
	for i, tx := range events {
		var result xdr.TransactionResultPair
		if err := xdr.SafeUnmarshal([]byte(parts[i].Result), &result); err != nil {
			t.Fatal(err)
		}
		if !result.Result.Successful() {
			continue
		}
		for op, opEvents := range tx.OperationEvents {
			for idx, rawEvent := range opEvents {
				var ev xdr.ContractEvent
				if err := xdr.SafeUnmarshal(rawEvent, &ev); err != nil {
					t.Fatal(err)
				}
				if ev.Type != xdr.ContractEventTypeContract {
					continue
				}
				contract, err := strkey.Encode(strkey.VersionByteContract, ev.ContractId[:])
				if err != nil {
					t.Fatal(err)
				}
				body := ev.Body.MustV0()
				ref := referenceEvent{
					chainEventID: protocol.Cursor{Ledger: lcm.LedgerSequence(), Tx: uint32(i + 1), Op: uint32(op), Event: uint32(idx)}.String(),
					txHash:       hex.EncodeToString(parts[i].Hash[:]),
					contract:     contract,
					value:        mustBase64(t, body.Data),
				}
				for _, topic := range body.Topics {
					ref.topics = append(ref.topics, mustBase64(t, topic))
				}
				out = append(out, ref)
			}
		}
	}
	return out
}

func mustBase64(t testing.TB, v xdr.ScVal) string {
	t.Helper()
	raw, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

func TestPubnetLedgerMatchesSDKReference(t *testing.T) {
	raw := pubnetLedger(t)
	var lcm xdr.LedgerCloseMeta
	if err := xdr.SafeUnmarshal(raw, &lcm); err != nil {
		t.Fatal(err)
	}
	want := referenceEvents(t, raw)
	if len(want) == 0 {
		t.Fatal("the reference found no contract events; the fixture changed")
	}
	// Every contract of the ledger is followed (bound to the Fluxora module: what is compared is each event's id,
	// contract and raw XDR, whatever a module makes of it), so that every contract event is decoded.
	seen := map[string]bool{}
	var contracts []domain.Address
	for _, ev := range want {
		if !seen[ev.contract] {
			seen[ev.contract] = true
			contracts = append(contracts, domain.Address(ev.contract))
		}
	}
	d, err := NewDecoder(DecoderConfig{NetworkPassphrase: network.PublicNetworkPassphrase, Contracts: fluxoraContracts(t, contracts...)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Decode(lcm)
	if err != nil {
		t.Fatal(err)
	}
	if got.Sequence != 58752000 || got.Hash != lcm.LedgerHash().HexString() {
		t.Fatalf("ledger %d %s", got.Sequence, got.Hash)
	}
	if len(got.Events) != len(want) {
		t.Fatalf("decoded %d events, the SDK reference has %d", len(got.Events), len(want))
	}
	ids := map[string]bool{}
	for i, ev := range got.Events {
		m := ev.Event.(domain.ChainEvent).ChainMetadata()
		w := want[i]
		if m.ChainEventID != w.chainEventID || m.TxHash != w.txHash || string(m.ContractID) != w.contract ||
			m.ValueXDR != w.value || len(m.TopicsXDR) != len(w.topics) {
			t.Fatalf("event %d: got %s tx %s contract %s, want %s tx %s contract %s", i, m.ChainEventID, m.TxHash,
				m.ContractID, w.chainEventID, w.txHash, w.contract)
		}
		for j := range w.topics {
			if m.TopicsXDR[j] != w.topics[j] {
				t.Fatalf("event %d topic %d differs", i, j)
			}
		}
		if m.NetworkID != domain.NetworkID(network.PublicNetworkPassphrase) || m.Ledger != 58752000 || m.LedgerHash != got.Hash ||
			!m.LedgerClosedAt.Equal(lcm.ClosedAt()) {
			t.Fatalf("event %d: chain metadata %+v", i, m)
		}
		if ids[ev.ID] {
			t.Fatalf("event %d: id %s twice", i, ev.ID)
		}
		ids[ev.ID] = true
		// None of these contracts is Fluxora: every event is kept as observed, none is a decode failure.
		obs, ok := ev.Event.(*domain.ContractEventObserved)
		if !ok || obs.DecodeError != "" {
			t.Fatalf("event %d: %T %+v", i, ev.Event, ev.Event)
		}
		if ev.Stream != (fluxora.Module{}).StoreStream(ev.Event) || ev.Stream == "" {
			t.Fatalf("event %d: stream %q", i, ev.Stream)
		}
	}
	t.Logf("%d contract events from %d transactions", len(got.Events), lcm.CountTransactions())
}
