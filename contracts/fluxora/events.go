package fluxora

import "github.com/streamledger/streamledger/domain"

// The rest of the Fluxora stream contract's events at Fluxora-Org/Fluxora-Contracts 75b15ca (its docs/events.md and
// ../shared/FLUXORA_CONTRACT.md): the ones that change a stream, the ones a stream only reports, and the
// contract-level ones. docs/contracts.md lists each topic with its event and what it changes.

// Event types of this file. Stored names: never rename one.
const (
	TypeStreamShareDelegated      domain.EventType = "StreamShareDelegated"
	TypeStreamDelegatedFrom       domain.EventType = "StreamDelegatedFrom"
	TypeStreamRenewed             domain.EventType = "StreamRenewed"
	TypeStreamClaimOwnerChanged   domain.EventType = "StreamClaimOwnerChanged"
	TypeStreamSenderTransferred   domain.EventType = "StreamSenderTransferred"
	TypeStreamDecommissioned      domain.EventType = "StreamDecommissioned"
	TypeStreamHealthChanged       domain.EventType = "StreamHealthChanged"
	TypeStreamAutoClaimSet        domain.EventType = "StreamAutoClaimSet"
	TypeStreamAutoClaimRevoked    domain.EventType = "StreamAutoClaimRevoked"
	TypeStreamAutoClaimTriggered  domain.EventType = "StreamAutoClaimTriggered"
	TypeStreamRateCapEnforced     domain.EventType = "StreamRateCapEnforced"
	TypeStreamOfferCreated        domain.EventType = "StreamOfferCreated"
	TypeStreamOfferAccepted       domain.EventType = "StreamOfferAccepted"
	TypeStreamOfferCancelled      domain.EventType = "StreamOfferCancelled"
	TypeStreamTemplateDefined     domain.EventType = "StreamTemplateDefined"
	TypeStreamIDsReleased         domain.EventType = "StreamIDsReleased"
	TypeGlobalPauseChanged        domain.EventType = "GlobalPauseChanged"
	TypeGlobalResumed             domain.EventType = "GlobalResumed"
	TypeCreationPauseChanged      domain.EventType = "CreationPauseChanged"
	TypeProtocolPaused            domain.EventType = "ProtocolPaused"
	TypeProtocolResumed           domain.EventType = "ProtocolResumed"
	TypeExcessSwept               domain.EventType = "ExcessSwept"
	TypeContractAdminUpdated      domain.EventType = "ContractAdminUpdated"
	TypeContractUpgraded          domain.EventType = "ContractUpgraded"
	TypeContractUpgradedLegacy    domain.EventType = "ContractUpgradedLegacy"
	TypeContractMigrationRecorded domain.EventType = "ContractMigrationRecorded"
)

// StreamShareDelegated is `del_share`: the recipient gave ShareBps of the parent's rate to Delegatee. At the
// ledger's close the parent is checkpointed at its old rate and continues at NewParentRate with a deposit that
// covers exactly its remaining accrual; what the deposit held beyond that becomes child stream ChildStreamID, for
// which the contract emits no `created` (the ingester files a StreamDelegatedFrom in the child's stream).
type StreamShareDelegated struct {
	domain.ChainMeta `json:"chain"`
	ParentStreamID   uint64         `json:"parentStreamId"`
	ChildStreamID    uint64         `json:"childStreamId"`
	Delegator        domain.Address `json:"delegator"`
	Delegatee        domain.Address `json:"delegatee"`
	ShareBps         uint32         `json:"shareBps"`
	NewParentRate    domain.Amount  `json:"newParentRate"`
	ChildRate        domain.Amount  `json:"childRate"`
}

// StreamDelegatedFrom opens a child stream's history: the ingester derives it from the `del_share` event (same
// chain metadata, so a reorg reverts both) and files it in the child's stream, so that the child's own events
// begin with how it came to be. Its state is the parent's as of the delegation (DelegationEventID), split.
type StreamDelegatedFrom struct {
	domain.ChainMeta  `json:"chain"`
	StreamID          uint64 `json:"streamId"`
	ParentStreamID    uint64 `json:"parentStreamId"`
	DelegationEventID string `json:"delegationEventId"`
}

// StreamRenewed is `renewed` (topics renewed, old id, new id): the old stream's successor, whose `created`
// precedes this event.
type StreamRenewed struct {
	domain.ChainMeta `json:"chain"`
	OldStreamID      uint64 `json:"oldStreamId"`
	NewStreamID      uint64 `json:"newStreamId"`
}

