package audit

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/domain"
)

// rowFromLeaf is the export row of a stored leaf: what json.Unmarshal and RowOf would make of it. Exports convert
// every leaf they write, and json.Unmarshal's reflection was most of an export's time, so leaves in the shape
// json.Marshal gives them (known keys, every field an Entry always has, strings without escapes, canonical times)
// are read directly; anything else goes to json.Unmarshal and RowOf, which decide. The fuzz test holds the two to
// the same answers.
func rowFromLeaf(leaf []byte, r *Row) error {
	if fastRow(leaf, r) {
		return nil
	}
	var e Entry
	if err := json.Unmarshal(leaf, &e); err != nil {
		return err
	}
	row, err := RowOf(&e, leaf)
	*r = row
	return err
}

type leafScanner struct {
	b []byte
	// text is b as one string: fields without escapes are substrings of it, one allocation per leaf instead of
	// one per field.
	text string
	i    int
}

func (s *leafScanner) next(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// raw returns the bytes of a string without escapes, quotes excluded.
func (s *leafScanner) raw() ([]byte, bool) {
	if !s.next('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			out := s.b[start:s.i]
			s.i++
			return out, utf8.Valid(out)
		case c == '\\' || c < 0x20:
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// str reads a string, unescaping what json.Marshal escapes (quotes, backslashes, control characters, and
// \u escapes outside the surrogate range); anything else is left to json.Unmarshal.
func (s *leafScanner) str() (string, bool) {
	start := s.i
	if b, ok := s.raw(); ok {
		return s.text[start+1 : start+1+len(b)], true
	}
	s.i = start
	if !s.next('"') {
		return "", false
	}
	out := make([]byte, 0, 64)
	for s.i < len(s.b) {
		c := s.b[s.i]
		s.i++
		switch {
		case c == '"':
			return string(out), utf8.Valid(out)
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			continue
		}
		if s.i >= len(s.b) {
			return "", false
		}
		e := s.b[s.i]
		s.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'u':
			if s.i+4 > len(s.b) {
				return "", false
			}
			n, err := strconv.ParseUint(string(s.b[s.i:s.i+4]), 16, 16)
			if err != nil || (n >= 0xD800 && n <= 0xDFFF) {
				return "", false
			}
			s.i += 4
			out = utf8.AppendRune(out, rune(n))
		default:
			return "", false
		}
	}
	return "", false
}

// int reads a JSON integer: an optional minus, then 0 or digits without a leading zero.
func (s *leafScanner) int() (int64, bool) {
	start := s.i
	s.next('-')
	digits := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == digits || (s.b[digits] == '0' && s.i-digits > 1) {
		return 0, false
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	return n, err == nil
}

// time reads a time as json.Marshal writes it (RFC 3339, shortest fraction) and returns its text.
func (s *leafScanner) time() (string, bool) {
	b, ok := s.raw()
	if !ok {
		return "", false
	}
	var t time.Time
	var buf [40]byte
	if t.UnmarshalText(b) != nil || string(t.AppendFormat(buf[:0], time.RFC3339Nano)) != string(b) {
		return "", false
	}
	return s.text[s.i-1-len(b) : s.i-1], true
}

// requiredKeys are the fields json.Marshal always writes for an Entry (the others are omitempty).
const requiredKeys = 1<<keyV | 1<<keySeq | 1<<keyPosition | 1<<keyEventID | 1<<keyStream | 1<<keyType | 1<<keyAction |
	1<<keySummary | 1<<keyRecordedAt

const (
	keyV = iota
	keySeq
	keyPosition
	keyEventID
	keyStream
	keyType
	keyAction
	keyReverts
	keyLedger
	keyLedgerClosedAt
	keyTxHash
	keyContractID
	keyStreamID
	keyAmounts
	keySummary
	keyRecordedAt
	keyOther = 31
)

func leafKeyIndex(key []byte) int {
	switch string(key) {
	case "v":
		return keyV
	case "seq":
		return keySeq
	case "position":
		return keyPosition
	case "eventId":
		return keyEventID
	case "stream":
		return keyStream
	case "type":
		return keyType
	case "action":
		return keyAction
	case "reverts":
		return keyReverts
	case "ledger":
		return keyLedger
	case "ledgerClosedAt":
		return keyLedgerClosedAt
	case "txHash":
		return keyTxHash
	case "contractId":
		return keyContractID
	case "streamId":
		return keyStreamID
	case "amounts":
		return keyAmounts
	case "summary":
		return keySummary
	case "recordedAt":
		return keyRecordedAt
	}
	return keyOther
}

func fastRow(b []byte, r *Row) bool {
	*r = Row{}
	s := leafScanner{b: b, text: string(b)}
	if !s.next('{') {
		return false
	}
	var seen uint32 // a bit per key: a repeated key goes to json.Unmarshal
	for first := true; ; first = false {
		if !first && !s.next(',') {
			return false
		}
		key, ok := s.raw()
		if !ok || !s.next(':') {
			return false
		}
		k := leafKeyIndex(key)
		if k == keyOther || seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		var n int64
		switch k {
		case keyV:
			n, ok = s.int()
			r.LeafVersion = int(n)
			ok = ok && n == int64(r.LeafVersion)
		case keySeq:
			r.Seq, ok = s.int()
		case keyPosition:
			n, ok = s.int()
			r.Position = uint64(n)
			ok = ok && n >= 0
		case keyEventID:
			r.EventID, ok = s.str()
		case keyStream:
			r.Stream, ok = s.str()
		case keyType:
			r.Type, ok = s.str()
		case keyAction:
			r.Action, ok = s.str()
		case keyReverts:
			r.Reverts, ok = s.str()
		case keyLedger:
			n, ok = s.int()
			r.Ledger = uint32(n)
			ok = ok && n >= 0 && n <= 1<<32-1
		case keyLedgerClosedAt:
			r.LedgerClosedAt, ok = s.time()
		case keyTxHash:
			r.TxHash, ok = s.str()
		case keyContractID:
			r.ContractID, ok = s.str()
		case keyStreamID:
			n, ok = s.int()
			r.StreamID = strconv.FormatInt(n, 10)
			ok = ok && n >= 0
		case keyAmounts:
			ok = s.amounts(r)
		case keySummary:
			r.Summary, ok = s.str()
		case keyRecordedAt:
			r.RecordedAt, ok = s.time()
		}
		if !ok {
			return false
		}
		if s.i == len(b)-1 && b[s.i] == '}' {
			if seen&requiredKeys != requiredKeys {
				return false
			}
			h := tlog.RecordHash(b)
			r.LeafHash = hex.EncodeToString(h[:])
			return true
		}
	}
}

// amounts reads the amounts object into the row's decimal columns.
func (s *leafScanner) amounts(r *Row) bool {
	if !s.next('{') {
		return false
	}
	fields := r.amountFields()
	for first := true; ; first = false {
		if s.next('}') {
			return true
		}
		if !first && !s.next(',') {
			return false
		}
		key, ok := s.str()
		p, known := fields[key]
		if !ok || !known || *p != "" || !s.next(':') {
			return false
		}
		start := s.i
		if _, ok := s.raw(); !ok {
			return false
		}
		var a domain.Amount
		if a.UnmarshalJSON(s.b[start:s.i]) != nil {
			return false
		}
		*p = a.Decimal(AmountDecimals)
	}
}
