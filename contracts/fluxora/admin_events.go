package fluxora

import "github.com/streamledger/streamledger/domain"

// The Fluxora factory and governance contracts' events at Fluxora-Org/Fluxora-Contracts 75b15ca
// (contracts/factory, contracts/governance): contract-level events, filed in the emitting contract's store stream,
// when those contracts are configured (fluxora-factory:C…, fluxora-governance:C…). docs/contracts.md lists them.

// Event types of this file. Stored names: never rename one.
const (
	TypeFactoryInitialized         domain.EventType = "FactoryInitialized"
	TypeFactoryAdminUpdated        domain.EventType = "FactoryAdminUpdated"
	TypeFactoryStreamContractSet   domain.EventType = "FactoryStreamContractSet"
	TypeFactoryAllowlistUpdated    domain.EventType = "FactoryAllowlistUpdated"
	TypeFactoryCapUpdated          domain.EventType = "FactoryCapUpdated"
	TypeFactoryMinDurationUpdated  domain.EventType = "FactoryMinDurationUpdated"
	TypeFactoryBatchCapUpdated     domain.EventType = "FactoryBatchCapUpdated"
	TypeFactoryRateBoundsUpdated   domain.EventType = "FactoryRateBoundsUpdated"
	TypeFactoryPauseChanged        domain.EventType = "FactoryPauseChanged"
	TypeFactoryStreamCreated       domain.EventType = "FactoryStreamCreated"
	TypeGovernanceThresholdUpdated domain.EventType = "GovernanceThresholdUpdated"
	TypeGovernanceQuorumConfigured domain.EventType = "GovernanceQuorumConfigured"
	TypeGovernanceSignerAdded      domain.EventType = "GovernanceSignerAdded"
	TypeGovernanceSignerRemoved    domain.EventType = "GovernanceSignerRemoved"
	TypeGovernanceAdminChanged     domain.EventType = "GovernanceAdminChanged"
	TypeProposalCreated            domain.EventType = "ProposalCreated"
	TypeProposalApproved           domain.EventType = "ProposalApproved"
	TypeProposalQuorumReached      domain.EventType = "ProposalQuorumReached"
	TypeProposalExecuted           domain.EventType = "ProposalExecuted"
	TypeProposalCancelled          domain.EventType = "ProposalCancelled"
)

// FactoryInitialized is the factory's `fct_init`.
type FactoryInitialized struct {
	domain.ChainMeta `json:"chain"`
	Admin            domain.Address `json:"admin"`
	StreamContract   domain.Address `json:"streamContract"`
	MaxDeposit       domain.Amount  `json:"maxDeposit"`
	MinDuration      uint64         `json:"minDuration"`
}

// FactoryAdminUpdated is the factory's `AdminUpd` (a struct, where the stream contract's is a tuple).
type FactoryAdminUpdated struct {
	domain.ChainMeta `json:"chain"`
	OldAdmin         domain.Address `json:"oldAdmin"`
	NewAdmin         domain.Address `json:"newAdmin"`
}

// FactoryStreamContractSet is `stm_upd`: the stream contract the factory creates streams in.
type FactoryStreamContractSet struct {
	domain.ChainMeta `json:"chain"`
	OldContract      domain.Address `json:"oldContract"`
	NewContract      domain.Address `json:"newContract"`
}

// FactoryAllowlistUpdated is `allow_upd`: a recipient allowed or not.
type FactoryAllowlistUpdated struct {
	domain.ChainMeta `json:"chain"`
	Recipient        domain.Address `json:"recipient"`
	Allowed          bool           `json:"allowed"`
}

// FactoryCapUpdated is `cap_upd`: the most a factory stream may deposit.
type FactoryCapUpdated struct {
	domain.ChainMeta `json:"chain"`
	OldCap           domain.Amount `json:"oldCap"`
	NewCap           domain.Amount `json:"newCap"`
}

// FactoryMinDurationUpdated is `dur_upd`.
type FactoryMinDurationUpdated struct {
	domain.ChainMeta `json:"chain"`
	OldMinDuration   uint64 `json:"oldMinDuration"`
	NewMinDuration   uint64 `json:"newMinDuration"`
}

// FactoryBatchCapUpdated is `batch_cap`: whether the aggregate cap applies to batches.
type FactoryBatchCapUpdated struct {
	domain.ChainMeta `json:"chain"`
	Enabled          bool `json:"enabled"`
}

// FactoryRateBoundsUpdated is `rate_bnd`: the rate bounds, each optional.
type FactoryRateBoundsUpdated struct {
	domain.ChainMeta `json:"chain"`
	MinRate          *domain.Amount `json:"minRate"`
	MaxRate          *domain.Amount `json:"maxRate"`
}

// FactoryPauseChanged is (`factory`, `paused` | `resumed`): stream creation through the factory paused or not.
type FactoryPauseChanged struct {
	domain.ChainMeta `json:"chain"`
	Paused           bool `json:"paused"`
}

// FactoryStreamCreated is `fct_strm`: the factory created stream StreamID in its stream contract (whose own
// `created` event says the rest, in that contract's stream).
type FactoryStreamCreated struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64         `json:"streamId"`
	Sender           domain.Address `json:"sender"`
	Recipient        domain.Address `json:"recipient"`
	DepositAmount    domain.Amount  `json:"depositAmount"`
	RatePerSecond    domain.Amount  `json:"ratePerSecond"`
}

// GovernanceThresholdUpdated is `thr_upd`: the approvals a proposal needs.
type GovernanceThresholdUpdated struct {
	domain.ChainMeta `json:"chain"`
	OldThreshold     uint32 `json:"oldThreshold"`
	NewThreshold     uint32 `json:"newThreshold"`
}

