package fluxora

import (
	"strconv"
	"strings"

	"github.com/streamledger/streamledger/domain"
)

// Event types of payment streams. The names are part of the stored format: never rename one.
const (
	TypeStreamCreated          domain.EventType = "StreamCreated"
	TypeStreamWithdrawn        domain.EventType = "StreamWithdrawn"
	TypeStreamCancelled        domain.EventType = "StreamCancelled"
	TypeStreamCompleted        domain.EventType = "StreamCompleted"
	TypeStreamClosed           domain.EventType = "StreamClosed"
	TypeStreamPaused           domain.EventType = "StreamPaused"
	TypeStreamResumed          domain.EventType = "StreamResumed"
	TypeStreamRateUpdated      domain.EventType = "StreamRateUpdated"
	TypeStreamRateDecreased    domain.EventType = "StreamRateDecreased"
	TypeStreamEndShortened     domain.EventType = "StreamEndShortened"
	TypeStreamEndExtended      domain.EventType = "StreamEndExtended"
	TypeStreamToppedUp         domain.EventType = "StreamToppedUp"
	TypeStreamRecipientUpdated domain.EventType = "StreamRecipientUpdated"
	TypeStreamCloned           domain.EventType = "StreamCloned"
	TypeStreamKeeperCancelled  domain.EventType = "StreamKeeperCancelled"
)

// StreamRef names one payment stream: the contract and the stream id within it.
type StreamRef struct {
	ContractID domain.Address `json:"contractId"`
	StreamID   uint64         `json:"streamId"`
}

// String is the API form "{contractId}:{streamId}".
func (r StreamRef) String() string {
	return string(r.ContractID) + ":" + strconv.FormatUint(r.StreamID, 10)
}

// StoreStream is the event-store stream of a payment stream.
func (r StreamRef) StoreStream() string {
	return paymentStreamPrefix + string(r.ContractID) + "-" + strconv.FormatUint(r.StreamID, 10)
}

const paymentStreamPrefix = "fluxora-"

// IsPaymentStoreStream reports whether an event-store stream is a payment stream's (StoreStream): the only
// streams that hold the events of a payment stream, its reversals included.
func IsPaymentStoreStream(name string) bool { return strings.HasPrefix(name, paymentStreamPrefix) }

// StreamCreated is the contract's `created` event.
type StreamCreated struct {
	domain.ChainMeta      `json:"chain"`
	StreamID              uint64          `json:"streamId"`
	Sender                domain.Address  `json:"sender"`
	Recipient             domain.Address  `json:"recipient"`
	DepositAmount         domain.Amount   `json:"depositAmount"`
	RatePerSecond         domain.Amount   `json:"ratePerSecond"`
	StartTime             uint64          `json:"startTime"`
	CliffTime             uint64          `json:"cliffTime"`
	EndTime               uint64          `json:"endTime"`
	WithdrawDustThreshold domain.Amount   `json:"withdrawDustThreshold"`
	Memo                  []byte          `json:"memo,omitempty"`
	Metadata              []MetadataEntry `json:"metadata,omitempty"`
}

// MetadataEntry is one pair of the optional Map<Bytes, Bytes> a stream is created with.
type MetadataEntry struct {
	Key   []byte `json:"key"`
	Value []byte `json:"value"`
}

// StreamWithdrawn is the contract's `withdrew` and `wdraw_to` events; Destination is set for `wdraw_to`.
type StreamWithdrawn struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64         `json:"streamId"`
	Recipient        domain.Address `json:"recipient"`
	Destination      domain.Address `json:"destination,omitempty"`
	Amount           domain.Amount  `json:"amount"`
}

// StreamCancelled is `cancelled`; the contract sends no time, so CancelledAt is the ledger close time.
type StreamCancelled struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64 `json:"streamId"`
	CancelledAt      uint64 `json:"cancelledAt"`
}

// StreamCompleted is `completed`.
type StreamCompleted struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64 `json:"streamId"`
}

// StreamClosed is `closed`: the contract deleted the stream's storage.
type StreamClosed struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64 `json:"streamId"`
}

// Pause reasons the contract sends.
const (
	PauseOperational    = "Operational"
	PauseAdministrative = "Administrative"
	PauseEmergency      = "Emergency"
	PauseCompliance     = "Compliance"
)

// StreamPaused is `paused`.
type StreamPaused struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64 `json:"streamId"`
	Reason           string `json:"reason"`
}

// StreamResumed is `resumed`.
type StreamResumed struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64 `json:"streamId"`
}

// StreamRateUpdated is `rate_upd` (an increase).
type StreamRateUpdated struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64        `json:"streamId"`
	OldRatePerSecond domain.Amount `json:"oldRatePerSecond"`
	NewRatePerSecond domain.Amount `json:"newRatePerSecond"`
	EffectiveTime    uint64        `json:"effectiveTime"`
}

// StreamRateDecreased is `rate_dec`.
type StreamRateDecreased struct {
	domain.ChainMeta   `json:"chain"`
	StreamID           uint64        `json:"streamId"`
	OldRatePerSecond   domain.Amount `json:"oldRatePerSecond"`
	NewRatePerSecond   domain.Amount `json:"newRatePerSecond"`
	EffectiveTime      uint64        `json:"effectiveTime"`
	CheckpointedAmount domain.Amount `json:"checkpointedAmount"`
	RefundAmount       domain.Amount `json:"refundAmount"`
}

