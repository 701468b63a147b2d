package sim

import (
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// encodeAdmin encodes the Fluxora factory's and governance contract's events as those contracts publish them
// (contracts/factory and contracts/governance at 75b15ca); ok is false for another event.
func encodeAdmin(e domain.Event) (topics []xdr.ScVal, data xdr.ScVal, ok bool) {
	only := func(name string) []xdr.ScVal { return []xdr.ScVal{Sym(name)} }
	proposal := func(name string, id uint32) []xdr.ScVal { return []xdr.ScVal{Sym(name), U32(id)} }
	optI128 := func(a *domain.Amount) xdr.ScVal {
		if a == nil {
			return Void()
		}
		return I128(*a)
	}
	type fields = map[string]xdr.ScVal
	switch v := e.(type) {
	case *fluxora.FactoryInitialized:
		return only("fct_init"), Struct(fields{"admin": Addr(v.Admin), "stream_contract": Addr(v.StreamContract),
			"max_deposit": I128(v.MaxDeposit), "min_duration": U64(v.MinDuration)}), true
	case *fluxora.FactoryAdminUpdated:
		return only("AdminUpd"), Struct(fields{"old_admin": Addr(v.OldAdmin), "new_admin": Addr(v.NewAdmin)}), true
	case *fluxora.FactoryStreamContractSet:
		return only("stm_upd"), Struct(fields{"old_contract": Addr(v.OldContract), "new_contract": Addr(v.NewContract)}), true
	case *fluxora.FactoryAllowlistUpdated:
		return only("allow_upd"), Struct(fields{"recipient": Addr(v.Recipient), "allowed": Bool(v.Allowed)}), true
	case *fluxora.FactoryCapUpdated:
		return only("cap_upd"), Struct(fields{"old_cap": I128(v.OldCap), "new_cap": I128(v.NewCap)}), true
	case *fluxora.FactoryMinDurationUpdated:
		return only("dur_upd"), Struct(fields{"old_min_duration": U64(v.OldMinDuration), "new_min_duration": U64(v.NewMinDuration)}), true
	case *fluxora.FactoryBatchCapUpdated:
		return only("batch_cap"), Struct(fields{"enabled": Bool(v.Enabled)}), true
	case *fluxora.FactoryRateBoundsUpdated:
		return only("rate_bnd"), Struct(fields{"min_rate": optI128(v.MinRate), "max_rate": optI128(v.MaxRate)}), true
	case *fluxora.FactoryPauseChanged:
		which := "resumed"
		if v.Paused {
			which = "paused"
		}
		return []xdr.ScVal{Sym("factory"), Sym(which)}, Bool(v.Paused), true
	case *fluxora.FactoryStreamCreated:
		return only("fct_strm"), Struct(fields{"stream_id": U64(v.StreamID), "sender": Addr(v.Sender), "recipient": Addr(v.Recipient),
			"deposit_amount": I128(v.DepositAmount), "rate_per_second": I128(v.RatePerSecond)}), true
	case *fluxora.GovernanceThresholdUpdated:
		return only("thr_upd"), Struct(fields{"old_threshold": U32(v.OldThreshold), "new_threshold": U32(v.NewThreshold)}), true
	case *fluxora.GovernanceQuorumConfigured:
		return only("quor_cfg"), Struct(fields{"threshold": U32(v.Threshold), "signer_count": U32(v.SignerCount)}), true
	case *fluxora.GovernanceSignerAdded:
		return only("sgnr_add"), Struct(fields{"signer": Addr(v.Signer)}), true
	case *fluxora.GovernanceSignerRemoved:
		return only("sgnr_rm"), Struct(fields{"signer": Addr(v.Signer)}), true
	case *fluxora.GovernanceAdminChanged:
		return only("adm_chg"), Struct(fields{"old": Addr(v.OldAdmin), "new": Addr(v.NewAdmin)}), true
	case *fluxora.ProposalCreated:
		return proposal("proposed", v.ProposalID), Struct(fields{"proposal_id": U32(v.ProposalID), "proposer": Addr(v.Proposer),
			"target": Addr(v.Target)}), true
	case *fluxora.ProposalApproved:
		return proposal("approved", v.ProposalID), Struct(fields{"proposal_id": U32(v.ProposalID), "approver": Addr(v.Approver),
			"approval_count": U32(v.ApprovalCount)}), true
	case *fluxora.ProposalQuorumReached:
		return proposal("quorum", v.ProposalID), Struct(fields{"proposal_id": U32(v.ProposalID),
			"quorum_reached_at": U64(v.QuorumReachedAt), "executable_after": U64(v.ExecutableAfter)}), true
	case *fluxora.ProposalExecuted:
		return proposal("executed", v.ProposalID), Struct(fields{"proposal_id": U32(v.ProposalID), "executor": Addr(v.Executor),
			"target": Addr(v.Target), "calldata": Bytes(v.Calldata)}), true
	case *fluxora.ProposalCancelled:
		return proposal("cancelled", v.ProposalID), Struct(fields{"proposal_id": U32(v.ProposalID), "canceller": Addr(v.Canceller)}), true
	}
	return nil, xdr.ScVal{}, false
}
