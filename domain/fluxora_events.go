package domain

// The rest of the Fluxora stream contract's events at Fluxora-Org/Fluxora-Contracts 75b15ca (its docs/events.md and
// ../shared/FLUXORA_CONTRACT.md): the ones that change a stream, the ones a stream only reports, and the
// contract-level ones. docs/contracts.md lists each topic with its event and what it changes.

// Event types of this file. Stored names: never rename one.
const (
	TypeStreamShareDelegated      EventType = "StreamShareDelegated"
	TypeStreamDelegatedFrom       EventType = "StreamDelegatedFrom"
	TypeStreamRenewed             EventType = "StreamRenewed"
	TypeStreamClaimOwnerChanged   EventType = "StreamClaimOwnerChanged"
	TypeStreamSenderTransferred   EventType = "StreamSenderTransferred"
	TypeStreamDecommissioned      EventType = "StreamDecommissioned"
	TypeStreamHealthChanged       EventType = "StreamHealthChanged"
	TypeStreamAutoClaimSet        EventType = "StreamAutoClaimSet"
	TypeStreamAutoClaimRevoked    EventType = "StreamAutoClaimRevoked"
	TypeStreamAutoClaimTriggered  EventType = "StreamAutoClaimTriggered"
	TypeStreamRateCapEnforced     EventType = "StreamRateCapEnforced"
	TypeStreamOfferCreated        EventType = "StreamOfferCreated"
	TypeStreamOfferAccepted       EventType = "StreamOfferAccepted"
	TypeStreamOfferCancelled      EventType = "StreamOfferCancelled"
	TypeStreamTemplateDefined     EventType = "StreamTemplateDefined"
	TypeStreamIDsReleased         EventType = "StreamIDsReleased"
	TypeGlobalPauseChanged        EventType = "GlobalPauseChanged"
	TypeGlobalResumed             EventType = "GlobalResumed"
	TypeCreationPauseChanged      EventType = "CreationPauseChanged"
	TypeProtocolPaused            EventType = "ProtocolPaused"
	TypeProtocolResumed           EventType = "ProtocolResumed"
	TypeExcessSwept               EventType = "ExcessSwept"
	TypeContractAdminUpdated      EventType = "ContractAdminUpdated"
	TypeContractUpgraded          EventType = "ContractUpgraded"
	TypeContractUpgradedLegacy    EventType = "ContractUpgradedLegacy"
	TypeContractMigrationRecorded EventType = "ContractMigrationRecorded"
)

// StreamShareDelegated is `del_share`: the recipient gave ShareBps of the parent's rate to Delegatee. At the
// ledger's close the parent is checkpointed at its old rate and continues at NewParentRate with a deposit that
// covers exactly its remaining accrual; what the deposit held beyond that becomes child stream ChildStreamID, for
// which the contract emits no `created` (the ingester files a StreamDelegatedFrom in the child's stream).
type StreamShareDelegated struct {
	ChainMeta      `json:"chain"`
	ParentStreamID uint64  `json:"parentStreamId"`
	ChildStreamID  uint64  `json:"childStreamId"`
	Delegator      Address `json:"delegator"`
	Delegatee      Address `json:"delegatee"`
	ShareBps       uint32  `json:"shareBps"`
	NewParentRate  Amount  `json:"newParentRate"`
	ChildRate      Amount  `json:"childRate"`
}

// StreamDelegatedFrom opens a child stream's history: the ingester derives it from the `del_share` event (same
// chain metadata, so a reorg reverts both) and files it in the child's stream, so that the child's own events
// begin with how it came to be. Its state is the parent's as of the delegation (DelegationEventID), split.
type StreamDelegatedFrom struct {
	ChainMeta         `json:"chain"`
	StreamID          uint64 `json:"streamId"`
	ParentStreamID    uint64 `json:"parentStreamId"`
	DelegationEventID string `json:"delegationEventId"`
}

