package domain

import (
	"strconv"
	"strings"
)

// Event types of payment streams. The names are part of the stored format: never rename one.
const (
	TypeStreamCreated          EventType = "StreamCreated"
	TypeStreamWithdrawn        EventType = "StreamWithdrawn"
	TypeStreamCancelled        EventType = "StreamCancelled"
	TypeStreamCompleted        EventType = "StreamCompleted"
	TypeStreamClosed           EventType = "StreamClosed"
	TypeStreamPaused           EventType = "StreamPaused"
	TypeStreamResumed          EventType = "StreamResumed"
	TypeStreamRateUpdated      EventType = "StreamRateUpdated"
	TypeStreamRateDecreased    EventType = "StreamRateDecreased"
	TypeStreamEndShortened     EventType = "StreamEndShortened"
	TypeStreamEndExtended      EventType = "StreamEndExtended"
	TypeStreamToppedUp         EventType = "StreamToppedUp"
	TypeStreamRecipientUpdated EventType = "StreamRecipientUpdated"
	TypeStreamCloned           EventType = "StreamCloned"
	TypeStreamKeeperCancelled  EventType = "StreamKeeperCancelled"
)

// StreamRef names one payment stream: the contract and the stream id within it.
type StreamRef struct {
	ContractID Address `json:"contractId"`
	StreamID   uint64  `json:"streamId"`
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
	ChainMeta             `json:"chain"`
	StreamID              uint64          `json:"streamId"`
	Sender                Address         `json:"sender"`
	Recipient             Address         `json:"recipient"`
	DepositAmount         Amount          `json:"depositAmount"`
	RatePerSecond         Amount          `json:"ratePerSecond"`
	StartTime             uint64          `json:"startTime"`
	CliffTime             uint64          `json:"cliffTime"`
	EndTime               uint64          `json:"endTime"`
	WithdrawDustThreshold Amount          `json:"withdrawDustThreshold"`
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
	ChainMeta   `json:"chain"`
	StreamID    uint64  `json:"streamId"`
	Recipient   Address `json:"recipient"`
	Destination Address `json:"destination,omitempty"`
	Amount      Amount  `json:"amount"`
}

// StreamCancelled is `cancelled`; the contract sends no time, so CancelledAt is the ledger close time.
type StreamCancelled struct {
	ChainMeta   `json:"chain"`
	StreamID    uint64 `json:"streamId"`
	CancelledAt uint64 `json:"cancelledAt"`
}

// StreamCompleted is `completed`.
type StreamCompleted struct {
	ChainMeta `json:"chain"`
	StreamID  uint64 `json:"streamId"`
}

// StreamClosed is `closed`: the contract deleted the stream's storage.
type StreamClosed struct {
	ChainMeta `json:"chain"`
	StreamID  uint64 `json:"streamId"`
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
	ChainMeta `json:"chain"`
	StreamID  uint64 `json:"streamId"`
	Reason    string `json:"reason"`
}

// StreamResumed is `resumed`.
type StreamResumed struct {
	ChainMeta `json:"chain"`
	StreamID  uint64 `json:"streamId"`
}

// StreamRateUpdated is `rate_upd` (an increase).
type StreamRateUpdated struct {
	ChainMeta        `json:"chain"`
	StreamID         uint64 `json:"streamId"`
	OldRatePerSecond Amount `json:"oldRatePerSecond"`
	NewRatePerSecond Amount `json:"newRatePerSecond"`
	EffectiveTime    uint64 `json:"effectiveTime"`
}

// StreamRateDecreased is `rate_dec`.
type StreamRateDecreased struct {
	ChainMeta          `json:"chain"`
	StreamID           uint64 `json:"streamId"`
	OldRatePerSecond   Amount `json:"oldRatePerSecond"`
	NewRatePerSecond   Amount `json:"newRatePerSecond"`
	EffectiveTime      uint64 `json:"effectiveTime"`
	CheckpointedAmount Amount `json:"checkpointedAmount"`
	RefundAmount       Amount `json:"refundAmount"`
}