// GovernanceQuorumConfigured is `quor_cfg`: the threshold and the number of signers after a change of either.
type GovernanceQuorumConfigured struct {
	domain.ChainMeta `json:"chain"`
	Threshold        uint32 `json:"threshold"`
	SignerCount      uint32 `json:"signerCount"`
}

// GovernanceSignerAdded is `sgnr_add`.
type GovernanceSignerAdded struct {
	domain.ChainMeta `json:"chain"`
	Signer           domain.Address `json:"signer"`
}

// GovernanceSignerRemoved is `sgnr_rm`.
type GovernanceSignerRemoved struct {
	domain.ChainMeta `json:"chain"`
	Signer           domain.Address `json:"signer"`
}

// GovernanceAdminChanged is `adm_chg`.
type GovernanceAdminChanged struct {
	domain.ChainMeta `json:"chain"`
	OldAdmin         domain.Address `json:"oldAdmin"`
	NewAdmin         domain.Address `json:"newAdmin"`
}

// ProposalCreated is `proposed` (second topic: the u32 proposal id).
type ProposalCreated struct {
	domain.ChainMeta `json:"chain"`
	ProposalID       uint32         `json:"proposalId"`
	Proposer         domain.Address `json:"proposer"`
	Target           domain.Address `json:"target"`
}

// ProposalApproved is `approved`.
type ProposalApproved struct {
	domain.ChainMeta `json:"chain"`
	ProposalID       uint32         `json:"proposalId"`
	Approver         domain.Address `json:"approver"`
	ApprovalCount    uint32         `json:"approvalCount"`
}

// ProposalQuorumReached is `quorum`: the timelock starts.
type ProposalQuorumReached struct {
	domain.ChainMeta `json:"chain"`
	ProposalID       uint32 `json:"proposalId"`
	QuorumReachedAt  uint64 `json:"quorumReachedAt"`
	ExecutableAfter  uint64 `json:"executableAfter"`
}

// ProposalExecuted is `executed`: the call went to Target.
type ProposalExecuted struct {
	domain.ChainMeta `json:"chain"`
	ProposalID       uint32         `json:"proposalId"`
	Executor         domain.Address `json:"executor"`
	Target           domain.Address `json:"target"`
	Calldata         []byte         `json:"calldata"`
}

// ProposalCancelled is the governance contract's `cancelled` (a proposal's, not a stream's).
type ProposalCancelled struct {
	domain.ChainMeta `json:"chain"`
	ProposalID       uint32         `json:"proposalId"`
	Canceller        domain.Address `json:"canceller"`
}

func (*FactoryInitialized) Type() domain.EventType         { return TypeFactoryInitialized }
func (*FactoryAdminUpdated) Type() domain.EventType        { return TypeFactoryAdminUpdated }
func (*FactoryStreamContractSet) Type() domain.EventType   { return TypeFactoryStreamContractSet }
func (*FactoryAllowlistUpdated) Type() domain.EventType    { return TypeFactoryAllowlistUpdated }
func (*FactoryCapUpdated) Type() domain.EventType          { return TypeFactoryCapUpdated }
func (*FactoryMinDurationUpdated) Type() domain.EventType  { return TypeFactoryMinDurationUpdated }
func (*FactoryBatchCapUpdated) Type() domain.EventType     { return TypeFactoryBatchCapUpdated }
func (*FactoryRateBoundsUpdated) Type() domain.EventType   { return TypeFactoryRateBoundsUpdated }
func (*FactoryPauseChanged) Type() domain.EventType        { return TypeFactoryPauseChanged }
func (*FactoryStreamCreated) Type() domain.EventType       { return TypeFactoryStreamCreated }
func (*GovernanceThresholdUpdated) Type() domain.EventType { return TypeGovernanceThresholdUpdated }
func (*GovernanceQuorumConfigured) Type() domain.EventType { return TypeGovernanceQuorumConfigured }
func (*GovernanceSignerAdded) Type() domain.EventType      { return TypeGovernanceSignerAdded }
func (*GovernanceSignerRemoved) Type() domain.EventType    { return TypeGovernanceSignerRemoved }
func (*GovernanceAdminChanged) Type() domain.EventType     { return TypeGovernanceAdminChanged }
func (*ProposalCreated) Type() domain.EventType            { return TypeProposalCreated }
func (*ProposalApproved) Type() domain.EventType           { return TypeProposalApproved }
func (*ProposalQuorumReached) Type() domain.EventType      { return TypeProposalQuorumReached }
func (*ProposalExecuted) Type() domain.EventType           { return TypeProposalExecuted }
func (*ProposalCancelled) Type() domain.EventType          { return TypeProposalCancelled }

// AdminEvents are the Fluxora factory's and governance contract's event types, for their modules'
// registries.
func AdminEvents() []domain.Event {
	return []domain.Event{&FactoryInitialized{}, &FactoryAdminUpdated{}, &FactoryStreamContractSet{}, &FactoryAllowlistUpdated{}, &FactoryCapUpdated{}, &FactoryMinDurationUpdated{}, &FactoryBatchCapUpdated{}, &FactoryRateBoundsUpdated{}, &FactoryPauseChanged{}, &FactoryStreamCreated{}, &GovernanceThresholdUpdated{}, &GovernanceQuorumConfigured{}, &GovernanceSignerAdded{}, &GovernanceSignerRemoved{}, &GovernanceAdminChanged{}, &ProposalCreated{}, &ProposalApproved{}, &ProposalQuorumReached{}, &ProposalExecuted{}, &ProposalCancelled{}}
}