// StreamRenewed is `renewed` (topics renewed, old id, new id): the old stream's successor, whose `created`
// precedes this event.
type StreamRenewed struct {
	ChainMeta   `json:"chain"`
	OldStreamID uint64 `json:"oldStreamId"`
	NewStreamID uint64 `json:"newStreamId"`
}

// StreamClaimOwnerChanged is `claim_own`: who may withdraw from now on (OldOwner nil: the recipient was).
type StreamClaimOwnerChanged struct {
	ChainMeta `json:"chain"`
	StreamID  uint64   `json:"streamId"`
	OldOwner  *Address `json:"oldOwner,omitempty"`
	NewOwner  Address  `json:"newOwner"`
}

// StreamSenderTransferred is `sndr_xfr`.
type StreamSenderTransferred struct {
	ChainMeta `json:"chain"`
	StreamID  uint64  `json:"streamId"`
	OldSender Address `json:"oldSender"`
	NewSender Address `json:"newSender"`
}

// StreamDecommissioned is `decomm`.
type StreamDecommissioned struct {
	ChainMeta      `json:"chain"`
	StreamID       uint64 `json:"streamId"`
	Decommissioned bool   `json:"decommissioned"`
}

// StreamHealthChanged is `health`: the stream became underfunded, or funded again.
type StreamHealthChanged struct {
	ChainMeta        `json:"chain"`
	StreamID         uint64 `json:"streamId"`
	Underfunded      bool   `json:"underfunded"`
	RemainingBalance Amount `json:"remainingBalance"`
	SecondsRemaining uint64 `json:"secondsRemaining"`
}

// StreamAutoClaimSet is `ac_set`: a third party may make the final claim, to Destination.
type StreamAutoClaimSet struct {
	ChainMeta   `json:"chain"`
	StreamID    uint64  `json:"streamId"`
	Destination Address `json:"destination"`
}

// StreamAutoClaimRevoked is `ac_revoke`.
type StreamAutoClaimRevoked struct {
	ChainMeta `json:"chain"`
	StreamID  uint64 `json:"streamId"`
}

// StreamAutoClaimTriggered is `ac_trig`; the `wdraw_to` that follows it moves the money.
type StreamAutoClaimTriggered struct {
	ChainMeta   `json:"chain"`
	StreamID    uint64  `json:"streamId"`
	Destination Address `json:"destination"`
	Amount      Amount  `json:"amount"`
}

// StreamRateCapEnforced is `rate_cap`: a rate above the cap was refused (emitted before an error, so a successful
// transaction normally carries none).
type StreamRateCapEnforced struct {
	ChainMeta        `json:"chain"`
	StreamID         uint64 `json:"streamId"`
	AttemptedRate    Amount `json:"attemptedRate"`
	MaxRatePerSecond Amount `json:"maxRatePerSecond"`
}

// StreamOfferCreated is `offr_crt` (second topic: the offer id, not a stream).
type StreamOfferCreated struct {
	ChainMeta     `json:"chain"`
	OfferID       uint64  `json:"offerId"`
	Sender        Address `json:"sender"`
	Recipient     Address `json:"recipient"`
	DepositAmount Amount  `json:"depositAmount"`
	RatePerSecond Amount  `json:"ratePerSecond"`
	StartTime     uint64  `json:"startTime"`
	CliffTime     uint64  `json:"cliffTime"`
	EndTime       uint64  `json:"endTime"`
	ExpiryTime    *uint64 `json:"expiryTime,omitempty"`
	CreatedAt     uint64  `json:"createdAt"`
}

// StreamOfferAccepted is `offr_acc`; the stream's `created` follows.
type StreamOfferAccepted struct {
	ChainMeta          `json:"chain"`
	OfferID            uint64  `json:"offerId"`
	EffectiveStartTime uint64  `json:"effectiveStartTime"`
	Recipient          Address `json:"recipient"`
}

// StreamOfferCancelled is `offr_cxl`.
type StreamOfferCancelled struct {
	ChainMeta    `json:"chain"`
	OfferID      uint64  `json:"offerId"`
	By           Address `json:"by"`
	RefundAmount Amount  `json:"refundAmount"`
}

