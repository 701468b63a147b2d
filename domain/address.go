package domain

import (
	"errors"
	"fmt"

	"github.com/stellar/go-stellar-sdk/strkey"
)

// Address errors; match them with errors.Is.
var (
	ErrAddressEmpty     = errors.New("address is empty")
	ErrAddressInvalid   = errors.New("address is not a valid strkey")
	ErrAddressWrongKind = errors.New("address is of the wrong kind")
)

// AddressKind tells accounts (G…) from contracts (C…).
type AddressKind int

const (
	AccountAddress AddressKind = iota + 1
	ContractAddress
)

func (k AddressKind) String() string {
	switch k {
	case AccountAddress:
		return "account (G…)"
	case ContractAddress:
		return "contract (C…)"
	default:
		return "unknown"
	}
}

// Address is a Stellar account (G…) or contract (C…) address whose strkey checksum has been verified.
// The zero value is "no address".
type Address string

// ParseAddress accepts a G… account or a C… contract address.
func ParseAddress(s string) (Address, error) {
	if s == "" {
		return "", ErrAddressEmpty
	}
	version, _, err := strkey.DecodeAny(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrAddressInvalid, truncate(s, 64), err)
	}
	switch version {
	case strkey.VersionByteAccountID, strkey.VersionByteContract:
		return Address(s), nil
	default:
		return "", fmt.Errorf("%w: %q is neither an account (G…) nor a contract (C…)", ErrAddressWrongKind, truncate(s, 64))
	}
}

// ParseAddressOf accepts only addresses of the given kind.
func ParseAddressOf(s string, kind AddressKind) (Address, error) {
	a, err := ParseAddress(s)
	if err != nil {
		return "", err
	}
	if a.Kind() != kind {
		return "", fmt.Errorf("%w: %q is not an %s address", ErrAddressWrongKind, truncate(s, 64), kind)
	}
	return a, nil
}

// Kind tells an account from a contract address.
func (a Address) Kind() AddressKind {
	if len(a) > 0 && a[0] == 'C' {
		return ContractAddress
	}
	return AccountAddress
}

func (a Address) String() string { return string(a) }
