package fluxora

import (
	"fmt"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/scval"
)

// Topic symbols of the Fluxora contract's modelled events (DESIGN §2).
const (
	TopicCreated     = "created"
	TopicWithdrew    = "withdrew"
	TopicWithdrewTo  = "wdraw_to"
	TopicCancelled   = "cancelled"
	TopicCompleted   = "completed"
	TopicClosed      = "closed"
	TopicPaused      = "paused"
	TopicResumed     = "resumed"
	TopicRateUpdated = "rate_upd"
	TopicRateDecr    = "rate_dec"
	TopicEndShort    = "end_shrt"
	TopicEndExt      = "end_ext"
	TopicTopUp       = "top_up"
	TopicRecipient   = "recp_upd"
	TopicCloned      = "cloned"
	TopicKeeperCncl  = "kp_cncl"
)

// topicDecoders decode the payload of a known topic whose stream id (the second topic) is id.
var topicDecoders = map[string]func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error){
	TopicCreated: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamCreated{ChainMeta: m, StreamID: f.U64("stream_id"), Sender: f.Address("sender"),
			Recipient: f.Address("recipient"), DepositAmount: f.Amount("deposit_amount"),
			RatePerSecond: f.Amount("rate_per_second"), StartTime: f.U64("start_time"), CliffTime: f.U64("cliff_time"),
			EndTime: f.U64("end_time"), WithdrawDustThreshold: f.Amount("withdraw_dust_threshold"),
			Memo: f.OptBytes("memo"), Metadata: metadataOf(f.OptBytesMap("metadata"))}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	TopicWithdrew: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamWithdrawn{ChainMeta: m, StreamID: f.U64("stream_id"), Recipient: f.Address("recipient"),
			Amount: f.Amount("amount")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	TopicWithdrewTo: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamWithdrawn{ChainMeta: m, StreamID: f.U64("stream_id"), Recipient: f.Address("recipient"),
			Destination: f.Address("destination"), Amount: f.Amount("amount")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	// The contract sends no time with a cancellation: it happened at the ledger's close.
	TopicCancelled: variantTopic("StreamCancelled", func(m domain.ChainMeta, id uint64) domain.Event {
		return &StreamCancelled{ChainMeta: m, StreamID: id, CancelledAt: m.CloseTime()}
	}),
	TopicCompleted: variantTopic("StreamCompleted", func(m domain.ChainMeta, id uint64) domain.Event {
		return &StreamCompleted{ChainMeta: m, StreamID: id}
	}),
	TopicClosed: variantTopic("StreamClosed", func(m domain.ChainMeta, id uint64) domain.Event {
		return &StreamClosed{ChainMeta: m, StreamID: id}
	}),
	TopicPaused: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamPaused{ChainMeta: m, StreamID: f.U64("stream_id"), Reason: f.Str("reason")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	TopicResumed: variantTopic("Resumed", func(m domain.ChainMeta, id uint64) domain.Event {
		return &StreamResumed{ChainMeta: m, StreamID: id}
	}),
	TopicRateUpdated: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamRateUpdated{ChainMeta: m, StreamID: f.U64("stream_id"),
			OldRatePerSecond: f.Amount("old_rate_per_second"), NewRatePerSecond: f.Amount("new_rate_per_second"),
			EffectiveTime: f.U64("effective_time")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	TopicRateDecr: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamRateDecreased{ChainMeta: m, StreamID: f.U64("stream_id"),
			OldRatePerSecond: f.Amount("old_rate_per_second"), NewRatePerSecond: f.Amount("new_rate_per_second"),
			EffectiveTime: f.U64("effective_time"), CheckpointedAmount: f.Amount("checkpointed_amount"),
			RefundAmount: f.Amount("refund_amount")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	TopicEndShort: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamEndShortened{ChainMeta: m, StreamID: f.U64("stream_id"), OldEndTime: f.U64("old_end_time"),
			NewEndTime: f.U64("new_end_time"), RefundAmount: f.Amount("refund_amount")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	TopicEndExt: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamEndExtended{ChainMeta: m, StreamID: f.U64("stream_id"), OldEndTime: f.U64("old_end_time"),
			NewEndTime: f.U64("new_end_time")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	TopicTopUp: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamToppedUp{ChainMeta: m, StreamID: f.U64("stream_id"), TopUpAmount: f.Amount("top_up_amount"),
			NewDepositAmount: f.Amount("new_deposit_amount"), NewEndTime: f.U64("new_end_time")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	TopicRecipient: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamRecipientUpdated{ChainMeta: m, StreamID: f.U64("stream_id"),
			OldRecipient: f.Address("old_recipient"), NewRecipient: f.Address("new_recipient")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	TopicCloned: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamCloned{ChainMeta: m, NewStreamID: f.U64("new_stream_id"),
			SourceStreamID: f.U64("source_stream_id"), Sender: f.Address("sender"), Recipient: f.Address("recipient"),
			DepositAmount: f.Amount("deposit_amount"), RatePerSecond: f.Amount("rate_per_second"),
			StartTime: f.U64("start_time"), CliffTime: f.U64("cliff_time"), EndTime: f.U64("end_time"),
			WithdrawDustThreshold: f.Amount("withdraw_dust_threshold")}
		return e, sameID(f.Err(), id, e.NewStreamID)
	},
	TopicKeeperCncl: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamKeeperCancelled{ChainMeta: m, StreamID: f.U64("stream_id"), Keeper: f.Address("keeper"),
			KeeperFee: f.Amount("keeper_fee"), RecipientAmount: f.Amount("recipient_amount"),
			SenderRefund: f.Amount("sender_refund")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
}

// variantTopic decodes a topic whose payload is the `StreamEvent::name(u64)` variant.
func variantTopic(name string, build func(m domain.ChainMeta, id uint64) domain.Event) func(domain.ChainMeta, uint64, xdr.ScVal) (domain.Event, error) {
	return func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		got, err := scval.Variant(data, name)
		return build(m, got), sameID(err, id, got)
	}
}

// sameID returns err, or an error when the payload names another stream than the topic: an event filed under the
// wrong stream would corrupt two streams at once.
func sameID(err error, topicID, payloadID uint64) error {
	if err != nil {
		return err
	}
	if topicID != payloadID {
		return fmt.Errorf("%w: payload is about stream %d, the topic about stream %d", scval.ErrShape, payloadID, topicID)
	}
	return nil
}

// metadataOf is a stream's optional metadata map: None stays nil, an empty map an empty slice.
func metadataOf(pairs []scval.BytesPair) []MetadataEntry {
	if pairs == nil {
		return nil
	}
	out := make([]MetadataEntry, len(pairs))
	for i, p := range pairs {
		out[i] = MetadataEntry{Key: p.Key, Value: p.Value}
	}
	return out
}
