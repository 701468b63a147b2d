package domain

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// EventType names a domain event. The names are part of the stored format: never rename one.
type EventType string

const (
	TypeContractEventObserved  EventType = "ContractEventObserved"
	TypeEventReverted          EventType = "EventReverted"
	TypeEventRestored          EventType = "EventRestored"
	TypeChainReorganized       EventType = "ChainReorganized"
	TypeLedgerClosed           EventType = "LedgerClosed"
	TypeLedgersVerified        EventType = "LedgersVerified"
	TypeOperatorRewound        EventType = "OperatorRewound"
	TypeWebhookEndpointAdded   EventType = "WebhookEndpointAdded"
	TypeWebhookEndpointRemoved EventType = "WebhookEndpointRemoved"
)

// SchemaVersion is the version of the JSON encoding written by Marshal. Readers accept every version up to it.
const SchemaVersion = 1

// Event is a domain event.
type Event interface {
	Type() EventType
}

// ChainEvent is an event decoded from a contract event on chain.
type ChainEvent interface {
	Event
	ChainMetadata() *ChainMeta
}

// Numbered is a chain event about one numbered thing its contract keeps (a payment stream of the stream contract):
// the core files its compensations and audit entries under that number (a stored compensation calls it streamId,
// from when the stream contract was the only module).
type Numbered interface {
	ChainEvent
	SubjectNumber() uint64
}

// SubjectOf tells which numbered subject of which contract an event is about, if any: a module's Numbered events,
// observed events whose second topic is a u64, and the compensations of either.
func SubjectOf(e Event) (contract Address, number uint64, ok bool) {
	switch v := e.(type) {
	case Numbered:
		return v.ChainMetadata().ContractID, v.SubjectNumber(), true
	case *ContractEventObserved:
		if v.StreamID != nil {
			return v.ContractID, *v.StreamID, true
		}
	case *EventReverted:
		if v.StreamID != nil {
			return v.ContractID, *v.StreamID, true
		}
	case *EventRestored:
		if v.StreamID != nil {
			return v.ContractID, *v.StreamID, true
		}
	}
	return "", 0, false
}

// ChainMeta places a chain-derived event exactly: which network, contract, ledger, transaction, operation and
// event it came from, plus the raw XDR so it can be decoded again when the decoder improves.
type ChainMeta struct {
	NetworkID      string    `json:"networkId"`
	ContractID     Address   `json:"contractId"`
	Ledger         uint32    `json:"ledger"`
	LedgerHash     string    `json:"ledgerHash"`
	LedgerClosedAt time.Time `json:"ledgerClosedAt"`
	TxHash         string    `json:"txHash"`
	TxIndex        uint32    `json:"txIndex"`
	OpIndex        uint32    `json:"opIndex"`
	EventIndex     uint32    `json:"eventIndex"`
	ChainEventID   string    `json:"chainEventId"`
	TopicsXDR      []string  `json:"topicsXdr"`
	ValueXDR       string    `json:"valueXdr"`
}

// ChainMetadata lets every event that embeds ChainMeta satisfy ChainEvent.
func (m *ChainMeta) ChainMetadata() *ChainMeta { return m }

// CloseTime is the ledger close time in unix seconds: the contract's "now" for this event.
func (m *ChainMeta) CloseTime() uint64 { return uint64(m.LedgerClosedAt.Unix()) }

// NetworkID identifies a Stellar network: the hex SHA-256 of its passphrase, as the network itself does.
func NetworkID(passphrase string) string {
	sum := sha256.Sum256([]byte(passphrase))
	return hex.EncodeToString(sum[:])
}

// eventNamespace scopes streamledger's UUIDv5 event ids.
var eventNamespace = uuid.MustParse("6f1c0a52-3b9e-5d0e-9a57-5e2f0c1d7a10")

// ChainEventUUID is the identity of a chain event: the same event delivered twice has the same id, and the same
// position on another branch (another ledger hash) a different one.
func ChainEventUUID(networkID, ledgerHash, txHash string, opIndex, eventIndex uint32) string {
	var buf [256]byte // the name stays on the stack: ids are derived for every event ingested
	name := append(buf[:0], eventNamespace[:]...)
	name = append(name, networkID...)
	name = append(name, '|')
	name = append(name, ledgerHash...)
	name = append(name, '|')
	name = append(name, txHash...)
	name = append(name, '|')
	name = strconv.AppendUint(name, uint64(opIndex), 10)
	name = append(name, '|')
	name = strconv.AppendUint(name, uint64(eventIndex), 10)
	return sha1UUID(name)
}

