package domain

// The Fluxora factory and governance contracts' events at Fluxora-Org/Fluxora-Contracts 75b15ca
// (contracts/factory, contracts/governance): contract-level events, filed in the emitting contract's store stream,
// when those contracts are configured (fluxora-factory:C…, fluxora-governance:C…). docs/contracts.md lists them.

// Event types of this file. Stored names: never rename one.
const (
	TypeFactoryInitialized         EventType = "FactoryInitialized"
	TypeFactoryAdminUpdated        EventType = "FactoryAdminUpdated"
	TypeFactoryStreamContractSet   EventType = "FactoryStreamContractSet"
	TypeFactoryAllowlistUpdated    EventType = "FactoryAllowlistUpdated"
	TypeFactoryCapUpdated          EventType = "FactoryCapUpdated"
	TypeFactoryMinDurationUpdated  EventType = "FactoryMinDurationUpdated"
	TypeFactoryBatchCapUpdated     EventType = "FactoryBatchCapUpdated"
	TypeFactoryRateBoundsUpdated   EventType = "FactoryRateBoundsUpdated"
	TypeFactoryPauseChanged        EventType = "FactoryPauseChanged"
	TypeFactoryStreamCreated       EventType = "FactoryStreamCreated"
	TypeGovernanceThresholdUpdated EventType = "GovernanceThresholdUpdated"
	TypeGovernanceQuorumConfigured EventType = "GovernanceQuorumConfigured"
	TypeGovernanceSignerAdded      EventType = "GovernanceSignerAdded"
	TypeGovernanceSignerRemoved    EventType = "GovernanceSignerRemoved"
	TypeGovernanceAdminChanged     EventType = "GovernanceAdminChanged"
	TypeProposalCreated            EventType = "ProposalCreated"
	TypeProposalApproved           EventType = "ProposalApproved"
	TypeProposalQuorumReached      EventType = "ProposalQuorumReached"
	TypeProposalExecuted           EventType = "ProposalExecuted"
	TypeProposalCancelled          EventType = "ProposalCancelled"
)

// FactoryInitialized is the factory's `fct_init`.
type FactoryInitialized struct {
	ChainMeta      `json:"chain"`
	Admin          Address `json:"admin"`
	StreamContract Address `json:"streamContract"`
	MaxDeposit     Amount  `json:"maxDeposit"`
	MinDuration    uint64  `json:"minDuration"`
}

// FactoryAdminUpdated is the factory's `AdminUpd` (a struct, where the stream contract's is a tuple).
type FactoryAdminUpdated struct {
	ChainMeta `json:"chain"`
	OldAdmin  Address `json:"oldAdmin"`
	NewAdmin  Address `json:"newAdmin"`
}

// FactoryStreamContractSet is `stm_upd`: the stream contract the factory creates streams in.
type FactoryStreamContractSet struct {
	ChainMeta   `json:"chain"`
	OldContract Address `json:"oldContract"`
	NewContract Address `json:"newContract"`
}

// FactoryAllowlistUpdated is `allow_upd`: a recipient allowed or not.
type FactoryAllowlistUpdated struct {
	ChainMeta `json:"chain"`
	Recipient Address `json:"recipient"`
	Allowed   bool    `json:"allowed"`
}

// FactoryCapUpdated is `cap_upd`: the most a factory stream may deposit.
type FactoryCapUpdated struct {
	ChainMeta `json:"chain"`
	OldCap    Amount `json:"oldCap"`
	NewCap    Amount `json:"newCap"`
}

// FactoryMinDurationUpdated is `dur_upd`.
type FactoryMinDurationUpdated struct {
	ChainMeta      `json:"chain"`
	OldMinDuration uint64 `json:"oldMinDuration"`
	NewMinDuration uint64 `json:"newMinDuration"`
}

// FactoryBatchCapUpdated is `batch_cap`: whether the aggregate cap applies to batches.
type FactoryBatchCapUpdated struct {
	ChainMeta `json:"chain"`
	Enabled   bool `json:"enabled"`
}

// FactoryRateBoundsUpdated is `rate_bnd`: the rate bounds, each optional.
type FactoryRateBoundsUpdated struct {
	ChainMeta `json:"chain"`
	MinRate   *Amount `json:"minRate"`
	MaxRate   *Amount `json:"maxRate"`
}

// FactoryPauseChanged is (`factory`, `paused` | `resumed`): stream creation through the factory paused or not.
type FactoryPauseChanged struct {
	ChainMeta `json:"chain"`
	Paused    bool `json:"paused"`
}

// FactoryStreamCreated is `fct_strm`: the factory created stream StreamID in its stream contract (whose own
// `created` event says the rest, in that contract's stream).
type FactoryStreamCreated struct {
	ChainMeta     `json:"chain"`
	StreamID      uint64  `json:"streamId"`
	Sender        Address `json:"sender"`
	Recipient     Address `json:"recipient"`
	DepositAmount Amount  `json:"depositAmount"`
	RatePerSecond Amount  `json:"ratePerSecond"`
}

// GovernanceThresholdUpdated is `thr_upd`: the approvals a proposal needs.
type GovernanceThresholdUpdated struct {
	ChainMeta    `json:"chain"`
	OldThreshold uint32 `json:"oldThreshold"`
	NewThreshold uint32 `json:"newThreshold"`
}

