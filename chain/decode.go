package chain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/stellar/go-stellar-sdk/ingest"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
)

// ErrInvalidLedger is the cause of every refusal of a ledger's content: a header whose hash is not the stated one,
// a transaction set the header does not commit to, transactions that do not hash under our network passphrase.
var ErrInvalidLedger = errors.New("invalid ledger")

// Ledger is one verified ledger and the domain events decoded from it, in chain order (transaction apply order,
// operation, event).
type Ledger struct {
	Sequence     uint32
	Hash         string // hex
	PreviousHash string // hex
	ClosedAt     time.Time
	Events       []Decoded
}

// Decoded is a domain event with its identity and the event-store stream it belongs to.
type Decoded struct {
	ID     string
	Stream string
	Event  domain.Event
	// data is the event's stored form, when the ingester encoded it ahead (on the reading goroutines).
	data []byte
}

// DecoderConfig configures a Decoder.
type DecoderConfig struct {
	NetworkPassphrase string
	// Contracts are the contracts whose events are decoded, each by its module; required.
	Contracts *Contracts
	// OnDecodeError is told about every event of a known topic that did not decode (for a metric); may be nil.
	OnDecodeError func(topic string)
}

// Decoder turns ledgers into domain events. It is safe for concurrent use.
type Decoder struct {
	passphrase    string
	networkID     string
	contracts     *Contracts
	onDecodeError func(topic string)
}

// NewDecoder checks the configuration and returns a Decoder.
func NewDecoder(cfg DecoderConfig) (*Decoder, error) {
	if cfg.NetworkPassphrase == "" {
		return nil, errors.New("decoder: empty network passphrase")
	}
	if cfg.Contracts == nil {
		return nil, fmt.Errorf("decoder: %w", ErrNoContracts)
	}
	return &Decoder{
		passphrase:    cfg.NetworkPassphrase,
		networkID:     domain.NetworkID(cfg.NetworkPassphrase),
		contracts:     cfg.Contracts,
		onDecodeError: cfg.OnDecodeError,
	}, nil
}

// NetworkID is the id of the decoder's network (hex SHA-256 of its passphrase).
func (d *Decoder) NetworkID() string { return d.networkID }

// Discovers tells whether contracts are discovered by executable: the ledgers must then be read in order.
func (d *Decoder) Discovers() bool { return d.contracts.HasWasm() }

// Events is the registry stored events are read back with: the core's and the bound modules' types.
func (d *Decoder) Events() *domain.Registry { return d.contracts.Events() }

// Decode verifies a ledger and decodes the events of the configured contracts from its successful transactions.
//
// Verification: the header hashes to the stated ledger hash, the header commits to the transaction set
// (generalized sets), and every transaction result pairs with an envelope hashed under our network passphrase
// (a ledger of another network fails here). A ledger that fails is refused whole; an event that does not decode is
// kept as a ContractEventObserved with its decode error. Transaction-level events (fees) are not contract events
// of an operation and are not kept.
func (d *Decoder) Decode(lcm xdr.LedgerCloseMeta) (l Ledger, err error) {
	if lcm.V < 0 || lcm.V > 2 {
		return Ledger{}, fmt.Errorf("%w: LedgerCloseMeta version %d is not supported", ErrInvalidLedger, lcm.V)
	}
	// The SDK's accessors panic on structures SafeUnmarshal never produces but a hand-built value can hold.
	defer func() {
		if r := recover(); r != nil {
			l, err = Ledger{}, fmt.Errorf("%w: malformed ledger close meta: %v", ErrInvalidLedger, r)
		}
	}()
	entry := lcm.LedgerHeaderHistoryEntry()
	seq := uint32(entry.Header.LedgerSeq)
	if err := verifyHeader(lcm, entry); err != nil {
		return Ledger{}, fmt.Errorf("ledger %d: %w", seq, err)
	}
	l = Ledger{
		Sequence:     seq,
		Hash:         hex.EncodeToString(entry.Hash[:]),
		PreviousHash: hex.EncodeToString(entry.Header.PreviousLedgerHash[:]),
		ClosedAt:     time.Unix(int64(entry.Header.ScpValue.CloseTime), 0).UTC(),
	}
	reader, err := ingest.NewLedgerTransactionReaderFromLedgerCloseMeta(d.passphrase, lcm)
	if err != nil {
		return Ledger{}, fmt.Errorf("ledger %d: %w: %v", seq, ErrInvalidLedger, err)
	}
	defer reader.Close()
	enc := newScValEncoder()
	for {
		tx, err := reader.Read()
		if err == io.EOF {
			return l, nil
		}
		if err != nil {
			return Ledger{}, fmt.Errorf("ledger %d: %w: %v", seq, ErrInvalidLedger, err)
		}
		if !tx.Successful() {
			continue
		}
		txHash := ""
		if d.contracts.HasWasm() {
			// Instances of a configured executable created here are followed from this transaction on.
			if txHash == "" {
				txHash = hex.EncodeToString(tx.Hash[:])
			}
			found, err := d.discover(&l, tx, txHash)
			if err != nil {
				return Ledger{}, fmt.Errorf("ledger %d tx %s: %w", seq, txHash, err)
			}
			l.Events = append(l.Events, found...)
		}
		events, err := tx.GetTransactionEvents()
		if err != nil {
			return Ledger{}, fmt.Errorf("ledger %d tx %d: %w: %v", seq, tx.Index, ErrInvalidLedger, err)
		}
		for op, opEvents := range events.OperationEvents {
			for idx, ev := range opEvents {
				contract, keep := d.keep(ev)
				if !keep {
					continue
				}
				if txHash == "" {
					txHash = hex.EncodeToString(tx.Hash[:])
				}
				decoded, err := d.decodeOne(enc, &l, contract, txHash, tx.Index, uint32(op), uint32(idx), ev)
				if err != nil {
					return Ledger{}, fmt.Errorf("ledger %d tx %s: %w", seq, txHash, err)
				}
				l.Events = append(l.Events, decoded)
				for _, implied := range contract.module.Implied(decoded.ID, decoded.Event) {
					l.Events = append(l.Events, Decoded{ID: implied.ID, Stream: contract.module.StoreStream(implied.Event), Event: implied.Event})
				}
			}
		}
	}
}