// sha1UUID is uuid.NewSHA1(eventNamespace, name) for a namespace-prefixed name, without a hasher to allocate:
// every ingested event and ledger marker gets one.
func sha1UUID(namespacedName []byte) string {
	sum := sha1.Sum(namespacedName)
	var id uuid.UUID
	copy(id[:], sum[:])
	id[6] = id[6]&0x0f | 0x50 // version 5
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id.String()
}

// DerivedEventUUID is the identity of an event the engine derives (ledger markers, reversals, reorg markers):
// deterministic in its parts, so re-deriving it after a crash is an idempotent append.
func DerivedEventUUID(kind string, parts ...string) string {
	var buf [256]byte
	name := append(buf[:0], eventNamespace[:]...)
	name = append(name, kind...)
	for _, p := range parts {
		name = append(append(name, '|'), p...)
	}
	return sha1UUID(name)
}

// ChainEventID formats the RPC-style id of a contract event: the 19-digit TOID of its operation, a dash, and the
// 10-digit event index. txOrder is the 1-based application order of the transaction in its ledger.
func ChainEventID(ledger uint32, txOrder, opIndex, eventIndex uint32) string {
	toid := int64(ledger)<<32 | int64(txOrder)<<12 | int64(opIndex)
	if toid < 0 { // beyond any real ledger: keep fmt's rendering of the sign
		return fmt.Sprintf("%019d-%010d", toid, eventIndex)
	}
	// Every decoded event gets one: zero-padding by hand is a tenth of fmt's cost.
	b := make([]byte, 0, 30)
	b = appendZeroPadded(b, uint64(toid), 19)
	b = append(b, '-')
	return string(appendZeroPadded(b, uint64(eventIndex), 10))
}

func appendZeroPadded(b []byte, v uint64, width int) []byte {
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], v, 10)
	for range width - len(d) {
		b = append(b, '0')
	}
	return append(b, d...)
}

// ContractStoreStream is the event-store stream of a contract's contract-level events.
func ContractStoreStream(contract Address) string { return "contract-" + string(contract) }

// LedgerStoreStream is the event-store stream of ledger markers and reorganisations of a network.
func LedgerStoreStream(networkID string) string { return "ledgers-" + networkID }

// ContractEventObserved keeps a contract event that is not modelled (or could not be decoded) so that nothing
// from the chain is ever dropped. Topic is the first topic when it is a Symbol; StreamID the second when it is a
// u64. DecodeError says why a known topic could not be decoded.
type ContractEventObserved struct {
	ChainMeta   `json:"chain"`
	Topic       string  `json:"topic,omitempty"`
	StreamID    *uint64 `json:"streamId,omitempty"`
	DecodeError string  `json:"decodeError,omitempty"`
}

// EventReverted compensates an event of an abandoned branch; the reverted event itself stays in the store.
type EventReverted struct {
	RevertedEventID string    `json:"revertedEventId"`
	RevertedType    EventType `json:"revertedType"`
	RevertedLedger  uint32    `json:"revertedLedger"`
	ContractID      Address   `json:"contractId,omitempty"`
	StreamID        *uint64   `json:"streamId,omitempty"`
	Reason          string    `json:"reason"`
	Fork            uint32    `json:"fork"`
}

// EventRestored applies again an event that an EventReverted compensated: the chain came back to the branch that
// holds it (A → B → A, as a source behind a load balancer with a stale node can). The event keeps its id (its place
// on the chain) and its record; only its standing changes. An event stands when the last of its compensations, in
// the order of the log, is a restoration (or it has none).
type EventRestored struct {
	RestoredEventID string    `json:"restoredEventId"`
	RestoredType    EventType `json:"restoredType"`
	RestoredLedger  uint32    `json:"restoredLedger"`
	ContractID      Address   `json:"contractId,omitempty"`
	StreamID        *uint64   `json:"streamId,omitempty"`
	Reason          string    `json:"reason"`
	Fork            uint32    `json:"fork"`
}