// GovernanceQuorumConfigured is `quor_cfg`: the threshold and the number of signers after a change of either.
type GovernanceQuorumConfigured struct {
	ChainMeta   `json:"chain"`
	Threshold   uint32 `json:"threshold"`
	SignerCount uint32 `json:"signerCount"`
}

// GovernanceSignerAdded is `sgnr_add`.
type GovernanceSignerAdded struct {
	ChainMeta `json:"chain"`
	Signer    Address `json:"signer"`
}

// GovernanceSignerRemoved is `sgnr_rm`.
type GovernanceSignerRemoved struct {
	ChainMeta `json:"chain"`
	Signer    Address `json:"signer"`
}

// GovernanceAdminChanged is `adm_chg`.
type GovernanceAdminChanged struct {
	ChainMeta `json:"chain"`
	OldAdmin  Address `json:"oldAdmin"`
	NewAdmin  Address `json:"newAdmin"`
}

// ProposalCreated is `proposed` (second topic: the u32 proposal id).
type ProposalCreated struct {
	ChainMeta  `json:"chain"`
	ProposalID uint32  `json:"proposalId"`
	Proposer   Address `json:"proposer"`
	Target     Address `json:"target"`
}

// ProposalApproved is `approved`.
type ProposalApproved struct {
	ChainMeta     `json:"chain"`
	ProposalID    uint32  `json:"proposalId"`
	Approver      Address `json:"approver"`
	ApprovalCount uint32  `json:"approvalCount"`
}

// ProposalQuorumReached is `quorum`: the timelock starts.
type ProposalQuorumReached struct {
	ChainMeta       `json:"chain"`
	ProposalID      uint32 `json:"proposalId"`
	QuorumReachedAt uint64 `json:"quorumReachedAt"`
	ExecutableAfter uint64 `json:"executableAfter"`
}

// ProposalExecuted is `executed`: the call went to Target.
type ProposalExecuted struct {
	ChainMeta  `json:"chain"`
	ProposalID uint32  `json:"proposalId"`
	Executor   Address `json:"executor"`
	Target     Address `json:"target"`
	Calldata   []byte  `json:"calldata"`
}

// ProposalCancelled is the governance contract's `cancelled` (a proposal's, not a stream's).
type ProposalCancelled struct {
	ChainMeta  `json:"chain"`
	ProposalID uint32  `json:"proposalId"`
	Canceller  Address `json:"canceller"`
}

func (*FactoryInitialized) Type() EventType         { return TypeFactoryInitialized }
func (*FactoryAdminUpdated) Type() EventType        { return TypeFactoryAdminUpdated }
func (*FactoryStreamContractSet) Type() EventType   { return TypeFactoryStreamContractSet }
func (*FactoryAllowlistUpdated) Type() EventType    { return TypeFactoryAllowlistUpdated }
func (*FactoryCapUpdated) Type() EventType          { return TypeFactoryCapUpdated }
func (*FactoryMinDurationUpdated) Type() EventType  { return TypeFactoryMinDurationUpdated }
func (*FactoryBatchCapUpdated) Type() EventType     { return TypeFactoryBatchCapUpdated }
func (*FactoryRateBoundsUpdated) Type() EventType   { return TypeFactoryRateBoundsUpdated }
func (*FactoryPauseChanged) Type() EventType        { return TypeFactoryPauseChanged }
func (*FactoryStreamCreated) Type() EventType       { return TypeFactoryStreamCreated }
func (*GovernanceThresholdUpdated) Type() EventType { return TypeGovernanceThresholdUpdated }
func (*GovernanceQuorumConfigured) Type() EventType { return TypeGovernanceQuorumConfigured }
func (*GovernanceSignerAdded) Type() EventType      { return TypeGovernanceSignerAdded }
func (*GovernanceSignerRemoved) Type() EventType    { return TypeGovernanceSignerRemoved }
func (*GovernanceAdminChanged) Type() EventType     { return TypeGovernanceAdminChanged }
func (*ProposalCreated) Type() EventType            { return TypeProposalCreated }
func (*ProposalApproved) Type() EventType           { return TypeProposalApproved }
func (*ProposalQuorumReached) Type() EventType      { return TypeProposalQuorumReached }
func (*ProposalExecuted) Type() EventType           { return TypeProposalExecuted }
func (*ProposalCancelled) Type() EventType          { return TypeProposalCancelled }

// FluxoraAdminEvents are the Fluxora factory's and governance contract's event types, for their modules'
// registries.
func FluxoraAdminEvents() []Event {
	return []Event{&FactoryInitialized{}, &FactoryAdminUpdated{}, &FactoryStreamContractSet{}, &FactoryAllowlistUpdated{}, &FactoryCapUpdated{}, &FactoryMinDurationUpdated{}, &FactoryBatchCapUpdated{}, &FactoryRateBoundsUpdated{}, &FactoryPauseChanged{}, &FactoryStreamCreated{}, &GovernanceThresholdUpdated{}, &GovernanceQuorumConfigured{}, &GovernanceSignerAdded{}, &GovernanceSignerRemoved{}, &GovernanceAdminChanged{}, &ProposalCreated{}, &ProposalApproved{}, &ProposalQuorumReached{}, &ProposalExecuted{}, &ProposalCancelled{}}
}
