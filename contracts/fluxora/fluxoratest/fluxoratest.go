// Package fluxoratest holds what tests of the stream contract's module and of the core share: fixed addresses, a
// chain position and one sample of every event type.
package fluxoratest

import (
	"strings"
	"time"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// Addresses valid as strkeys (their checksums hold).
const (
	Account  = "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"
	Account2 = "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"
	Contract = "CA3D5KRYM6CB7OWQ6TWYRR3Z4T7GNZLKERYNZGGA5SOAOPIFY6YQGAXE"
)

// T0 is the close time tests start from.
const T0 = uint64(1_700_000_000)

// At places an event of Contract on chain at ledger l, closing at unix time ts.
func At(l uint32, ts uint64) domain.ChainMeta {
	return domain.ChainMeta{
		NetworkID:      domain.NetworkID("Test SDF Network ; September 2015"),
		ContractID:     Contract,
		Ledger:         l,
		LedgerHash:     "hash",
		LedgerClosedAt: time.Unix(int64(ts), 0).UTC(),
	}
}

// Registry knows every event type of Samples: the core's and the stream, factory and governance contracts'.
func Registry() *domain.Registry {
	return domain.MustRegistry(append(fluxora.Events(), fluxora.AdminEvents()...)...)
}

// Samples is one event of every type a log of the stream contract may hold, the core's included, each with every
// field set: encoding, decoding and classification tests run over all of them.
func Samples() []domain.Event {
	m := At(7, T0)
	m.TopicsXDR, m.ValueXDR, m.ChainEventID = []string{"AAAADwAAAAdjcmVhdGVkAA=="}, "AAAAAQ==", domain.ChainEventID(7, 1, 0, 0)
	id := uint64(42)
	owner := domain.Address(Account)
	minRate := domain.NewAmount(1)
	return []domain.Event{
		&fluxora.StreamCreated{ChainMeta: m, StreamID: 42, Sender: Account, Recipient: Account2, DepositAmount: domain.MaxAmount,
			RatePerSecond: domain.NewAmount(1), StartTime: T0, CliffTime: T0, EndTime: T0 + 1, WithdrawDustThreshold: domain.NewAmount(5),
			Memo: []byte("invoice 7"), Metadata: []fluxora.MetadataEntry{{Key: []byte("k"), Value: []byte("v")}}},
		&fluxora.StreamWithdrawn{ChainMeta: m, StreamID: 42, Recipient: Account2, Destination: Account, Amount: domain.NewAmount(1)},
		&fluxora.StreamCancelled{ChainMeta: m, StreamID: 42, CancelledAt: T0},
		&fluxora.StreamCompleted{ChainMeta: m, StreamID: 42},
		&fluxora.StreamClosed{ChainMeta: m, StreamID: 42},
		&fluxora.StreamPaused{ChainMeta: m, StreamID: 42, Reason: fluxora.PauseAdministrative},
		&fluxora.StreamResumed{ChainMeta: m, StreamID: 42},
		&fluxora.StreamRateUpdated{ChainMeta: m, StreamID: 42, OldRatePerSecond: domain.NewAmount(1), NewRatePerSecond: domain.NewAmount(2), EffectiveTime: T0},
		&fluxora.StreamRateDecreased{ChainMeta: m, StreamID: 42, OldRatePerSecond: domain.NewAmount(2), NewRatePerSecond: domain.NewAmount(1), EffectiveTime: T0,
			CheckpointedAmount: domain.NewAmount(3), RefundAmount: domain.NewAmount(4)},
		&fluxora.StreamEndShortened{ChainMeta: m, StreamID: 42, OldEndTime: 9, NewEndTime: 8, RefundAmount: domain.NewAmount(1)},
		&fluxora.StreamEndExtended{ChainMeta: m, StreamID: 42, OldEndTime: 8, NewEndTime: 9},
		&fluxora.StreamToppedUp{ChainMeta: m, StreamID: 42, TopUpAmount: domain.NewAmount(1), NewDepositAmount: domain.NewAmount(2), NewEndTime: 9},
		&fluxora.StreamRecipientUpdated{ChainMeta: m, StreamID: 42, OldRecipient: Account, NewRecipient: Account2},
		&fluxora.StreamCloned{ChainMeta: m, NewStreamID: 43, SourceStreamID: 42, Sender: Account, Recipient: Account2,
			DepositAmount: domain.NewAmount(1), RatePerSecond: domain.NewAmount(1), StartTime: 1, CliffTime: 1, EndTime: 2},
		&fluxora.StreamKeeperCancelled{ChainMeta: m, StreamID: 42, Keeper: Account, KeeperFee: domain.NewAmount(1), RecipientAmount: domain.NewAmount(2), SenderRefund: domain.NewAmount(3)},
		&domain.ContractEventObserved{ChainMeta: m, Topic: "offr_new", StreamID: &id, DecodeError: "x"},
		&domain.EventReverted{RevertedEventID: "e", RevertedType: fluxora.TypeStreamWithdrawn, RevertedLedger: 7, ContractID: Contract, StreamID: &id, Reason: domain.RevertReasonReorg, Fork: 6},
		&domain.EventRestored{RestoredEventID: "e", RestoredType: fluxora.TypeStreamWithdrawn, RestoredLedger: 7, ContractID: Contract, StreamID: &id, Reason: domain.RevertReasonReorg, Fork: 6},
		&domain.ChainReorganized{NetworkID: "n", Fork: 6, OldTip: 8, NewTip: 9, Replaced: []domain.LedgerReplacement{{Ledger: 7, OldHash: "a", NewHash: "b"}}},
		&domain.LedgerClosed{NetworkID: "n", Ledger: 7, Hash: "h", PreviousHash: "p", ClosedAt: time.Unix(int64(T0), 0).UTC(), EventCount: 3},
		&domain.LedgersVerified{NetworkID: "n", First: 8, Last: 900, PreviousHash: "h", Hash: "h2", FirstClosedAt: time.Unix(int64(T0), 0).UTC(),
			ClosedAt: time.Unix(int64(T0)+4460, 0).UTC()},
		&fluxora.StreamShareDelegated{ChainMeta: m, ParentStreamID: 42, ChildStreamID: 43, Delegator: Account2, Delegatee: Account,
			ShareBps: 2500, NewParentRate: domain.NewAmount(8), ChildRate: domain.NewAmount(2)},
		&fluxora.StreamDelegatedFrom{ChainMeta: m, StreamID: 43, ParentStreamID: 42, DelegationEventID: "d"},
		&fluxora.StreamRenewed{ChainMeta: m, OldStreamID: 42, NewStreamID: 44},
		&fluxora.StreamClaimOwnerChanged{ChainMeta: m, StreamID: 42, OldOwner: &owner, NewOwner: Account2},
		&fluxora.StreamSenderTransferred{ChainMeta: m, StreamID: 42, OldSender: Account, NewSender: Account2},
		&fluxora.StreamDecommissioned{ChainMeta: m, StreamID: 42, Decommissioned: true},
		&fluxora.StreamHealthChanged{ChainMeta: m, StreamID: 42, Underfunded: true, RemainingBalance: domain.NewAmount(5), SecondsRemaining: 9},
		&fluxora.StreamAutoClaimSet{ChainMeta: m, StreamID: 42, Destination: Account},
		&fluxora.StreamAutoClaimRevoked{ChainMeta: m, StreamID: 42},
		&fluxora.StreamAutoClaimTriggered{ChainMeta: m, StreamID: 42, Destination: Account, Amount: domain.NewAmount(3)},
		&fluxora.StreamRateCapEnforced{ChainMeta: m, StreamID: 42, AttemptedRate: domain.NewAmount(9), MaxRatePerSecond: domain.NewAmount(5)},
		&fluxora.StreamOfferCreated{ChainMeta: m, OfferID: 5, Sender: Account, Recipient: Account2, DepositAmount: domain.NewAmount(10),
			RatePerSecond: domain.NewAmount(1), StartTime: 1, CliffTime: 1, EndTime: 11, ExpiryTime: &id, CreatedAt: 1},
		&fluxora.StreamOfferAccepted{ChainMeta: m, OfferID: 5, EffectiveStartTime: 2, Recipient: Account2},
		&fluxora.StreamOfferCancelled{ChainMeta: m, OfferID: 5, By: Account, RefundAmount: domain.NewAmount(10)},
		&fluxora.StreamTemplateDefined{ChainMeta: m, TemplateID: 3, Owner: Account, StartDelay: 1, CliffDelay: 2, Duration: 3},
		&fluxora.StreamIDsReleased{ChainMeta: m, Holder: Account, StartID: 100, Count: 10, Consumed: 4, Reclaimed: 6},
		&fluxora.GlobalPauseChanged{ChainMeta: m, Paused: true},
		&fluxora.GlobalResumed{ChainMeta: m, ResumedAt: T0},
		&fluxora.CreationPauseChanged{ChainMeta: m, Paused: true},
		&fluxora.ProtocolPaused{ChainMeta: m, Admin: Account, Reason: "audit", PausedAt: T0},
		&fluxora.ProtocolResumed{ChainMeta: m, Admin: Account, ResumedAt: T0},
		&fluxora.ExcessSwept{ChainMeta: m, To: Account, Amount: domain.NewAmount(7)},
		&fluxora.ContractAdminUpdated{ChainMeta: m, OldAdmin: Account, NewAdmin: Account2},
		&fluxora.ContractUpgraded{ChainMeta: m, NewWasmHash: strings.Repeat("ab", 32), NewVersion: 4, UpgradedAt: T0, UpgradedBy: Account},
		&fluxora.ContractUpgradedLegacy{ChainMeta: m, NewWasmHash: strings.Repeat("ab", 32), OldVersion: 3, NewVersion: 3, Admin: Account},
		&fluxora.ContractMigrationRecorded{ChainMeta: m, FromVersion: 3, ToVersion: 4, Timestamp: T0},
		&fluxora.FactoryInitialized{ChainMeta: m, Admin: owner, StreamContract: Contract, MaxDeposit: domain.NewAmount(1_000_000), MinDuration: 60},
		&fluxora.FactoryAdminUpdated{ChainMeta: m, OldAdmin: owner, NewAdmin: Contract},
		&fluxora.FactoryStreamContractSet{ChainMeta: m, OldContract: Contract, NewContract: Contract},
		&fluxora.FactoryAllowlistUpdated{ChainMeta: m, Recipient: owner, Allowed: true},
		&fluxora.FactoryCapUpdated{ChainMeta: m, OldCap: domain.NewAmount(10), NewCap: domain.NewAmount(20)},
		&fluxora.FactoryMinDurationUpdated{ChainMeta: m, OldMinDuration: 60, NewMinDuration: 120},
		&fluxora.FactoryBatchCapUpdated{ChainMeta: m, Enabled: true},
		&fluxora.FactoryRateBoundsUpdated{ChainMeta: m, MinRate: &minRate},
		&fluxora.FactoryPauseChanged{ChainMeta: m, Paused: true},
		&fluxora.FactoryStreamCreated{ChainMeta: m, StreamID: 42, Sender: owner, Recipient: owner, DepositAmount: domain.NewAmount(5), RatePerSecond: domain.NewAmount(1)},
		&fluxora.GovernanceThresholdUpdated{ChainMeta: m, OldThreshold: 2, NewThreshold: 3},
		&fluxora.GovernanceQuorumConfigured{ChainMeta: m, Threshold: 3, SignerCount: 5},
		&fluxora.GovernanceSignerAdded{ChainMeta: m, Signer: owner},
		&fluxora.GovernanceSignerRemoved{ChainMeta: m, Signer: owner},
		&fluxora.GovernanceAdminChanged{ChainMeta: m, OldAdmin: owner, NewAdmin: Contract},
		&fluxora.ProposalCreated{ChainMeta: m, ProposalID: 7, Proposer: owner, Target: Contract},
		&fluxora.ProposalApproved{ChainMeta: m, ProposalID: 7, Approver: owner, ApprovalCount: 2},
		&fluxora.ProposalQuorumReached{ChainMeta: m, ProposalID: 7, QuorumReachedAt: T0, ExecutableAfter: T0 + 86400},
		&fluxora.ProposalExecuted{ChainMeta: m, ProposalID: 7, Executor: owner, Target: Contract, Calldata: []byte{1, 2}},
		&fluxora.ProposalCancelled{ChainMeta: m, ProposalID: 7, Canceller: owner},
	}
}
