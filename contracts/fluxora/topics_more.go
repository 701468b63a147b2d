package fluxora

import (
	"fmt"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/internal/scval"
)

// The rest of the Fluxora stream contract's topics (docs/contracts.md): first those about one stream, whose
// second topic is its id (decoded like the topics of topics.go), then those whose second topic is something else
// or absent (otherTopics).
var streamTopicsMore = map[string]func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error){
	"del_share": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamShareDelegated{ChainMeta: m, ParentStreamID: f.U64("parent_stream_id"), ChildStreamID: f.U64("child_stream_id"),
			Delegator: f.Address("delegator"), Delegatee: f.Address("delegatee"), ShareBps: f.U32("share_bps"),
			NewParentRate: f.Amount("new_parent_rate"), ChildRate: f.Amount("child_rate")}
		if f.Err() == nil && e.ChildStreamID == e.ParentStreamID {
			return e, fmt.Errorf("%w: stream %d delegates to itself", scval.ErrShape, id)
		}
		return e, sameID(f.Err(), id, e.ParentStreamID)
	},
	"renewed": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamRenewed{ChainMeta: m, OldStreamID: f.U64("old_stream_id"), NewStreamID: f.U64("new_stream_id")}
		return e, sameID(f.Err(), id, e.OldStreamID)
	},
	"claim_own": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamClaimOwnerChanged{ChainMeta: m, StreamID: f.U64("stream_id"), OldOwner: f.OptAddress("old_owner"),
			NewOwner: f.Address("new_owner")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	"sndr_xfr": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamSenderTransferred{ChainMeta: m, StreamID: f.U64("stream_id"), OldSender: f.Address("old_sender"),
			NewSender: f.Address("new_sender")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	"decomm": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamDecommissioned{ChainMeta: m, StreamID: f.U64("stream_id"), Decommissioned: f.Bool("decommissioned")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	"health": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamHealthChanged{ChainMeta: m, StreamID: f.U64("stream_id"), Underfunded: f.Bool("is_underfunded"),
			RemainingBalance: f.Amount("remaining_balance"), SecondsRemaining: f.U64("seconds_remaining")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	"ac_set": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamAutoClaimSet{ChainMeta: m, StreamID: f.U64("stream_id"), Destination: f.Address("destination")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	"ac_revoke": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamAutoClaimRevoked{ChainMeta: m, StreamID: f.U64("stream_id")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	"ac_trig": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamAutoClaimTriggered{ChainMeta: m, StreamID: f.U64("stream_id"), Destination: f.Address("destination"),
			Amount: f.Amount("amount")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
	"rate_cap": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamRateCapEnforced{ChainMeta: m, StreamID: f.U64("stream_id"), AttemptedRate: f.Amount("attempted_rate"),
			MaxRatePerSecond: f.Amount("max_rate_per_second")}
		return e, sameID(f.Err(), id, e.StreamID)
	},
}

// otherTopics decode the topics that are not about one stream: the whole topic list is theirs to read.
var otherTopics = map[string]func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error){
	"offr_crt": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamOfferCreated{ChainMeta: m, OfferID: f.U64("offer_id"), Sender: f.Address("sender"), Recipient: f.Address("recipient"),
			DepositAmount: f.Amount("deposit_amount"), RatePerSecond: f.Amount("rate_per_second"), StartTime: f.U64("start_time"),
			CliffTime: f.U64("cliff_time"), EndTime: f.U64("end_time"), ExpiryTime: f.OptU64("expiry_time"), CreatedAt: f.U64("created_at")}
		return e, idTopic(f.Err(), topics, "offer", e.OfferID)
	},
	"offr_acc": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamOfferAccepted{ChainMeta: m, OfferID: f.U64("offer_id"), EffectiveStartTime: f.U64("effective_start_time"),
			Recipient: f.Address("recipient")}
		return e, idTopic(f.Err(), topics, "offer", e.OfferID)
	},
	"offr_cxl": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamOfferCancelled{ChainMeta: m, OfferID: f.U64("offer_id"), By: f.Address("by"), RefundAmount: f.Amount("refund_amount")}
		return e, idTopic(f.Err(), topics, "offer", e.OfferID)
	},
	"tmpl_def": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &StreamTemplateDefined{ChainMeta: m, TemplateID: f.U64("template_id"), Owner: f.Address("owner"),
			StartDelay: f.U64("start_delay"), CliffDelay: f.U64("cliff_delay"), Duration: f.U64("duration")}
		return e, idTopic(f.Err(), topics, "template", e.TemplateID)
	},
	"res_rel": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		holder, err := addressTopic(topics)
		if err != nil {
			return nil, err
		}
		vals, err := scval.Tuple(data, 4)
		if err != nil {
			return nil, err
		}
		t := scval.NewTupleReader(vals)
		e := &StreamIDsReleased{ChainMeta: m, Holder: holder, StartID: t.U64(), Count: t.U64(), Consumed: t.U64(), Reclaimed: t.U64()}
		return e, t.Err()
	},
	"gl_pause": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		return &GlobalPauseChanged{ChainMeta: m, Paused: f.Bool("paused")}, onlyTopic(f.Err(), topics)
	},
	"gl_resume": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		return &GlobalResumed{ChainMeta: m, ResumedAt: f.U64("resumed_at")}, onlyTopic(f.Err(), topics)
	},
	"ct_pause": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		return &CreationPauseChanged{ChainMeta: m, Paused: f.Bool("paused")}, onlyTopic(f.Err(), topics)
	},
	"pr_pause": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		admin, err := addressTopic(topics)
		if err != nil {
			return nil, err
		}
		f := scval.Struct(data)
		return &ProtocolPaused{ChainMeta: m, Admin: admin, Reason: f.Str("reason"), PausedAt: f.U64("paused_at")}, f.Err()
	},
	"pr_resume": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		admin, err := addressTopic(topics)
		if err != nil {
			return nil, err
		}
		f := scval.Struct(data)
		return &ProtocolResumed{ChainMeta: m, Admin: admin, ResumedAt: f.U64("resumed_at")}, f.Err()
	},
	"ex_swept": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		to, err := addressTopic(topics)
		if err != nil {
			return nil, err
		}
		f := scval.Struct(data)
		e := &ExcessSwept{ChainMeta: m, To: f.Address("to"), Amount: f.Amount("amount")}
		if f.Err() == nil && e.To != to {
			return e, fmt.Errorf("%w: payload sweeps to %s, the topic names %s", scval.ErrShape, e.To, to)
		}
		return e, f.Err()
	},
	"AdminUpd": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		vals, err := scval.Tuple(data, 2)
		if err != nil {
			return nil, err
		}
		t := scval.NewTupleReader(vals)
		e := &ContractAdminUpdated{ChainMeta: m, OldAdmin: t.Address(), NewAdmin: t.Address()}
		return e, onlyTopic(t.Err(), topics)
	},
	"upgraded": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := scval.Struct(data)
		e := &ContractUpgraded{ChainMeta: m, NewWasmHash: f.Hash32("new_wasm_hash"), NewVersion: f.U32("new_version"),
			UpgradedAt: f.U64("upgraded_at"), UpgradedBy: f.Address("upgraded_by")}
		return e, onlyTopic(f.Err(), topics)
	},
	"upgrade": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		vals, err := scval.Tuple(data, 4)
		if err != nil {
			return nil, err
		}
		t := scval.NewTupleReader(vals)
		e := &ContractUpgradedLegacy{ChainMeta: m, NewWasmHash: t.Hash32(), OldVersion: t.U32(), NewVersion: t.U32(), Admin: t.Address()}
		return e, onlyTopic(t.Err(), topics)
	},
	"migrated": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		vals, err := scval.Tuple(data, 3)
		if err != nil {
			return nil, err
		}
		t := scval.NewTupleReader(vals)
		e := &ContractMigrationRecorded{ChainMeta: m, FromVersion: t.U32(), ToVersion: t.U32(), Timestamp: t.U64()}
		return e, onlyTopic(t.Err(), topics)
	},
}

