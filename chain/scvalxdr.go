package chain

import (
	"encoding/base64"
	"encoding/binary"

	"github.com/stellar/go-stellar-sdk/xdr"
)

// scValEncoder turns ScVals into base64 XDR, reusing its buffers: one per decoding goroutine.
type scValEncoder struct {
	sdk       *xdr.EncodingBuffer
	raw, text []byte
}

func newScValEncoder() *scValEncoder { return &scValEncoder{sdk: xdr.NewEncodingBuffer()} }

// eventXDR returns the base64 XDR of an event's topics and value. They are cut from one string: an event is
// encoded with one allocation for all of them. part is the topic that failed to encode, or -1 for the value.
func (e *scValEncoder) eventXDR(topics []xdr.ScVal, value *xdr.ScVal) (topicsXDR []string, valueXDR string, part int, err error) {
	var stack [8]int
	ends := stack[:0]
	e.text = e.text[:0]
	for i := range topics {
		if err := e.appendBase64(&topics[i]); err != nil {
			return nil, "", i, err
		}
		ends = append(ends, len(e.text))
	}
	if err := e.appendBase64(value); err != nil {
		return nil, "", -1, err
	}
	all := string(e.text)
	topicsXDR = make([]string, len(topics))
	start := 0
	for i, end := range ends {
		topicsXDR[i], start = all[start:end], end
	}
	return topicsXDR, all[start:], 0, nil
}

func (e *scValEncoder) appendBase64(v *xdr.ScVal) error {
	raw, ok := appendScVal(e.raw[:0], v)
	e.raw = raw
	if !ok {
		s, err := e.sdk.MarshalBase64(v)
		e.text = append(e.text, s...)
		return err
	}
	e.text = base64.StdEncoding.AppendEncode(e.text, raw)
	return nil
}

// appendScVal appends the XDR of the ScVal shapes Fluxora events are made of (numbers, symbols, strings, bytes,
// addresses, vectors and maps of them) to b. Every event keeps its topics and value as XDR, and the SDK's generic
// encoder spent a third of the decoding time re-encoding them; anything else reports false and the caller uses the
// SDK's encoder. TestAppendScValMatchesSDK and FuzzAppendScVal hold the two encodings byte-equal.
func appendScVal(b []byte, v *xdr.ScVal) ([]byte, bool) {
	b = binary.BigEndian.AppendUint32(b, uint32(v.Type))
	switch v.Type {
	case xdr.ScValTypeScvBool:
		if v.B == nil {
			return b, false
		}
		if *v.B {
			return binary.BigEndian.AppendUint32(b, 1), true
		}
		return binary.BigEndian.AppendUint32(b, 0), true
	case xdr.ScValTypeScvVoid:
		return b, true
	case xdr.ScValTypeScvU32:
		if v.U32 == nil {
			return b, false
		}
		return binary.BigEndian.AppendUint32(b, uint32(*v.U32)), true
	case xdr.ScValTypeScvI32:
		if v.I32 == nil {
			return b, false
		}
		return binary.BigEndian.AppendUint32(b, uint32(*v.I32)), true
	case xdr.ScValTypeScvU64:
		if v.U64 == nil {
			return b, false
		}
		return binary.BigEndian.AppendUint64(b, uint64(*v.U64)), true
	case xdr.ScValTypeScvI64:
		if v.I64 == nil {
			return b, false
		}
		return binary.BigEndian.AppendUint64(b, uint64(*v.I64)), true
	case xdr.ScValTypeScvTimepoint:
		if v.Timepoint == nil {
			return b, false
		}
		return binary.BigEndian.AppendUint64(b, uint64(*v.Timepoint)), true
	case xdr.ScValTypeScvDuration:
		if v.Duration == nil {
			return b, false
		}
		return binary.BigEndian.AppendUint64(b, uint64(*v.Duration)), true
	case xdr.ScValTypeScvU128:
		if v.U128 == nil {
			return b, false
		}
		b = binary.BigEndian.AppendUint64(b, uint64(v.U128.Hi))
		return binary.BigEndian.AppendUint64(b, uint64(v.U128.Lo)), true
	case xdr.ScValTypeScvI128:
		if v.I128 == nil {
			return b, false
		}
		b = binary.BigEndian.AppendUint64(b, uint64(v.I128.Hi))
		return binary.BigEndian.AppendUint64(b, uint64(v.I128.Lo)), true
	case xdr.ScValTypeScvBytes:
		if v.Bytes == nil {
			return b, false
		}
		return appendOpaque(b, *v.Bytes), true
	case xdr.ScValTypeScvString:
		if v.Str == nil {
			return b, false
		}
		return appendOpaque(b, []byte(*v.Str)), true
	case xdr.ScValTypeScvSymbol:
		if v.Sym == nil {
			return b, false
		}
		return appendOpaque(b, []byte(*v.Sym)), true
	case xdr.ScValTypeScvAddress:
		if v.Address == nil {
			return b, false
		}
		return appendScAddress(b, v.Address)
	case xdr.ScValTypeScvVec:
		if v.Vec == nil {
			return b, false
		}
		if *v.Vec == nil {
			return binary.BigEndian.AppendUint32(b, 0), true
		}
		vec := **v.Vec
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint32(b, uint32(len(vec)))
		for i := range vec {
			var ok bool
			if b, ok = appendScVal(b, &vec[i]); !ok {
				return b, false
			}
		}
		return b, true
	case xdr.ScValTypeScvMap:
		if v.Map == nil {
			return b, false
		}
		if *v.Map == nil {
			return binary.BigEndian.AppendUint32(b, 0), true
		}
		m := **v.Map
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
		for i := range m {
			var ok bool
			if b, ok = appendScVal(b, &m[i].Key); !ok {
				return b, false
			}
			if b, ok = appendScVal(b, &m[i].Val); !ok {
				return b, false
			}
		}
		return b, true
	}
	return b, false
}

func appendScAddress(b []byte, a *xdr.ScAddress) ([]byte, bool) {
	b = binary.BigEndian.AppendUint32(b, uint32(a.Type))
	switch a.Type {
	case xdr.ScAddressTypeScAddressTypeAccount:
		if a.AccountId == nil || a.AccountId.Type != xdr.PublicKeyTypePublicKeyTypeEd25519 || a.AccountId.Ed25519 == nil {
			return b, false
		}
		b = binary.BigEndian.AppendUint32(b, uint32(a.AccountId.Type))
		return append(b, a.AccountId.Ed25519[:]...), true
	case xdr.ScAddressTypeScAddressTypeContract:
		if a.ContractId == nil {
			return b, false
		}
		return append(b, a.ContractId[:]...), true
	}
	return b, false
}

// appendOpaque is XDR variable-length opaque data: length, bytes, zero padding to four.
func appendOpaque(b, p []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	b = append(b, p...)
	for pad := (4 - len(p)%4) % 4; pad > 0; pad-- {
		b = append(b, 0)
	}
	return b
}
