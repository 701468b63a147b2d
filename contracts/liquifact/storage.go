package liquifact

import (
	"fmt"

	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/scval"
)

// The escrow contract's storage (escrow/src/lib.rs at ef6338e, DataKey): the InvoiceEscrow under DataKey::Escrow in
// the instance's storage, and each investor's contribution under DataKey::InvestorContribution(investor) in
// persistent storage. A unit variant key is a vec of its name; a tuple variant's, of its name and fields.

func contractAddress(c domain.Address) (xdr.ScAddress, error) {
	raw, err := strkey.Decode(strkey.VersionByteContract, string(c))
	if err != nil {
		return xdr.ScAddress{}, fmt.Errorf("contract %s: %w", c, err)
	}
	id := xdr.ContractId(raw)
	return xdr.ScAddress{Type: xdr.ScAddressTypeScAddressTypeContract, ContractId: &id}, nil
}

func symVec(name string, more ...xdr.ScVal) xdr.ScVal {
	s := xdr.ScSymbol(name)
	vec := xdr.ScVec(append([]xdr.ScVal{{Type: xdr.ScValTypeScvSymbol, Sym: &s}}, more...))
	p := &vec
	return xdr.ScVal{Type: xdr.ScValTypeScvVec, Vec: &p}
}

// InstanceKey is the ledger key of an escrow contract's instance (whose storage holds the InvoiceEscrow).
func InstanceKey(c domain.Address) (xdr.LedgerKey, error) {
	addr, err := contractAddress(c)
	if err != nil {
		return xdr.LedgerKey{}, err
	}
	return xdr.LedgerKey{Type: xdr.LedgerEntryTypeContractData, ContractData: &xdr.LedgerKeyContractData{Contract: addr,
		Key: xdr.ScVal{Type: xdr.ScValTypeScvLedgerKeyContractInstance}, Durability: xdr.ContractDataDurabilityPersistent}}, nil
}

// ContributionKey is the ledger key of an investor's contribution in an escrow contract.
func ContributionKey(c, investor domain.Address) (xdr.LedgerKey, error) {
	addr, err := contractAddress(c)
	if err != nil {
		return xdr.LedgerKey{}, err
	}
	inv, err := scval.ScAddressOf(investor)
	if err != nil {
		return xdr.LedgerKey{}, err
	}
	return xdr.LedgerKey{Type: xdr.LedgerEntryTypeContractData, ContractData: &xdr.LedgerKeyContractData{Contract: addr,
		Key:        symVec("InvestorContribution", xdr.ScVal{Type: xdr.ScValTypeScvAddress, Address: &inv}),
		Durability: xdr.ContractDataDurabilityPersistent}}, nil
}

// ContributionKeyInvestor is the investor of a DataKey::InvestorContribution(investor) storage key; ok is false for
// another key, and err says why a contribution key does not hold an address.
func ContributionKeyInvestor(key xdr.ScVal) (investor domain.Address, ok bool, err error) {
	if key.Type != xdr.ScValTypeScvVec || key.Vec == nil || *key.Vec == nil || len(**key.Vec) != 2 {
		return "", false, nil
	}
	vec := **key.Vec
	if name, isSym := vec[0].GetSym(); !isSym || name != "InvestorContribution" {
		return "", false, nil
	}
	investor, err = scval.AddressOf(vec[1])
	if err != nil {
		return "", false, err
	}
	return investor, true, nil
}

// EscrowKey is the instance storage key of the InvoiceEscrow.
func EscrowKey() xdr.ScVal { return symVec("Escrow") }

// Stored is what an escrow's storage says of the fields reconciliation compares.
type Stored struct {
	Found         bool
	FundedAmount  domain.Amount
	Status        uint32
	Contributions map[domain.Address]domain.Amount
}

// ReadStored reads the escrow's fields from entries of its instance and contribution keys.
func ReadStored(entries []xdr.LedgerEntry) (Stored, error) {
	out := Stored{Contributions: map[domain.Address]domain.Amount{}}
	for _, en := range entries {
		cd, ok := en.Data.GetContractData()
		if !ok {
			continue
		}
		switch {
		case cd.Key.Type == xdr.ScValTypeScvLedgerKeyContractInstance:
			inst, ok := cd.Val.GetInstance()
			if !ok || inst.Storage == nil {
				return out, fmt.Errorf("%w: the instance entry holds no storage", scval.ErrShape)
			}
			for _, kv := range *inst.Storage {
				if !kv.Key.Equals(EscrowKey()) {
					continue
				}
				f := scval.Struct(kv.Val)
				out.FundedAmount, out.Status = f.Amount("funded_amount"), f.U32("status")
				if err := f.Err(); err != nil {
					return out, fmt.Errorf("InvoiceEscrow: %w", err)
				}
				out.Found = true
			}
		default:
			investor, ok, err := ContributionKeyInvestor(cd.Key)
			if err != nil {
				return out, err
			}
			if !ok {
				continue
			}
			a, err := scval.AmountOf(cd.Val)
			if err != nil {
				return out, fmt.Errorf("contribution of %s: %w", investor, err)
			}
			out.Contributions[investor] = a
		}
	}
	return out, nil
}