// StreamEndShortened is `end_shrt`.
type StreamEndShortened struct {
	ChainMeta    `json:"chain"`
	StreamID     uint64 `json:"streamId"`
	OldEndTime   uint64 `json:"oldEndTime"`
	NewEndTime   uint64 `json:"newEndTime"`
	RefundAmount Amount `json:"refundAmount"`
}

// StreamEndExtended is `end_ext`.
type StreamEndExtended struct {
	ChainMeta  `json:"chain"`
	StreamID   uint64 `json:"streamId"`
	OldEndTime uint64 `json:"oldEndTime"`
	NewEndTime uint64 `json:"newEndTime"`
}

// StreamToppedUp is `top_up`.
type StreamToppedUp struct {
	ChainMeta        `json:"chain"`
	StreamID         uint64 `json:"streamId"`
	TopUpAmount      Amount `json:"topUpAmount"`
	NewDepositAmount Amount `json:"newDepositAmount"`
	NewEndTime       uint64 `json:"newEndTime"`
}

// StreamRecipientUpdated is `recp_upd`.
type StreamRecipientUpdated struct {
	ChainMeta    `json:"chain"`
	StreamID     uint64  `json:"streamId"`
	OldRecipient Address `json:"oldRecipient"`
	NewRecipient Address `json:"newRecipient"`
}

// StreamCloned is `cloned`, emitted right after the `created` of the new stream; it belongs to the new stream.
type StreamCloned struct {
	ChainMeta             `json:"chain"`
	NewStreamID           uint64  `json:"newStreamId"`
	SourceStreamID        uint64  `json:"sourceStreamId"`
	Sender                Address `json:"sender"`
	Recipient             Address `json:"recipient"`
	DepositAmount         Amount  `json:"depositAmount"`
	RatePerSecond         Amount  `json:"ratePerSecond"`
	StartTime             uint64  `json:"startTime"`
	CliffTime             uint64  `json:"cliffTime"`
	EndTime               uint64  `json:"endTime"`
	WithdrawDustThreshold Amount  `json:"withdrawDustThreshold"`
}

// StreamKeeperCancelled is `kp_cncl`: a keeper cancelled a stream after its grace period, for a fee.
type StreamKeeperCancelled struct {
	ChainMeta       `json:"chain"`
	StreamID        uint64  `json:"streamId"`
	Keeper          Address `json:"keeper"`
	KeeperFee       Amount  `json:"keeperFee"`
	RecipientAmount Amount  `json:"recipientAmount"`
	SenderRefund    Amount  `json:"senderRefund"`
}

func (*StreamCreated) Type() EventType          { return TypeStreamCreated }
func (*StreamWithdrawn) Type() EventType        { return TypeStreamWithdrawn }
func (*StreamCancelled) Type() EventType        { return TypeStreamCancelled }
func (*StreamCompleted) Type() EventType        { return TypeStreamCompleted }
func (*StreamClosed) Type() EventType           { return TypeStreamClosed }
func (*StreamPaused) Type() EventType           { return TypeStreamPaused }
func (*StreamResumed) Type() EventType          { return TypeStreamResumed }
func (*StreamRateUpdated) Type() EventType      { return TypeStreamRateUpdated }
func (*StreamRateDecreased) Type() EventType    { return TypeStreamRateDecreased }
func (*StreamEndShortened) Type() EventType     { return TypeStreamEndShortened }
func (*StreamEndExtended) Type() EventType      { return TypeStreamEndExtended }
func (*StreamToppedUp) Type() EventType         { return TypeStreamToppedUp }
func (*StreamRecipientUpdated) Type() EventType { return TypeStreamRecipientUpdated }
func (*StreamCloned) Type() EventType           { return TypeStreamCloned }
func (*StreamKeeperCancelled) Type() EventType  { return TypeStreamKeeperCancelled }

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
func StreamOf(e Event) (StreamRef, bool) {
	contract, id, ok := SubjectOf(e)
	return StreamRef{ContractID: contract, StreamID: id}, ok
}