// StreamEndShortened is `end_shrt`.
type StreamEndShortened struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64        `json:"streamId"`
	OldEndTime       uint64        `json:"oldEndTime"`
	NewEndTime       uint64        `json:"newEndTime"`
	RefundAmount     domain.Amount `json:"refundAmount"`
}

// StreamEndExtended is `end_ext`.
type StreamEndExtended struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64 `json:"streamId"`
	OldEndTime       uint64 `json:"oldEndTime"`
	NewEndTime       uint64 `json:"newEndTime"`
}

// StreamToppedUp is `top_up`.
type StreamToppedUp struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64        `json:"streamId"`
	TopUpAmount      domain.Amount `json:"topUpAmount"`
	NewDepositAmount domain.Amount `json:"newDepositAmount"`
	NewEndTime       uint64        `json:"newEndTime"`
}

// StreamRecipientUpdated is `recp_upd`.
type StreamRecipientUpdated struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64         `json:"streamId"`
	OldRecipient     domain.Address `json:"oldRecipient"`
	NewRecipient     domain.Address `json:"newRecipient"`
}

// StreamCloned is `cloned`, emitted right after the `created` of the new stream; it belongs to the new stream.
type StreamCloned struct {
	domain.ChainMeta      `json:"chain"`
	NewStreamID           uint64         `json:"newStreamId"`
	SourceStreamID        uint64         `json:"sourceStreamId"`
	Sender                domain.Address `json:"sender"`
	Recipient             domain.Address `json:"recipient"`
	DepositAmount         domain.Amount  `json:"depositAmount"`
	RatePerSecond         domain.Amount  `json:"ratePerSecond"`
	StartTime             uint64         `json:"startTime"`
	CliffTime             uint64         `json:"cliffTime"`
	EndTime               uint64         `json:"endTime"`
	WithdrawDustThreshold domain.Amount  `json:"withdrawDustThreshold"`
}

// StreamKeeperCancelled is `kp_cncl`: a keeper cancelled a stream after its grace period, for a fee.
type StreamKeeperCancelled struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64         `json:"streamId"`
	Keeper           domain.Address `json:"keeper"`
	KeeperFee        domain.Amount  `json:"keeperFee"`
	RecipientAmount  domain.Amount  `json:"recipientAmount"`
	SenderRefund     domain.Amount  `json:"senderRefund"`
}

func (*StreamCreated) Type() domain.EventType          { return TypeStreamCreated }
func (*StreamWithdrawn) Type() domain.EventType        { return TypeStreamWithdrawn }
func (*StreamCancelled) Type() domain.EventType        { return TypeStreamCancelled }
func (*StreamCompleted) Type() domain.EventType        { return TypeStreamCompleted }
func (*StreamClosed) Type() domain.EventType           { return TypeStreamClosed }
func (*StreamPaused) Type() domain.EventType           { return TypeStreamPaused }
func (*StreamResumed) Type() domain.EventType          { return TypeStreamResumed }
func (*StreamRateUpdated) Type() domain.EventType      { return TypeStreamRateUpdated }
func (*StreamRateDecreased) Type() domain.EventType    { return TypeStreamRateDecreased }
func (*StreamEndShortened) Type() domain.EventType     { return TypeStreamEndShortened }
func (*StreamEndExtended) Type() domain.EventType      { return TypeStreamEndExtended }
func (*StreamToppedUp) Type() domain.EventType         { return TypeStreamToppedUp }
func (*StreamRecipientUpdated) Type() domain.EventType { return TypeStreamRecipientUpdated }
func (*StreamCloned) Type() domain.EventType           { return TypeStreamCloned }
func (*StreamKeeperCancelled) Type() domain.EventType  { return TypeStreamKeeperCancelled }

func (e *StreamCreated) SubjectNumber() uint64          { return e.StreamID }
func (e *StreamWithdrawn) SubjectNumber() uint64        { return e.StreamID }
func (e *StreamCancelled) SubjectNumber() uint64        { return e.StreamID }
func (e *StreamCompleted) SubjectNumber() uint64        { return e.StreamID }
func (e *StreamClosed) SubjectNumber() uint64           { return e.StreamID }
func (e *StreamPaused) SubjectNumber() uint64           { return e.StreamID }
func (e *StreamResumed) SubjectNumber() uint64          { return e.StreamID }
func (e *StreamRateUpdated) SubjectNumber() uint64      { return e.StreamID }
func (e *StreamRateDecreased) SubjectNumber() uint64    { return e.StreamID }
func (e *StreamEndShortened) SubjectNumber() uint64     { return e.StreamID }
func (e *StreamEndExtended) SubjectNumber() uint64      { return e.StreamID }
func (e *StreamToppedUp) SubjectNumber() uint64         { return e.StreamID }
func (e *StreamRecipientUpdated) SubjectNumber() uint64 { return e.StreamID }
func (e *StreamCloned) SubjectNumber() uint64           { return e.NewStreamID }
func (e *StreamKeeperCancelled) SubjectNumber() uint64  { return e.StreamID }

// StreamOf tells which payment stream an event belongs to, if any: stream events, observed events whose second
// topic is a stream id, and reversals of either (domain.SubjectOf).
func StreamOf(e domain.Event) (StreamRef, bool) {
	contract, id, ok := domain.SubjectOf(e)
	return StreamRef{ContractID: contract, StreamID: id}, ok
}
