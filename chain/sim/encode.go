package sim

import (
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// Encode publishes a domain event the way the Fluxora contract does (soroban-sdk encoding): topics
// (Symbol(name), u64 stream_id), a #[contracttype] struct as an ScMap with sorted Symbol keys, a
// `StreamEvent::X(u64)` variant as ScVec[Symbol("X"), U64]. It is the simulator's stand-in for the contract, and
// deliberately shares no code with the decoder in package chain.
func Encode(e domain.Event) (topics []xdr.ScVal, data xdr.ScVal, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("encode %s: %v", e.Type(), r)
		}
	}()
	topic := func(name string, id uint64) []xdr.ScVal { return []xdr.ScVal{Sym(name), U64(id)} }
	switch v := e.(type) {
	case *fluxora.StreamCreated:
		return topic("created", v.StreamID), Struct(map[string]xdr.ScVal{
			"stream_id": U64(v.StreamID), "sender": Addr(v.Sender), "recipient": Addr(v.Recipient),
			"deposit_amount": I128(v.DepositAmount), "rate_per_second": I128(v.RatePerSecond),
			"start_time": U64(v.StartTime), "cliff_time": U64(v.CliffTime), "end_time": U64(v.EndTime),
			"withdraw_dust_threshold": I128(v.WithdrawDustThreshold), "memo": optBytes(v.Memo),
			"metadata": optMetadata(v.Metadata),
		}), nil
	case *fluxora.StreamWithdrawn:
		if v.Destination != "" {
			return topic("wdraw_to", v.StreamID), Struct(map[string]xdr.ScVal{
				"stream_id": U64(v.StreamID), "recipient": Addr(v.Recipient), "destination": Addr(v.Destination),
				"amount": I128(v.Amount),
			}), nil
		}
		return topic("withdrew", v.StreamID), Struct(map[string]xdr.ScVal{
			"stream_id": U64(v.StreamID), "recipient": Addr(v.Recipient), "amount": I128(v.Amount),
		}), nil
	case *fluxora.StreamCancelled:
		return topic("cancelled", v.StreamID), Variant("StreamCancelled", v.StreamID), nil
	case *fluxora.StreamCompleted:
		return topic("completed", v.StreamID), Variant("StreamCompleted", v.StreamID), nil
	case *fluxora.StreamClosed:
		return topic("closed", v.StreamID), Variant("StreamClosed", v.StreamID), nil
	case *fluxora.StreamResumed:
		return topic("resumed", v.StreamID), Variant("Resumed", v.StreamID), nil
	case *fluxora.StreamPaused:
		return topic("paused", v.StreamID), Struct(map[string]xdr.ScVal{
			"stream_id": U64(v.StreamID), "reason": Str(v.Reason),
		}), nil
	case *fluxora.StreamRateUpdated:
		return topic("rate_upd", v.StreamID), Struct(map[string]xdr.ScVal{
			"stream_id": U64(v.StreamID), "old_rate_per_second": I128(v.OldRatePerSecond),
			"new_rate_per_second": I128(v.NewRatePerSecond), "effective_time": U64(v.EffectiveTime),
		}), nil
	case *fluxora.StreamRateDecreased:
		return topic("rate_dec", v.StreamID), Struct(map[string]xdr.ScVal{
			"stream_id": U64(v.StreamID), "old_rate_per_second": I128(v.OldRatePerSecond),
			"new_rate_per_second": I128(v.NewRatePerSecond), "effective_time": U64(v.EffectiveTime),
			"checkpointed_amount": I128(v.CheckpointedAmount), "refund_amount": I128(v.RefundAmount),
		}), nil
	case *fluxora.StreamEndShortened:
		return topic("end_shrt", v.StreamID), Struct(map[string]xdr.ScVal{
			"stream_id": U64(v.StreamID), "old_end_time": U64(v.OldEndTime), "new_end_time": U64(v.NewEndTime),
			"refund_amount": I128(v.RefundAmount),
		}), nil
	case *fluxora.StreamEndExtended:
		return topic("end_ext", v.StreamID), Struct(map[string]xdr.ScVal{
			"stream_id": U64(v.StreamID), "old_end_time": U64(v.OldEndTime), "new_end_time": U64(v.NewEndTime),
		}), nil
	case *fluxora.StreamToppedUp:
		return topic("top_up", v.StreamID), Struct(map[string]xdr.ScVal{
			"stream_id": U64(v.StreamID), "top_up_amount": I128(v.TopUpAmount),
			"new_deposit_amount": I128(v.NewDepositAmount), "new_end_time": U64(v.NewEndTime),
		}), nil
	case *fluxora.StreamRecipientUpdated:
		return topic("recp_upd", v.StreamID), Struct(map[string]xdr.ScVal{
			"stream_id": U64(v.StreamID), "old_recipient": Addr(v.OldRecipient), "new_recipient": Addr(v.NewRecipient),
		}), nil
	case *fluxora.StreamCloned:
		return topic("cloned", v.NewStreamID), Struct(map[string]xdr.ScVal{
			"new_stream_id": U64(v.NewStreamID), "source_stream_id": U64(v.SourceStreamID),
			"sender": Addr(v.Sender), "recipient": Addr(v.Recipient), "deposit_amount": I128(v.DepositAmount),
			"rate_per_second": I128(v.RatePerSecond), "start_time": U64(v.StartTime), "cliff_time": U64(v.CliffTime),
			"end_time": U64(v.EndTime), "withdraw_dust_threshold": I128(v.WithdrawDustThreshold),
		}), nil
	case *fluxora.StreamKeeperCancelled:
		return topic("kp_cncl", v.StreamID), Struct(map[string]xdr.ScVal{
			"stream_id": U64(v.StreamID), "keeper": Addr(v.Keeper), "keeper_fee": I128(v.KeeperFee),
			"recipient_amount": I128(v.RecipientAmount), "sender_refund": I128(v.SenderRefund),
		}), nil
	}
	return encodeMore(e)
}