// StreamClaimOwnerChanged is `claim_own`: who may withdraw from now on (OldOwner nil: the recipient was).
type StreamClaimOwnerChanged struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64          `json:"streamId"`
	OldOwner         *domain.Address `json:"oldOwner,omitempty"`
	NewOwner         domain.Address  `json:"newOwner"`
}

// StreamSenderTransferred is `sndr_xfr`.
type StreamSenderTransferred struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64         `json:"streamId"`
	OldSender        domain.Address `json:"oldSender"`
	NewSender        domain.Address `json:"newSender"`
}

// StreamDecommissioned is `decomm`.
type StreamDecommissioned struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64 `json:"streamId"`
	Decommissioned   bool   `json:"decommissioned"`
}

// StreamHealthChanged is `health`: the stream became underfunded, or funded again.
type StreamHealthChanged struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64        `json:"streamId"`
	Underfunded      bool          `json:"underfunded"`
	RemainingBalance domain.Amount `json:"remainingBalance"`
	SecondsRemaining uint64        `json:"secondsRemaining"`
}

// StreamAutoClaimSet is `ac_set`: a third party may make the final claim, to Destination.
type StreamAutoClaimSet struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64         `json:"streamId"`
	Destination      domain.Address `json:"destination"`
}

// StreamAutoClaimRevoked is `ac_revoke`.
type StreamAutoClaimRevoked struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64 `json:"streamId"`
}

// StreamAutoClaimTriggered is `ac_trig`; the `wdraw_to` that follows it moves the money.
type StreamAutoClaimTriggered struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64         `json:"streamId"`
	Destination      domain.Address `json:"destination"`
	Amount           domain.Amount  `json:"amount"`
}

// StreamRateCapEnforced is `rate_cap`: a rate above the cap was refused (emitted before an error, so a successful
// transaction normally carries none).
type StreamRateCapEnforced struct {
	domain.ChainMeta `json:"chain"`
	StreamID         uint64        `json:"streamId"`
	AttemptedRate    domain.Amount `json:"attemptedRate"`
	MaxRatePerSecond domain.Amount `json:"maxRatePerSecond"`
}

// StreamOfferCreated is `offr_crt` (second topic: the offer id, not a stream).
type StreamOfferCreated struct {
	domain.ChainMeta `json:"chain"`
	OfferID          uint64         `json:"offerId"`
	Sender           domain.Address `json:"sender"`
	Recipient        domain.Address `json:"recipient"`
	DepositAmount    domain.Amount  `json:"depositAmount"`
	RatePerSecond    domain.Amount  `json:"ratePerSecond"`
	StartTime        uint64         `json:"startTime"`
	CliffTime        uint64         `json:"cliffTime"`
	EndTime          uint64         `json:"endTime"`
	ExpiryTime       *uint64        `json:"expiryTime,omitempty"`
	CreatedAt        uint64         `json:"createdAt"`
}

// StreamOfferAccepted is `offr_acc`; the stream's `created` follows.
type StreamOfferAccepted struct {
	domain.ChainMeta   `json:"chain"`
	OfferID            uint64         `json:"offerId"`
	EffectiveStartTime uint64         `json:"effectiveStartTime"`
	Recipient          domain.Address `json:"recipient"`
}

// StreamOfferCancelled is `offr_cxl`.
type StreamOfferCancelled struct {
	domain.ChainMeta `json:"chain"`
	OfferID          uint64         `json:"offerId"`
	By               domain.Address `json:"by"`
	RefundAmount     domain.Amount  `json:"refundAmount"`
}

// StreamTemplateDefined is `tmpl_def`: a schedule template (delays relative to creation).
type StreamTemplateDefined struct {
	domain.ChainMeta `json:"chain"`
	TemplateID       uint64         `json:"templateId"`
	Owner            domain.Address `json:"owner"`
	StartDelay       uint64         `json:"startDelay"`
	CliffDelay       uint64         `json:"cliffDelay"`
	Duration         uint64         `json:"duration"`
}

// StreamIDsReleased is `res_rel` (second topic: the holder): a reservation of stream ids released or reclaimed.
type StreamIDsReleased struct {
	domain.ChainMeta `json:"chain"`
	Holder           domain.Address `json:"holder"`
	StartID          uint64         `json:"startId"`
	Count            uint64         `json:"count"`
	Consumed         uint64         `json:"consumed"`
	Reclaimed        uint64         `json:"reclaimed"`
}

