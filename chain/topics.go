package chain

import (
	"fmt"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
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
		f := structOf(data)
		e := &domain.StreamCreated{ChainMeta: m, StreamID: f.u64("stream_id"), Sender: f.address("sender"),
			Recipient: f.address("recipient"), DepositAmount: f.amount("deposit_amount"),
			RatePerSecond: f.amount("rate_per_second"), StartTime: f.u64("start_time"), CliffTime: f.u64("cliff_time"),
			EndTime: f.u64("end_time"), WithdrawDustThreshold: f.amount("withdraw_dust_threshold"),
			Memo: f.optBytes("memo"), Metadata: f.optMetadata("metadata")}
		return e, f.check(id, e.StreamID)
	},
	TopicWithdrew: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamWithdrawn{ChainMeta: m, StreamID: f.u64("stream_id"), Recipient: f.address("recipient"),
			Amount: f.amount("amount")}
		return e, f.check(id, e.StreamID)
	},
	TopicWithdrewTo: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamWithdrawn{ChainMeta: m, StreamID: f.u64("stream_id"), Recipient: f.address("recipient"),
			Destination: f.address("destination"), Amount: f.amount("amount")}
		return e, f.check(id, e.StreamID)
	},
	// The contract sends no time with a cancellation: it happened at the ledger's close.
	TopicCancelled: variantTopic("StreamCancelled", func(m domain.ChainMeta, id uint64) domain.Event {
		return &domain.StreamCancelled{ChainMeta: m, StreamID: id, CancelledAt: m.CloseTime()}
	}),
	TopicCompleted: variantTopic("StreamCompleted", func(m domain.ChainMeta, id uint64) domain.Event {
		return &domain.StreamCompleted{ChainMeta: m, StreamID: id}
	}),
	TopicClosed: variantTopic("StreamClosed", func(m domain.ChainMeta, id uint64) domain.Event {
		return &domain.StreamClosed{ChainMeta: m, StreamID: id}
	}),
	TopicPaused: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamPaused{ChainMeta: m, StreamID: f.u64("stream_id"), Reason: f.str("reason")}
		return e, f.check(id, e.StreamID)
	},
	TopicResumed: variantTopic("Resumed", func(m domain.ChainMeta, id uint64) domain.Event {
		return &domain.StreamResumed{ChainMeta: m, StreamID: id}
	}),
	TopicRateUpdated: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamRateUpdated{ChainMeta: m, StreamID: f.u64("stream_id"),
			OldRatePerSecond: f.amount("old_rate_per_second"), NewRatePerSecond: f.amount("new_rate_per_second"),
			EffectiveTime: f.u64("effective_time")}
		return e, f.check(id, e.StreamID)
	},
	TopicRateDecr: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamRateDecreased{ChainMeta: m, StreamID: f.u64("stream_id"),
			OldRatePerSecond: f.amount("old_rate_per_second"), NewRatePerSecond: f.amount("new_rate_per_second"),
			EffectiveTime: f.u64("effective_time"), CheckpointedAmount: f.amount("checkpointed_amount"),
			RefundAmount: f.amount("refund_amount")}
		return e, f.check(id, e.StreamID)
	},
	TopicEndShort: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamEndShortened{ChainMeta: m, StreamID: f.u64("stream_id"), OldEndTime: f.u64("old_end_time"),
			NewEndTime: f.u64("new_end_time"), RefundAmount: f.amount("refund_amount")}
		return e, f.check(id, e.StreamID)
	},
	TopicEndExt: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamEndExtended{ChainMeta: m, StreamID: f.u64("stream_id"), OldEndTime: f.u64("old_end_time"),
			NewEndTime: f.u64("new_end_time")}
		return e, f.check(id, e.StreamID)
	},
	TopicTopUp: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamToppedUp{ChainMeta: m, StreamID: f.u64("stream_id"), TopUpAmount: f.amount("top_up_amount"),
			NewDepositAmount: f.amount("new_deposit_amount"), NewEndTime: f.u64("new_end_time")}
		return e, f.check(id, e.StreamID)
	},
	TopicRecipient: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamRecipientUpdated{ChainMeta: m, StreamID: f.u64("stream_id"),
			OldRecipient: f.address("old_recipient"), NewRecipient: f.address("new_recipient")}
		return e, f.check(id, e.StreamID)
	},
	TopicCloned: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamCloned{ChainMeta: m, NewStreamID: f.u64("new_stream_id"),
			SourceStreamID: f.u64("source_stream_id"), Sender: f.address("sender"), Recipient: f.address("recipient"),
			DepositAmount: f.amount("deposit_amount"), RatePerSecond: f.amount("rate_per_second"),
			StartTime: f.u64("start_time"), CliffTime: f.u64("cliff_time"), EndTime: f.u64("end_time"),
			WithdrawDustThreshold: f.amount("withdraw_dust_threshold")}
		return e, f.check(id, e.NewStreamID)
	},
	TopicKeeperCncl: func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamKeeperCancelled{ChainMeta: m, StreamID: f.u64("stream_id"), Keeper: f.address("keeper"),
			KeeperFee: f.amount("keeper_fee"), RecipientAmount: f.amount("recipient_amount"),
			SenderRefund: f.amount("sender_refund")}
		return e, f.check(id, e.StreamID)
	},
}