// RevertReasonReorg is the reason of reversals caused by a chain reorganisation.
const RevertReasonReorg = "reorg"

// LedgerReplacement is one ledger of an abandoned branch and the ledger that replaced it.
type LedgerReplacement struct {
	Ledger  uint32 `json:"ledger"`
	OldHash string `json:"oldHash"`
	NewHash string `json:"newHash,omitempty"`
}

// ChainReorganized marks a reorganisation of the source chain at fork ledger Fork.
type ChainReorganized struct {
	NetworkID string              `json:"networkId"`
	Fork      uint32              `json:"fork"`
	OldTip    uint32              `json:"oldTip"`
	NewTip    uint32              `json:"newTip"`
	Replaced  []LedgerReplacement `json:"replaced"`
}

// LedgerClosed marks a ledger as ingested, with its place in the hash chain.
type LedgerClosed struct {
	NetworkID    string    `json:"networkId"`
	Ledger       uint32    `json:"ledger"`
	Hash         string    `json:"hash"`
	PreviousHash string    `json:"previousHash"`
	ClosedAt     time.Time `json:"closedAt"`
	EventCount   int       `json:"eventCount"`
}

// LedgersVerified marks a run of consecutive final ledgers, First..Last, that hold no event of the configured
// contracts, as ingested: each one's header hashed to its stated hash and linked to the one before it, from
// PreviousHash (First's parent, the ledger marked before) to Hash (Last's). One marker stands for the whole run, so
// that years of history cost a few bytes a ledger instead of an event each; ledgers with events and those within
// the safety margin of the tip keep a LedgerClosed marker each.
type LedgersVerified struct {
	NetworkID     string    `json:"networkId"`
	First         uint32    `json:"first"`
	Last          uint32    `json:"last"`
	PreviousHash  string    `json:"previousHash"`
	Hash          string    `json:"hash"`
	FirstClosedAt time.Time `json:"firstClosedAt"`
	ClosedAt      time.Time `json:"closedAt"`
}

// OperatorStream is the event-store stream of operator actions.
const OperatorStream = "operator"

// OperatorRewound records an operator's rewind of ingestion to ledger To (after a reorg deeper than the safety
// margin halted it): the ledgers above To were compensated like any reorg, and ingestion resumes from To+1.
type OperatorRewound struct {
	NetworkID string `json:"networkId"`
	From      uint32 `json:"from"`
	To        uint32 `json:"to"`
	Reason    string `json:"reason"`
	Operator  string `json:"operator"`
}

// WebhookEndpointsStream is the event-store stream of the webhook endpoint registry: registrations are events,
// so that the outbox, a projection, knows from the log alone which endpoint gets which event.
const WebhookEndpointsStream = "webhook-endpoints"

// WebhookEndpointAdded registers an endpoint: it receives the events (of EventTypes, all when empty) that become
// final after this event. Its secret is not an event: it never enters the log.
type WebhookEndpointAdded struct {
	EndpointID  string   `json:"endpointId"`
	URL         string   `json:"url"`
	EventTypes  []string `json:"eventTypes,omitempty"`
	Description string   `json:"description,omitempty"`
	// ExtraSignatures are the signature schemes asked for besides the two every delivery carries.
	ExtraSignatures []string `json:"extraSignatures,omitempty"`
}

// WebhookEndpointRemoved unregisters an endpoint.
type WebhookEndpointRemoved struct {
	EndpointID string `json:"endpointId"`
}

func (*ContractEventObserved) Type() EventType  { return TypeContractEventObserved }
func (*EventReverted) Type() EventType          { return TypeEventReverted }
func (*EventRestored) Type() EventType          { return TypeEventRestored }
func (*ChainReorganized) Type() EventType       { return TypeChainReorganized }
func (*LedgerClosed) Type() EventType           { return TypeLedgerClosed }
func (*LedgersVerified) Type() EventType        { return TypeLedgersVerified }
func (*OperatorRewound) Type() EventType        { return TypeOperatorRewound }
func (*WebhookEndpointAdded) Type() EventType   { return TypeWebhookEndpointAdded }
func (*WebhookEndpointRemoved) Type() EventType { return TypeWebhookEndpointRemoved }

