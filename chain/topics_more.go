package chain

import (
	"fmt"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
)

// The rest of the Fluxora stream contract's topics (docs/contracts.md): first those about one stream, whose
// second topic is its id (decoded like the topics of topics.go), then those whose second topic is something else
// or absent (otherTopics).
var streamTopicsMore = map[string]func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error){
	"del_share": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamShareDelegated{ChainMeta: m, ParentStreamID: f.u64("parent_stream_id"), ChildStreamID: f.u64("child_stream_id"),
			Delegator: f.address("delegator"), Delegatee: f.address("delegatee"), ShareBps: f.u32("share_bps"),
			NewParentRate: f.amount("new_parent_rate"), ChildRate: f.amount("child_rate")}
		if f.err == nil && e.ChildStreamID == e.ParentStreamID {
			return e, fmt.Errorf("%w: stream %d delegates to itself", errShape, id)
		}
		return e, f.check(id, e.ParentStreamID)
	},
	"renewed": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamRenewed{ChainMeta: m, OldStreamID: f.u64("old_stream_id"), NewStreamID: f.u64("new_stream_id")}
		return e, f.check(id, e.OldStreamID)
	},
	"claim_own": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamClaimOwnerChanged{ChainMeta: m, StreamID: f.u64("stream_id"), OldOwner: f.optAddress("old_owner"),
			NewOwner: f.address("new_owner")}
		return e, f.check(id, e.StreamID)
	},
	"sndr_xfr": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamSenderTransferred{ChainMeta: m, StreamID: f.u64("stream_id"), OldSender: f.address("old_sender"),
			NewSender: f.address("new_sender")}
		return e, f.check(id, e.StreamID)
	},
	"decomm": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamDecommissioned{ChainMeta: m, StreamID: f.u64("stream_id"), Decommissioned: f.boolean("decommissioned")}
		return e, f.check(id, e.StreamID)
	},
	"health": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamHealthChanged{ChainMeta: m, StreamID: f.u64("stream_id"), Underfunded: f.boolean("is_underfunded"),
			RemainingBalance: f.amount("remaining_balance"), SecondsRemaining: f.u64("seconds_remaining")}
		return e, f.check(id, e.StreamID)
	},
	"ac_set": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamAutoClaimSet{ChainMeta: m, StreamID: f.u64("stream_id"), Destination: f.address("destination")}
		return e, f.check(id, e.StreamID)
	},
	"ac_revoke": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamAutoClaimRevoked{ChainMeta: m, StreamID: f.u64("stream_id")}
		return e, f.check(id, e.StreamID)
	},
	"ac_trig": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamAutoClaimTriggered{ChainMeta: m, StreamID: f.u64("stream_id"), Destination: f.address("destination"),
			Amount: f.amount("amount")}
		return e, f.check(id, e.StreamID)
	},
	"rate_cap": func(m domain.ChainMeta, id uint64, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamRateCapEnforced{ChainMeta: m, StreamID: f.u64("stream_id"), AttemptedRate: f.amount("attempted_rate"),
			MaxRatePerSecond: f.amount("max_rate_per_second")}
		return e, f.check(id, e.StreamID)
	},
}