// Sym is an ScVal Symbol.
func Sym(s string) xdr.ScVal {
	v := xdr.ScSymbol(s)
	return xdr.ScVal{Type: xdr.ScValTypeScvSymbol, Sym: &v}
}

// U64 is an ScVal u64.
func U64(n uint64) xdr.ScVal {
	v := xdr.Uint64(n)
	return xdr.ScVal{Type: xdr.ScValTypeScvU64, U64: &v}
}

// U32 is an ScVal u32.
func U32(n uint32) xdr.ScVal {
	v := xdr.Uint32(n)
	return xdr.ScVal{Type: xdr.ScValTypeScvU32, U32: &v}
}

// I128 is an ScVal i128 holding an exact amount.
func I128(a domain.Amount) xdr.ScVal {
	hi, lo := a.Parts()
	v := xdr.Int128Parts{Hi: xdr.Int64(hi), Lo: xdr.Uint64(lo)}
	return xdr.ScVal{Type: xdr.ScValTypeScvI128, I128: &v}
}

// Str is an ScVal String.
func Str(s string) xdr.ScVal {
	v := xdr.ScString(s)
	return xdr.ScVal{Type: xdr.ScValTypeScvString, Str: &v}
}

// Bytes is an ScVal Bytes.
func Bytes(b []byte) xdr.ScVal {
	v := xdr.ScBytes(b)
	return xdr.ScVal{Type: xdr.ScValTypeScvBytes, Bytes: &v}
}

// Void is Option::None.
func Void() xdr.ScVal { return xdr.ScVal{Type: xdr.ScValTypeScvVoid} }

// Addr is an ScVal Address of an account (G…) or a contract (C…); it panics on anything else, which Encode
// turns into an error.
func Addr(a domain.Address) xdr.ScVal {
	var sa xdr.ScAddress
	switch a.Kind() {
	case domain.AccountAddress:
		raw := strkey.MustDecode(strkey.VersionByteAccountID, string(a))
		var key xdr.Uint256
		copy(key[:], raw)
		id := xdr.AccountId{Type: xdr.PublicKeyTypePublicKeyTypeEd25519, Ed25519: &key}
		sa = xdr.ScAddress{Type: xdr.ScAddressTypeScAddressTypeAccount, AccountId: &id}
	case domain.ContractAddress:
		raw := strkey.MustDecode(strkey.VersionByteContract, string(a))
		var id xdr.ContractId
		copy(id[:], raw)
		sa = xdr.ScAddress{Type: xdr.ScAddressTypeScAddressTypeContract, ContractId: &id}
	default:
		panic(fmt.Sprintf("address %q is neither an account nor a contract", a))
	}
	return xdr.ScVal{Type: xdr.ScValTypeScvAddress, Address: &sa}
}

// Vec is an ScVal Vec.
func Vec(items ...xdr.ScVal) xdr.ScVal {
	v := xdr.ScVec(items)
	p := &v
	return xdr.ScVal{Type: xdr.ScValTypeScvVec, Vec: &p}
}