// Decoding errors.
var (
	ErrUnknownEventType   = errors.New("unknown event type")
	ErrUnsupportedSchema  = errors.New("unsupported event schema version")
	ErrMalformedEventJSON = errors.New("malformed event JSON")
)

type envelope struct {
	Type          EventType       `json:"type"`
	SchemaVersion int             `json:"schemaVersion"`
	Event         json.RawMessage `json:"event"`
}

// Marshal encodes e in the stable stored form {"type", "schemaVersion", "event"}.
// The envelope is written by hand: marshalling it as a struct would make encoding/json re-validate the whole
// body, which doubled the cost of storing an event. Event type names are plain identifiers and need no escaping.
func Marshal(e Event) ([]byte, error) {
	// Encoded in a pooled buffer and copied out at its size: events are 0.3 to 1.5 KB, and a buffer sized for the
	// largest costs more to clear than the copy.
	buf := marshalBuffers.Get().(*[]byte)
	defer marshalBuffers.Put(buf)
	out := (*buf)[:0]
	out = append(out, `{"type":"`...)
	out = append(out, e.Type()...)
	out = append(out, `","schemaVersion":`...)
	out = strconv.AppendInt(out, SchemaVersion, 10)
	out = append(out, `,"event":`...)
	out, err := AppendJSON(out, e)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", e.Type(), err)
	}
	out = append(out, '}')
	*buf = out
	return bytes.Clone(out), nil
}

var marshalBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (r *Registry) unmarshal(data []byte, shared bool) (Event, error) {
	if name, body, ok := splitEnvelope(data); ok {
		if e := r.newNamed(name); e != nil && decodeLayout(body, e, shared) {
			return e, nil
		}
		if e := r.newNamed(name); e != nil && json.Unmarshal(body, e) == nil {
			return e, nil
		}
		// Not what Marshal writes after all: the general path decides, and explains.
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedEventJSON, err)
	}
	if env.SchemaVersion < 1 || env.SchemaVersion > SchemaVersion {
		return nil, fmt.Errorf("%w: %s v%d (this build reads up to v%d)", ErrUnsupportedSchema, env.Type,
			env.SchemaVersion, SchemaVersion)
	}
	e := r.New(env.Type)
	if e == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownEventType, env.Type)
	}
	if err := json.Unmarshal(env.Event, e); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformedEventJSON, env.Type, err)
	}
	return e, nil
}

// splitEnvelope recognises the exact envelope Marshal writes, `{"type":"T","schemaVersion":1,"event":BODY}`, so
// that reading an event decodes its body once instead of scanning it for the envelope first (rebuilds decode
// every event of the log). Anything else takes the general path.
func splitEnvelope(data []byte) (name, body []byte, ok bool) {
	const prefix, middle = `{"type":"`, `","schemaVersion":1,"event":`
	rest, ok := bytes.CutPrefix(data, []byte(prefix))
	if !ok || len(data) == 0 || data[len(data)-1] != '}' {
		return nil, nil, false
	}
	name, body, ok = bytes.Cut(rest, []byte(middle))
	if !ok || len(name) == 0 || len(name) > 64 {
		return nil, nil, false
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return nil, nil, false
		}
	}
	return name, body[:len(body)-1], true
}

// Standing tells, from a stream's events in the order of the log, which events a compensation took back: an event
// whose last compensation is an EventReverted. Compensations refer to events by id.
func Standing(events []Entry) (revertedNow map[string]bool) {
	revertedNow = map[string]bool{}
	for _, en := range events {
		switch c := en.Event.(type) {
		case *EventReverted:
			revertedNow[c.RevertedEventID] = true
		case *EventRestored:
			delete(revertedNow, c.RestoredEventID)
		}
	}
	return revertedNow
}

// IsCompensation tells whether e compensates another event (a reversal or a restoration) rather than being one.
func IsCompensation(e Event) bool {
	switch e.(type) {
	case *EventReverted, *EventRestored:
		return true
	}
	return false
}

// Implied is an event a contract event implies although the contract emits none for it (a delegation opens its
// child stream's history), with an id derived from the contract event's. A module says which (DESIGN §12).
type Implied struct {
	ID    string
	Event Event
}