// otherTopics decode the topics that are not about one stream: the whole topic list is theirs to read.
var otherTopics = map[string]func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error){
	"offr_crt": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamOfferCreated{ChainMeta: m, OfferID: f.u64("offer_id"), Sender: f.address("sender"), Recipient: f.address("recipient"),
			DepositAmount: f.amount("deposit_amount"), RatePerSecond: f.amount("rate_per_second"), StartTime: f.u64("start_time"),
			CliffTime: f.u64("cliff_time"), EndTime: f.u64("end_time"), ExpiryTime: f.optU64("expiry_time"), CreatedAt: f.u64("created_at")}
		return e, idTopic(f.err, topics, "offer", e.OfferID)
	},
	"offr_acc": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamOfferAccepted{ChainMeta: m, OfferID: f.u64("offer_id"), EffectiveStartTime: f.u64("effective_start_time"),
			Recipient: f.address("recipient")}
		return e, idTopic(f.err, topics, "offer", e.OfferID)
	},
	"offr_cxl": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamOfferCancelled{ChainMeta: m, OfferID: f.u64("offer_id"), By: f.address("by"), RefundAmount: f.amount("refund_amount")}
		return e, idTopic(f.err, topics, "offer", e.OfferID)
	},
	"tmpl_def": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.StreamTemplateDefined{ChainMeta: m, TemplateID: f.u64("template_id"), Owner: f.address("owner"),
			StartDelay: f.u64("start_delay"), CliffDelay: f.u64("cliff_delay"), Duration: f.u64("duration")}
		return e, idTopic(f.err, topics, "template", e.TemplateID)
	},
	"res_rel": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		holder, err := addressTopic(topics)
		if err != nil {
			return nil, err
		}
		vals, err := tuple(data, 4)
		if err != nil {
			return nil, err
		}
		t := tupleReader{vals: vals}
		e := &domain.StreamIDsReleased{ChainMeta: m, Holder: holder, StartID: t.u64(), Count: t.u64(), Consumed: t.u64(), Reclaimed: t.u64()}
		return e, t.err
	},
	"gl_pause": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		return &domain.GlobalPauseChanged{ChainMeta: m, Paused: f.boolean("paused")}, onlyTopic(f.err, topics)
	},
	"gl_resume": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		return &domain.GlobalResumed{ChainMeta: m, ResumedAt: f.u64("resumed_at")}, onlyTopic(f.err, topics)
	},
	"ct_pause": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		return &domain.CreationPauseChanged{ChainMeta: m, Paused: f.boolean("paused")}, onlyTopic(f.err, topics)
	},
	"pr_pause": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		admin, err := addressTopic(topics)
		if err != nil {
			return nil, err
		}
		f := structOf(data)
		return &domain.ProtocolPaused{ChainMeta: m, Admin: admin, Reason: f.str("reason"), PausedAt: f.u64("paused_at")}, f.err
	},
	"pr_resume": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		admin, err := addressTopic(topics)
		if err != nil {
			return nil, err
		}
		f := structOf(data)
		return &domain.ProtocolResumed{ChainMeta: m, Admin: admin, ResumedAt: f.u64("resumed_at")}, f.err
	},
	"ex_swept": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		to, err := addressTopic(topics)
		if err != nil {
			return nil, err
		}
		f := structOf(data)
		e := &domain.ExcessSwept{ChainMeta: m, To: f.address("to"), Amount: f.amount("amount")}
		if f.err == nil && e.To != to {
			return e, fmt.Errorf("%w: payload sweeps to %s, the topic names %s", errShape, e.To, to)
		}
		return e, f.err
	},
	"AdminUpd": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		vals, err := tuple(data, 2)
		if err != nil {
			return nil, err
		}
		t := tupleReader{vals: vals}
		e := &domain.ContractAdminUpdated{ChainMeta: m, OldAdmin: t.address(), NewAdmin: t.address()}
		return e, onlyTopic(t.err, topics)
	},
	"upgraded": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		f := structOf(data)
		e := &domain.ContractUpgraded{ChainMeta: m, NewWasmHash: f.hash32("new_wasm_hash"), NewVersion: f.u32("new_version"),
			UpgradedAt: f.u64("upgraded_at"), UpgradedBy: f.address("upgraded_by")}
		return e, onlyTopic(f.err, topics)
	},
	"upgrade": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		vals, err := tuple(data, 4)
		if err != nil {
			return nil, err
		}
		t := tupleReader{vals: vals}
		e := &domain.ContractUpgradedLegacy{ChainMeta: m, NewWasmHash: t.hash32(), OldVersion: t.u32(), NewVersion: t.u32(), Admin: t.address()}
		return e, onlyTopic(t.err, topics)
	},
	"migrated": func(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (domain.Event, error) {
		vals, err := tuple(data, 3)
		if err != nil {
			return nil, err
		}
		t := tupleReader{vals: vals}
		e := &domain.ContractMigrationRecorded{ChainMeta: m, FromVersion: t.u32(), ToVersion: t.u32(), Timestamp: t.u64()}
		return e, onlyTopic(t.err, topics)
	},
}

// idTopic checks that the second topic is the u64 id the payload carries (an offer's, a template's).
func idTopic(err error, topics []xdr.ScVal, what string, payloadID uint64) error {
	if err != nil {
		return err
	}
	if len(topics) != 2 {
		return fmt.Errorf("%w: %d topics, want the name and the %s id", errShape, len(topics), what)
	}
	id, ok := topics[1].GetU64()
	if !ok {
		return fmt.Errorf("%w: second topic is %s, want the u64 %s id", errShape, topics[1].Type, what)
	}
	if uint64(id) != payloadID {
		return fmt.Errorf("%w: payload is about %s %d, the topic about %s %d", errShape, what, payloadID, what, id)
	}
	return nil
}

// addressTopic reads the address that is the second and last topic.
func addressTopic(topics []xdr.ScVal) (domain.Address, error) {
	if len(topics) != 2 {
		return "", fmt.Errorf("%w: %d topics, want the name and an address", errShape, len(topics))
	}
	a, err := addressOf(topics[1])
	if err != nil {
		return "", fmt.Errorf("second topic: %w", err)
	}
	return a, nil
}

// onlyTopic checks that the name is the only topic.
func onlyTopic(err error, topics []xdr.ScVal) error {
	if err == nil && len(topics) != 1 {
		return fmt.Errorf("%w: %d topics, want the name alone", errShape, len(topics))
	}
	return err
}