// variantTopic decodes a topic whose payload is the `StreamEvent::name(u64)` variant.
func variantTopic(name string, build func(m domain.ChainMeta, id uint64) domain.Event) func(domain.ChainMeta, uint64, xdr.ScVal) (domain.Event, error) {
	return func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		got, err := variant(data, name)
		return build(m, got), sameID(err, id, got)
	}
}

// check returns the first field error, or an error when the payload names another stream than the topic: an
// event filed under the wrong stream would corrupt two streams at once.
func (f *fields) check(topicID, payloadID uint64) error {
	if f.err != nil {
		return f.err
	}
	return sameID(nil, topicID, payloadID)
}

func sameID(err error, topicID, payloadID uint64) error {
	if err != nil {
		return err
	}
	if topicID != payloadID {
		return fmt.Errorf("%w: payload is about stream %d, the topic about stream %d", errShape, payloadID, topicID)
	}
	return nil
}

// decodeEvent turns one contract event into a domain event. It never fails: an unknown topic becomes a
// ContractEventObserved, and a known topic that does not decode becomes one with DecodeError set (decodeErr
// reports it too, for the metric), so nothing the chain said is ever dropped.
func decodeEvent(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (e domain.Event, topic string, decodeErr error) {
	observed := &domain.ContractEventObserved{ChainMeta: m}
	if len(topics) > 0 {
		if sym, ok := topics[0].GetSym(); ok {
			observed.Topic = string(sym)
		}
	}
	if len(topics) > 1 {
		if id, ok := topics[1].GetU64(); ok {
			v := uint64(id)
			observed.StreamID = &v
		}
	}
	if other, ok := otherTopics[observed.Topic]; ok {
		observed.StreamID = nil // a second topic here is an offer's, a template's, an address: never a stream's
		if e, decodeErr = other(m, topics, data); decodeErr == nil {
			return e, observed.Topic, nil
		}
		observed.DecodeError = decodeErr.Error()
		return observed, observed.Topic, decodeErr
	}
	decode, known := topicDecoders[observed.Topic]
	if !known {
		decode, known = streamTopicsMore[observed.Topic]
	}
	if !known {
		return observed, observed.Topic, nil
	}
	if observed.StreamID == nil {
		decodeErr = fmt.Errorf("%w: topic %q without a u64 stream id as its second topic", errShape, observed.Topic)
	} else {
		e, decodeErr = decode(m, *observed.StreamID, data)
		if decodeErr == nil {
			return e, observed.Topic, nil
		}
	}
	observed.DecodeError = decodeErr.Error()
	return observed, observed.Topic, decodeErr
}