// Variant is a unit-payload enum variant, `Name(id)`.
func Variant(name string, id uint64) xdr.ScVal { return Vec(Sym(name), U64(id)) }

// Struct is a #[contracttype] struct: an ScMap whose Symbol keys are sorted, as the host requires.
func Struct(f map[string]xdr.ScVal) xdr.ScVal {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	m := make(xdr.ScMap, 0, len(keys))
	for _, k := range keys {
		m = append(m, xdr.ScMapEntry{Key: Sym(k), Val: f[k]})
	}
	p := &m
	return xdr.ScVal{Type: xdr.ScValTypeScvMap, Map: &p}
}

func optBytes(b []byte) xdr.ScVal {
	if b == nil {
		return Void()
	}
	return Bytes(b)
}

func optMetadata(entries []fluxora.MetadataEntry) xdr.ScVal {
	if entries == nil {
		return Void()
	}
	m := make(xdr.ScMap, 0, len(entries))
	for _, e := range entries {
		m = append(m, xdr.ScMapEntry{Key: Bytes(e.Key), Val: Bytes(e.Value)})
	}
	p := &m
	return xdr.ScVal{Type: xdr.ScValTypeScvMap, Map: &p}
}

// encodeMore encodes the rest of the contract's events (docs/contracts.md) as the contract publishes them.
func encodeMore(e domain.Event) (topics []xdr.ScVal, data xdr.ScVal, err error) {
	topic := func(name string, id uint64) []xdr.ScVal { return []xdr.ScVal{Sym(name), U64(id)} }
	only := func(name string) []xdr.ScVal { return []xdr.ScVal{Sym(name)} }
	byAddr := func(name string, a domain.Address) []xdr.ScVal { return []xdr.ScVal{Sym(name), Addr(a)} }
	type fields = map[string]xdr.ScVal
	switch v := e.(type) {
	case *fluxora.StreamShareDelegated:
		return topic("del_share", v.ParentStreamID), Struct(fields{
			"parent_stream_id": U64(v.ParentStreamID), "child_stream_id": U64(v.ChildStreamID), "delegator": Addr(v.Delegator),
			"delegatee": Addr(v.Delegatee), "share_bps": U32(v.ShareBps), "new_parent_rate": I128(v.NewParentRate),
			"child_rate": I128(v.ChildRate),
		}), nil
	case *fluxora.StreamRenewed:
		return []xdr.ScVal{Sym("renewed"), U64(v.OldStreamID), U64(v.NewStreamID)}, Struct(fields{
			"old_stream_id": U64(v.OldStreamID), "new_stream_id": U64(v.NewStreamID)}), nil
	case *fluxora.StreamClaimOwnerChanged:
		old := Void()
		if v.OldOwner != nil {
			old = Addr(*v.OldOwner)
		}
		return topic("claim_own", v.StreamID), Struct(fields{"stream_id": U64(v.StreamID), "old_owner": old, "new_owner": Addr(v.NewOwner)}), nil
	case *fluxora.StreamSenderTransferred:
		return topic("sndr_xfr", v.StreamID), Struct(fields{"stream_id": U64(v.StreamID), "old_sender": Addr(v.OldSender),
			"new_sender": Addr(v.NewSender)}), nil
	case *fluxora.StreamDecommissioned:
		return topic("decomm", v.StreamID), Struct(fields{"stream_id": U64(v.StreamID), "decommissioned": Bool(v.Decommissioned)}), nil
	case *fluxora.StreamHealthChanged:
		return topic("health", v.StreamID), Struct(fields{"stream_id": U64(v.StreamID), "is_underfunded": Bool(v.Underfunded),
			"remaining_balance": I128(v.RemainingBalance), "seconds_remaining": U64(v.SecondsRemaining)}), nil
	case *fluxora.StreamAutoClaimSet:
		return topic("ac_set", v.StreamID), Struct(fields{"stream_id": U64(v.StreamID), "destination": Addr(v.Destination)}), nil
	case *fluxora.StreamAutoClaimRevoked:
		return topic("ac_revoke", v.StreamID), Struct(fields{"stream_id": U64(v.StreamID)}), nil
	case *fluxora.StreamAutoClaimTriggered:
		return topic("ac_trig", v.StreamID), Struct(fields{"stream_id": U64(v.StreamID), "destination": Addr(v.Destination),
			"amount": I128(v.Amount)}), nil
	case *fluxora.StreamRateCapEnforced:
		return topic("rate_cap", v.StreamID), Struct(fields{"stream_id": U64(v.StreamID), "attempted_rate": I128(v.AttemptedRate),
			"max_rate_per_second": I128(v.MaxRatePerSecond)}), nil
	case *fluxora.StreamOfferCreated:
		expiry := Void()
		if v.ExpiryTime != nil {
			expiry = U64(*v.ExpiryTime)
		}
		return topic("offr_crt", v.OfferID), Struct(fields{"offer_id": U64(v.OfferID), "sender": Addr(v.Sender),
			"recipient": Addr(v.Recipient), "deposit_amount": I128(v.DepositAmount), "rate_per_second": I128(v.RatePerSecond),
			"start_time": U64(v.StartTime), "cliff_time": U64(v.CliffTime), "end_time": U64(v.EndTime), "expiry_time": expiry,
			"created_at": U64(v.CreatedAt)}), nil
	case *fluxora.StreamOfferAccepted:
		return topic("offr_acc", v.OfferID), Struct(fields{"offer_id": U64(v.OfferID), "effective_start_time": U64(v.EffectiveStartTime),
			"recipient": Addr(v.Recipient)}), nil
	case *fluxora.StreamOfferCancelled:
		return topic("offr_cxl", v.OfferID), Struct(fields{"offer_id": U64(v.OfferID), "by": Addr(v.By),
			"refund_amount": I128(v.RefundAmount)}), nil
	case *fluxora.StreamTemplateDefined:
		return topic("tmpl_def", v.TemplateID), Struct(fields{"template_id": U64(v.TemplateID), "owner": Addr(v.Owner),
			"start_delay": U64(v.StartDelay), "cliff_delay": U64(v.CliffDelay), "duration": U64(v.Duration)}), nil
	case *fluxora.StreamIDsReleased:
		return byAddr("res_rel", v.Holder), Vec(U64(v.StartID), U64(v.Count), U64(v.Consumed), U64(v.Reclaimed)), nil
	case *fluxora.GlobalPauseChanged:
		return only("gl_pause"), Struct(fields{"paused": Bool(v.Paused)}), nil
	case *fluxora.GlobalResumed:
		return only("gl_resume"), Struct(fields{"resumed_at": U64(v.ResumedAt)}), nil
	case *fluxora.CreationPauseChanged:
		return only("ct_pause"), Struct(fields{"paused": Bool(v.Paused)}), nil
	case *fluxora.ProtocolPaused:
		return byAddr("pr_pause", v.Admin), Struct(fields{"reason": Str(v.Reason), "paused_at": U64(v.PausedAt)}), nil
	case *fluxora.ProtocolResumed:
		return byAddr("pr_resume", v.Admin), Struct(fields{"resumed_at": U64(v.ResumedAt)}), nil
	case *fluxora.ExcessSwept:
		return byAddr("ex_swept", v.To), Struct(fields{"to": Addr(v.To), "amount": I128(v.Amount)}), nil
	case *fluxora.ContractAdminUpdated:
		return only("AdminUpd"), Vec(Addr(v.OldAdmin), Addr(v.NewAdmin)), nil
	case *fluxora.ContractUpgraded:
		return only("upgraded"), Struct(fields{"new_wasm_hash": hash32(v.NewWasmHash), "new_version": U32(v.NewVersion),
			"upgraded_at": U64(v.UpgradedAt), "upgraded_by": Addr(v.UpgradedBy)}), nil
	case *fluxora.ContractUpgradedLegacy:
		return only("upgrade"), Vec(hash32(v.NewWasmHash), U32(v.OldVersion), U32(v.NewVersion), Addr(v.Admin)), nil
	case *fluxora.ContractMigrationRecorded:
		return only("migrated"), Vec(U32(v.FromVersion), U32(v.ToVersion), U64(v.Timestamp)), nil
	}
	if topics, data, ok := encodeAdmin(e); ok {
		return topics, data, nil
	}
	return nil, xdr.ScVal{}, fmt.Errorf("encode: %s is not a contract event", e.Type())
}

// Bool is an ScVal bool.
func Bool(b bool) xdr.ScVal { return xdr.ScVal{Type: xdr.ScValTypeScvBool, B: &b} }

// hash32 is a BytesN<32> from its hex; a malformed hex panics, which Encode reports as an error.
func hash32(h string) xdr.ScVal {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		panic(fmt.Sprintf("wasm hash %q is not 32 bytes of hex", h))
	}
	return Bytes(b)
}