func verifyHeader(lcm xdr.LedgerCloseMeta, entry xdr.LedgerHeaderHistoryEntry) error {
	header, err := entry.Header.MarshalBinary()
	if err != nil {
		return fmt.Errorf("%w: header does not encode: %v", ErrInvalidLedger, err)
	}
	if sha256.Sum256(header) != [32]byte(entry.Hash) {
		return fmt.Errorf("%w: header does not hash to the stated ledger hash %x", ErrInvalidLedger, entry.Hash[:])
	}
	var txSet xdr.GeneralizedTransactionSet
	switch lcm.V {
	case 1:
		txSet = lcm.MustV1().TxSet
	case 2:
		txSet = lcm.MustV2().TxSet
	default:
		// Version 0 carries a legacy transaction set, hashed differently; the header hash still covers its hash.
		return nil
	}
	set, err := xdr.NewEncodingBuffer().UnsafeMarshalBinary(txSet)
	if err != nil {
		return fmt.Errorf("%w: transaction set does not encode: %v", ErrInvalidLedger, err)
	}
	if sha256.Sum256(set) != [32]byte(entry.Header.ScpValue.TxSetHash) {
		return fmt.Errorf("%w: the header does not commit to this transaction set", ErrInvalidLedger)
	}
	return nil
}

// discover finds the contract instances a transaction created from a configured executable, binds them, and
// returns a ContractDiscovered for each (DESIGN §12): a replay binds what the log says was discovered. An instance
// already bound is announced again on this branch, so that a reorg that reverts one announcement leaves another.
func (d *Decoder) discover(l *Ledger, tx ingest.LedgerTransaction, txHash string) ([]Decoded, error) {
	changes, err := tx.GetChanges()
	if err != nil {
		return nil, fmt.Errorf("%w: ledger entry changes: %v", ErrInvalidLedger, err)
	}
	var out []Decoded
	for _, ch := range changes {
		if ch.Type != xdr.LedgerEntryTypeContractData || ch.Pre != nil || ch.Post == nil {
			continue
		}
		cd, ok := ch.Post.Data.GetContractData()
		if !ok || cd.Key.Type != xdr.ScValTypeScvLedgerKeyContractInstance || cd.Contract.ContractId == nil {
			continue
		}
		inst, ok := cd.Val.GetInstance()
		if !ok || inst.Executable.Type != xdr.ContractExecutableTypeContractExecutableWasm || inst.Executable.WasmHash == nil {
			continue
		}
		b, ok := d.contracts.discover(*cd.Contract.ContractId, *inst.Executable.WasmHash)
		if !ok {
			continue
		}
		e := &domain.ContractDiscovered{ChainMeta: domain.ChainMeta{NetworkID: d.networkID, ContractID: b.address,
			Ledger: l.Sequence, LedgerHash: l.Hash, LedgerClosedAt: l.ClosedAt, TxHash: txHash, TxIndex: tx.Index},
			Module: b.module.Name(), WasmHash: hex.EncodeToString(inst.Executable.WasmHash[:])}
		out = append(out, Decoded{ID: domain.DerivedEventUUID("discovered", d.networkID, l.Hash, string(b.address)),
			Stream: domain.DiscoveredStream, Event: e})
	}
	return out, nil
}

// keep tells whether an event is a followed contract's, and which.
func (d *Decoder) keep(ev xdr.ContractEvent) (binding, bool) {
	if ev.Type != xdr.ContractEventTypeContract || ev.ContractId == nil {
		return binding{}, false
	}
	return d.contracts.lookup(*ev.ContractId)
}

func (d *Decoder) decodeOne(enc *scValEncoder, l *Ledger, contract binding, txHash string, txOrder, op, idx uint32, ev xdr.ContractEvent) (Decoded, error) {
	body, ok := ev.Body.GetV0()
	if !ok {
		return Decoded{}, fmt.Errorf("%w: contract event body version %d", ErrInvalidLedger, ev.Body.V)
	}
	meta := domain.ChainMeta{
		NetworkID:      d.networkID,
		ContractID:     contract.address,
		Ledger:         l.Sequence,
		LedgerHash:     l.Hash,
		LedgerClosedAt: l.ClosedAt,
		TxHash:         txHash,
		TxIndex:        txOrder,
		OpIndex:        op,
		EventIndex:     idx,
		ChainEventID:   domain.ChainEventID(l.Sequence, txOrder, op, idx),
	}
	var part int
	var err error
	if meta.TopicsXDR, meta.ValueXDR, part, err = enc.eventXDR(body.Topics, &body.Data); err != nil {
		if part >= 0 {
			return Decoded{}, fmt.Errorf("%w: topic %d does not encode: %v", ErrInvalidLedger, part, err)
		}
		return Decoded{}, fmt.Errorf("%w: event value does not encode: %v", ErrInvalidLedger, err)
	}

	e, topic, decodeErr := contract.module.Decode(meta, body.Topics, body.Data)
	if decodeErr != nil && d.onDecodeError != nil {
		d.onDecodeError(topic)
	}
	return Decoded{
		ID:     domain.ChainEventUUID(d.networkID, l.Hash, txHash, op, idx),
		Stream: contract.module.StoreStream(e),
		Event:  e,
	}, nil
}