// GlobalPauseChanged is `gl_pause`: the emergency pause of every stream.
type GlobalPauseChanged struct {
	domain.ChainMeta `json:"chain"`
	Paused           bool `json:"paused"`
}

// GlobalResumed is `gl_resume`.
type GlobalResumed struct {
	domain.ChainMeta `json:"chain"`
	ResumedAt        uint64 `json:"resumedAt"`
}

// CreationPauseChanged is `ct_pause`: creating streams paused or allowed.
type CreationPauseChanged struct {
	domain.ChainMeta `json:"chain"`
	Paused           bool `json:"paused"`
}

// ProtocolPaused is `pr_pause` (second topic: the admin).
type ProtocolPaused struct {
	domain.ChainMeta `json:"chain"`
	Admin            domain.Address `json:"admin"`
	Reason           string         `json:"reason"`
	PausedAt         uint64         `json:"pausedAt"`
}

// ProtocolResumed is `pr_resume` (second topic: the admin).
type ProtocolResumed struct {
	domain.ChainMeta `json:"chain"`
	Admin            domain.Address `json:"admin"`
	ResumedAt        uint64         `json:"resumedAt"`
}

// ExcessSwept is `ex_swept`: tokens beyond every stream's liabilities, sent to To.
type ExcessSwept struct {
	domain.ChainMeta `json:"chain"`
	To               domain.Address `json:"to"`
	Amount           domain.Amount  `json:"amount"`
}

// ContractAdminUpdated is `AdminUpd`.
type ContractAdminUpdated struct {
	domain.ChainMeta `json:"chain"`
	OldAdmin         domain.Address `json:"oldAdmin"`
	NewAdmin         domain.Address `json:"newAdmin"`
}

// ContractUpgraded is `upgraded`. NewVersion is the version of the WASM that ran the upgrade (the contract's own
// caveat): the replacement's version is what `version()` answers afterwards.
type ContractUpgraded struct {
	domain.ChainMeta `json:"chain"`
	NewWasmHash      string         `json:"newWasmHash"` // hex
	NewVersion       uint32         `json:"newVersion"`
	UpgradedAt       uint64         `json:"upgradedAt"`
	UpgradedBy       domain.Address `json:"upgradedBy"`
}

// ContractUpgradedLegacy is the legacy `upgrade` tuple the contract still emits beside `upgraded`.
type ContractUpgradedLegacy struct {
	domain.ChainMeta `json:"chain"`
	NewWasmHash      string         `json:"newWasmHash"` // hex
	OldVersion       uint32         `json:"oldVersion"`
	NewVersion       uint32         `json:"newVersion"`
	Admin            domain.Address `json:"admin"`
}

// ContractMigrationRecorded is `migrated` (reserved by the contract, never emitted at 75b15ca).
type ContractMigrationRecorded struct {
	domain.ChainMeta `json:"chain"`
	FromVersion      uint32 `json:"fromVersion"`
	ToVersion        uint32 `json:"toVersion"`
	Timestamp        uint64 `json:"timestamp"`
}

func (*StreamShareDelegated) Type() domain.EventType      { return TypeStreamShareDelegated }
func (*StreamDelegatedFrom) Type() domain.EventType       { return TypeStreamDelegatedFrom }
func (*StreamRenewed) Type() domain.EventType             { return TypeStreamRenewed }
func (*StreamClaimOwnerChanged) Type() domain.EventType   { return TypeStreamClaimOwnerChanged }
func (*StreamSenderTransferred) Type() domain.EventType   { return TypeStreamSenderTransferred }
func (*StreamDecommissioned) Type() domain.EventType      { return TypeStreamDecommissioned }
func (*StreamHealthChanged) Type() domain.EventType       { return TypeStreamHealthChanged }
func (*StreamAutoClaimSet) Type() domain.EventType        { return TypeStreamAutoClaimSet }
func (*StreamAutoClaimRevoked) Type() domain.EventType    { return TypeStreamAutoClaimRevoked }
func (*StreamAutoClaimTriggered) Type() domain.EventType  { return TypeStreamAutoClaimTriggered }
func (*StreamRateCapEnforced) Type() domain.EventType     { return TypeStreamRateCapEnforced }
func (*StreamOfferCreated) Type() domain.EventType        { return TypeStreamOfferCreated }
func (*StreamOfferAccepted) Type() domain.EventType       { return TypeStreamOfferAccepted }
func (*StreamOfferCancelled) Type() domain.EventType      { return TypeStreamOfferCancelled }
func (*StreamTemplateDefined) Type() domain.EventType     { return TypeStreamTemplateDefined }
func (*StreamIDsReleased) Type() domain.EventType         { return TypeStreamIDsReleased }
func (*GlobalPauseChanged) Type() domain.EventType        { return TypeGlobalPauseChanged }
func (*GlobalResumed) Type() domain.EventType             { return TypeGlobalResumed }
func (*CreationPauseChanged) Type() domain.EventType      { return TypeCreationPauseChanged }
func (*ProtocolPaused) Type() domain.EventType            { return TypeProtocolPaused }
func (*ProtocolResumed) Type() domain.EventType           { return TypeProtocolResumed }
func (*ExcessSwept) Type() domain.EventType               { return TypeExcessSwept }
func (*ContractAdminUpdated) Type() domain.EventType      { return TypeContractAdminUpdated }
func (*ContractUpgraded) Type() domain.EventType          { return TypeContractUpgraded }
func (*ContractUpgradedLegacy) Type() domain.EventType    { return TypeContractUpgradedLegacy }
func (*ContractMigrationRecorded) Type() domain.EventType { return TypeContractMigrationRecorded }