// StreamTemplateDefined is `tmpl_def`: a schedule template (delays relative to creation).
type StreamTemplateDefined struct {
	ChainMeta  `json:"chain"`
	TemplateID uint64  `json:"templateId"`
	Owner      Address `json:"owner"`
	StartDelay uint64  `json:"startDelay"`
	CliffDelay uint64  `json:"cliffDelay"`
	Duration   uint64  `json:"duration"`
}

// StreamIDsReleased is `res_rel` (second topic: the holder): a reservation of stream ids released or reclaimed.
type StreamIDsReleased struct {
	ChainMeta `json:"chain"`
	Holder    Address `json:"holder"`
	StartID   uint64  `json:"startId"`
	Count     uint64  `json:"count"`
	Consumed  uint64  `json:"consumed"`
	Reclaimed uint64  `json:"reclaimed"`
}

// GlobalPauseChanged is `gl_pause`: the emergency pause of every stream.
type GlobalPauseChanged struct {
	ChainMeta `json:"chain"`
	Paused    bool `json:"paused"`
}

// GlobalResumed is `gl_resume`.
type GlobalResumed struct {
	ChainMeta `json:"chain"`
	ResumedAt uint64 `json:"resumedAt"`
}

// CreationPauseChanged is `ct_pause`: creating streams paused or allowed.
type CreationPauseChanged struct {
	ChainMeta `json:"chain"`
	Paused    bool `json:"paused"`
}

// ProtocolPaused is `pr_pause` (second topic: the admin).
type ProtocolPaused struct {
	ChainMeta `json:"chain"`
	Admin     Address `json:"admin"`
	Reason    string  `json:"reason"`
	PausedAt  uint64  `json:"pausedAt"`
}

// ProtocolResumed is `pr_resume` (second topic: the admin).
type ProtocolResumed struct {
	ChainMeta `json:"chain"`
	Admin     Address `json:"admin"`
	ResumedAt uint64  `json:"resumedAt"`
}

// ExcessSwept is `ex_swept`: tokens beyond every stream's liabilities, sent to To.
type ExcessSwept struct {
	ChainMeta `json:"chain"`
	To        Address `json:"to"`
	Amount    Amount  `json:"amount"`
}

// ContractAdminUpdated is `AdminUpd`.
type ContractAdminUpdated struct {
	ChainMeta `json:"chain"`
	OldAdmin  Address `json:"oldAdmin"`
	NewAdmin  Address `json:"newAdmin"`
}

// ContractUpgraded is `upgraded`. NewVersion is the version of the WASM that ran the upgrade (the contract's own
// caveat): the replacement's version is what `version()` answers afterwards.
type ContractUpgraded struct {
	ChainMeta   `json:"chain"`
	NewWasmHash string  `json:"newWasmHash"` // hex
	NewVersion  uint32  `json:"newVersion"`
	UpgradedAt  uint64  `json:"upgradedAt"`
	UpgradedBy  Address `json:"upgradedBy"`
}

// ContractUpgradedLegacy is the legacy `upgrade` tuple the contract still emits beside `upgraded`.
type ContractUpgradedLegacy struct {
	ChainMeta   `json:"chain"`
	NewWasmHash string  `json:"newWasmHash"` // hex
	OldVersion  uint32  `json:"oldVersion"`
	NewVersion  uint32  `json:"newVersion"`
	Admin       Address `json:"admin"`
}

// ContractMigrationRecorded is `migrated` (reserved by the contract, never emitted at 75b15ca).
type ContractMigrationRecorded struct {
	ChainMeta   `json:"chain"`
	FromVersion uint32 `json:"fromVersion"`
	ToVersion   uint32 `json:"toVersion"`
	Timestamp   uint64 `json:"timestamp"`
}

