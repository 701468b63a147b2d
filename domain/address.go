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
	var version strkey.VersionByte
	switch s[0] {
	case 'G':
		version = strkey.VersionByteAccountID
	case 'C':
		version = strkey.VersionByteContract
	default:
		return "", fmt.Errorf("%w: %q is neither an account (G…) nor a contract (C…)", ErrAddressWrongKind, truncate(s, 64))
	}
	// The shape check comes first because the SDK's decoder panics on some short inputs (found by FuzzParseAddress).
	if len(s) != addressLength || !isBase32(s) {
		return "", fmt.Errorf("%w: %q: want %d characters of A-Z and 2-7", ErrAddressInvalid, truncate(s, 64), addressLength)
	}
	if _, err := strkey.Decode(version, s); err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrAddressInvalid, truncate(s, 64), err)
	}
	return Address(s), nil
}

// addressLength is the strkey length of 32-byte account and contract ids.
const addressLength = 56

func isBase32(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
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