func (e *StreamShareDelegated) SubjectNumber() uint64     { return e.ParentStreamID }
func (e *StreamDelegatedFrom) SubjectNumber() uint64      { return e.StreamID }
func (e *StreamRenewed) SubjectNumber() uint64            { return e.OldStreamID }
func (e *StreamClaimOwnerChanged) SubjectNumber() uint64  { return e.StreamID }
func (e *StreamSenderTransferred) SubjectNumber() uint64  { return e.StreamID }
func (e *StreamDecommissioned) SubjectNumber() uint64     { return e.StreamID }
func (e *StreamHealthChanged) SubjectNumber() uint64      { return e.StreamID }
func (e *StreamAutoClaimSet) SubjectNumber() uint64       { return e.StreamID }
func (e *StreamAutoClaimRevoked) SubjectNumber() uint64   { return e.StreamID }
func (e *StreamAutoClaimTriggered) SubjectNumber() uint64 { return e.StreamID }
func (e *StreamRateCapEnforced) SubjectNumber() uint64    { return e.StreamID }

// ChildRef is the stream a delegation creates.
func (e *StreamShareDelegated) ChildRef() StreamRef {
	return StreamRef{ContractID: e.ContractID, StreamID: e.ChildStreamID}
}

// DelegatedFromID is the id of the StreamDelegatedFrom derived from the delegation stored with id delegationID.
func DelegatedFromID(delegationID string) string {
	return domain.DerivedEventUUID("delegated-from", delegationID)
}

// fluxoraStreamEvents are this file's event types (Events lists them all).
func fluxoraStreamEvents() []domain.Event {
	return []domain.Event{&StreamShareDelegated{}, &StreamDelegatedFrom{}, &StreamRenewed{}, &StreamClaimOwnerChanged{}, &StreamSenderTransferred{}, &StreamDecommissioned{}, &StreamHealthChanged{}, &StreamAutoClaimSet{}, &StreamAutoClaimRevoked{}, &StreamAutoClaimTriggered{}, &StreamRateCapEnforced{}, &StreamOfferCreated{}, &StreamOfferAccepted{}, &StreamOfferCancelled{}, &StreamTemplateDefined{}, &StreamIDsReleased{}, &GlobalPauseChanged{}, &GlobalResumed{}, &CreationPauseChanged{}, &ProtocolPaused{}, &ProtocolResumed{}, &ExcessSwept{}, &ContractAdminUpdated{}, &ContractUpgraded{}, &ContractUpgradedLegacy{}, &ContractMigrationRecorded{}}
}

// Events are the Fluxora stream contract's event types, for its module's registry (DESIGN §12).
func Events() []domain.Event {
	return append([]domain.Event{&StreamCreated{}, &StreamWithdrawn{}, &StreamCancelled{}, &StreamCompleted{}, &StreamClosed{},
		&StreamPaused{}, &StreamResumed{}, &StreamRateUpdated{}, &StreamRateDecreased{}, &StreamEndShortened{},
		&StreamEndExtended{}, &StreamToppedUp{}, &StreamRecipientUpdated{}, &StreamCloned{}, &StreamKeeperCancelled{}},
		fluxoraStreamEvents()...)
}