func (*StreamShareDelegated) Type() EventType      { return TypeStreamShareDelegated }
func (*StreamDelegatedFrom) Type() EventType       { return TypeStreamDelegatedFrom }
func (*StreamRenewed) Type() EventType             { return TypeStreamRenewed }
func (*StreamClaimOwnerChanged) Type() EventType   { return TypeStreamClaimOwnerChanged }
func (*StreamSenderTransferred) Type() EventType   { return TypeStreamSenderTransferred }
func (*StreamDecommissioned) Type() EventType      { return TypeStreamDecommissioned }
func (*StreamHealthChanged) Type() EventType       { return TypeStreamHealthChanged }
func (*StreamAutoClaimSet) Type() EventType        { return TypeStreamAutoClaimSet }
func (*StreamAutoClaimRevoked) Type() EventType    { return TypeStreamAutoClaimRevoked }
func (*StreamAutoClaimTriggered) Type() EventType  { return TypeStreamAutoClaimTriggered }
func (*StreamRateCapEnforced) Type() EventType     { return TypeStreamRateCapEnforced }
func (*StreamOfferCreated) Type() EventType        { return TypeStreamOfferCreated }
func (*StreamOfferAccepted) Type() EventType       { return TypeStreamOfferAccepted }
func (*StreamOfferCancelled) Type() EventType      { return TypeStreamOfferCancelled }
func (*StreamTemplateDefined) Type() EventType     { return TypeStreamTemplateDefined }
func (*StreamIDsReleased) Type() EventType         { return TypeStreamIDsReleased }
func (*GlobalPauseChanged) Type() EventType        { return TypeGlobalPauseChanged }
func (*GlobalResumed) Type() EventType             { return TypeGlobalResumed }
func (*CreationPauseChanged) Type() EventType      { return TypeCreationPauseChanged }
func (*ProtocolPaused) Type() EventType            { return TypeProtocolPaused }
func (*ProtocolResumed) Type() EventType           { return TypeProtocolResumed }
func (*ExcessSwept) Type() EventType               { return TypeExcessSwept }
func (*ContractAdminUpdated) Type() EventType      { return TypeContractAdminUpdated }
func (*ContractUpgraded) Type() EventType          { return TypeContractUpgraded }
func (*ContractUpgradedLegacy) Type() EventType    { return TypeContractUpgradedLegacy }
func (*ContractMigrationRecorded) Type() EventType { return TypeContractMigrationRecorded }

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
	return DerivedEventUUID("delegated-from", delegationID)
}

// fluxoraStreamEvents are this file's event types (FluxoraEvents lists them all).
func fluxoraStreamEvents() []Event {
	return []Event{&StreamShareDelegated{}, &StreamDelegatedFrom{}, &StreamRenewed{}, &StreamClaimOwnerChanged{}, &StreamSenderTransferred{}, &StreamDecommissioned{}, &StreamHealthChanged{}, &StreamAutoClaimSet{}, &StreamAutoClaimRevoked{}, &StreamAutoClaimTriggered{}, &StreamRateCapEnforced{}, &StreamOfferCreated{}, &StreamOfferAccepted{}, &StreamOfferCancelled{}, &StreamTemplateDefined{}, &StreamIDsReleased{}, &GlobalPauseChanged{}, &GlobalResumed{}, &CreationPauseChanged{}, &ProtocolPaused{}, &ProtocolResumed{}, &ExcessSwept{}, &ContractAdminUpdated{}, &ContractUpgraded{}, &ContractUpgradedLegacy{}, &ContractMigrationRecorded{}}
}

// FluxoraEvents are the Fluxora stream contract's event types, for its module's registry (DESIGN §12).
func FluxoraEvents() []Event {
	return append([]Event{&StreamCreated{}, &StreamWithdrawn{}, &StreamCancelled{}, &StreamCompleted{}, &StreamClosed{},
		&StreamPaused{}, &StreamResumed{}, &StreamRateUpdated{}, &StreamRateDecreased{}, &StreamEndShortened{},
		&StreamEndExtended{}, &StreamToppedUp{}, &StreamRecipientUpdated{}, &StreamCloned{}, &StreamKeeperCancelled{}},
		fluxoraStreamEvents()...)
}