// idTopic checks that the second topic is the u64 id the payload carries (an offer's, a template's).
func idTopic(err error, topics []xdr.ScVal, what string, payloadID uint64) error {
	if err != nil {
		return err
	}
	if len(topics) != 2 {
		return fmt.Errorf("%w: %d topics, want the name and the %s id", scval.ErrShape, len(topics), what)
	}
	id, ok := topics[1].GetU64()
	if !ok {
		return fmt.Errorf("%w: second topic is %s, want the u64 %s id", scval.ErrShape, topics[1].Type, what)
	}
	if uint64(id) != payloadID {
		return fmt.Errorf("%w: payload is about %s %d, the topic about %s %d", scval.ErrShape, what, payloadID, what, id)
	}
	return nil
}

// addressTopic reads the address that is the second and last topic.
func addressTopic(topics []xdr.ScVal) (domain.Address, error) {
	if len(topics) != 2 {
		return "", fmt.Errorf("%w: %d topics, want the name and an address", scval.ErrShape, len(topics))
	}
	a, err := scval.AddressOf(topics[1])
	if err != nil {
		return "", fmt.Errorf("second topic: %w", err)
	}
	return a, nil
}

// onlyTopic checks that the name is the only topic.
func onlyTopic(err error, topics []xdr.ScVal) error {
	if err == nil && len(topics) != 1 {
		return fmt.Errorf("%w: %d topics, want the name alone", scval.ErrShape, len(topics))
	}
	return err
}
