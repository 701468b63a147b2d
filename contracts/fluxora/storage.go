package fluxora

import (
	"fmt"

	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/scval"
)

// The stream contract's storage (contracts/stream/src at 75b15ca): each stream under DataKey::Stream(u64) in
// persistent storage, a Stream struct whose status is the StreamStatus discriminant (Active 0, Paused 1,
// Completed 2, Cancelled 3). A closed stream's entry is removed.

// StreamKey is the ledger key of a stream's entry.
func StreamKey(contract domain.Address, id uint64) (xdr.LedgerKey, error) {
	raw, err := strkey.Decode(strkey.VersionByteContract, string(contract))
	if err != nil || len(raw) != 32 {
		return xdr.LedgerKey{}, fmt.Errorf("contract %q is not a contract address", contract)
	}
	cid := xdr.ContractId(raw)
	return xdr.LedgerKey{Type: xdr.LedgerEntryTypeContractData, ContractData: &xdr.LedgerKeyContractData{
		Contract: xdr.ScAddress{Type: xdr.ScAddressTypeScAddressTypeContract, ContractId: &cid},
		Key:      StreamKeyVal(id), Durability: xdr.ContractDataDurabilityPersistent}}, nil
}

// StreamKeyVal is DataKey::Stream(id): a vec of the variant's name and its field.
func StreamKeyVal(id uint64) xdr.ScVal {
	sym, n := xdr.ScSymbol("Stream"), xdr.Uint64(id)
	vec := xdr.ScVec{{Type: xdr.ScValTypeScvSymbol, Sym: &sym}, {Type: xdr.ScValTypeScvU64, U64: &n}}
	p := &vec
	return xdr.ScVal{Type: xdr.ScValTypeScvVec, Vec: &p}
}

// StatusCode is the contract's StreamStatus discriminant of a status (closed streams have no entry: -1).
func StatusCode(s StreamStatus) int {
	switch s {
	case StatusActive:
		return 0
	case StatusPaused:
		return 1
	case StatusCompleted:
		return 2
	case StatusCancelled:
		return 3
	}
	return -1
}

// StoredStream is what a stream's entry says of the fields reconciliation compares.
type StoredStream struct {
	ID                                uint64
	Deposit, Withdrawn, RatePerSecond domain.Amount
	Status                            uint32
}

// StreamKeyID is the stream id of a DataKey::Stream(id) storage key; ok is false for another key, and err says why
// a Stream key does not hold a u64.
func StreamKeyID(key xdr.ScVal) (id uint64, ok bool, err error) {
	if key.Type != xdr.ScValTypeScvVec || key.Vec == nil || *key.Vec == nil || len(**key.Vec) != 2 {
		return 0, false, nil
	}
	vec := **key.Vec
	if name, isSym := vec[0].GetSym(); !isSym || name != "Stream" {
		return 0, false, nil
	}
	n, isU64 := vec[1].GetU64()
	if !isU64 {
		return 0, false, fmt.Errorf("%w: a Stream key without a u64", scval.ErrShape)
	}
	return uint64(n), true, nil
}

// ReadStoredStreams reads the streams of entries of Stream keys.
func ReadStoredStreams(entries []xdr.LedgerEntry) (map[uint64]StoredStream, error) {
	out := map[uint64]StoredStream{}
	for _, en := range entries {
		cd, isData := en.Data.GetContractData()
		if !isData {
			continue
		}
		id, ok, err := StreamKeyID(cd.Key)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		f := scval.Struct(cd.Val)
		s := StoredStream{ID: uint64(id), Deposit: f.Amount("deposit_amount"), Withdrawn: f.Amount("withdrawn_amount"),
			RatePerSecond: f.Amount("rate_per_second"), Status: f.U32("status")}
		if err := f.Err(); err != nil {
			return nil, fmt.Errorf("stream %d: %w", id, err)
		}
		out[uint64(id)] = s
	}
	return out, nil
}
