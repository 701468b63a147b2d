package fluxora

import (
	"time"

	"github.com/streamledger/streamledger/domain"
)

// Contract is what a Fluxora contract's contract-level events say about it (DESIGN §12): its admin, the upgrades
// of its code, and its three pause states with when they last changed (a factory's admin and creation pause too;
// a governance contract's admin). Its events are filed in the
// contract's store stream (ContractStoreStream).
type Contract struct {
	ContractID domain.Address
	// Admin is the last admin an AdminUpd named; empty until one does.
	Admin domain.Address
	// Upgrades are the contract's code upgrades, oldest first.
	Upgrades []ContractUpgrade
	// Migrations are the recorded data migrations (reserved by the contract: never emitted at 75b15ca).
	Migrations []ContractMigration
	Global     PauseState // gl_pause / gl_resume: every stream operation
	Creation   PauseState // ct_pause: creating streams
	Protocol   PauseState // pr_pause / pr_resume
	// Events counts the standing contract-level events; UpdatedLedger and LastEventID are the last one's.
	Events        int
	UpdatedLedger uint32
	LastEventID   string
}

// ContractUpgrade is one upgrade of a contract's code. ExecutingVersion is the version the contract reported,
// which by the contract's own caveat is the version of the code that ran the upgrade, not the replacement's.
type ContractUpgrade struct {
	NewWasmHash      string // hex
	ExecutingVersion uint32
	// LegacyOldVersion is the old version of the legacy `upgrade` tuple emitted beside `upgraded`, when seen.
	LegacyOldVersion *uint32
	By               domain.Address
	Ledger           uint32
	At               time.Time
}

// ContractMigration is a recorded data migration.
type ContractMigration struct {
	FromVersion, ToVersion uint32
	Ledger                 uint32
	At                     time.Time
}

// PauseState is one pause flag of a contract: whether it is set, since when (the contract's time when its event
// carries one, the ledger's close otherwise), at which ledger, by whom and why when the event says.
type PauseState struct {
	Paused bool
	Since  time.Time
	Ledger uint32
	By     domain.Address
	Reason string
}

// ApplyContract folds one contract-level event into c. Events of other kinds leave it as it is.
func ApplyContract(c Contract, id string, e domain.Event) Contract {
	ce, ok := e.(domain.ChainEvent)
	if !ok {
		return c
	}
	m := ce.ChainMetadata()
	at := m.LedgerClosedAt.UTC()
	unix := func(s uint64) time.Time {
		if s == 0 || s > 1<<40 {
			return at
		}
		return time.Unix(int64(s), 0).UTC()
	}
	switch v := e.(type) {
	case *ContractAdminUpdated:
		c.Admin = v.NewAdmin
	case *FactoryAdminUpdated: // the factory's and the governance contract's own admins
		c.Admin = v.NewAdmin
	case *GovernanceAdminChanged:
		c.Admin = v.NewAdmin
	case *FactoryInitialized:
		c.Admin = v.Admin
	case *ContractUpgraded:
		c.Upgrades = append(c.Upgrades, ContractUpgrade{NewWasmHash: v.NewWasmHash, ExecutingVersion: v.NewVersion, By: v.UpgradedBy,
			Ledger: m.Ledger, At: unix(v.UpgradedAt)})
	case *ContractUpgradedLegacy:
		// The contract emits the legacy tuple beside `upgraded`, for the same upgrade: it completes that entry.
		if n := len(c.Upgrades); n > 0 && c.Upgrades[n-1].Ledger == m.Ledger && c.Upgrades[n-1].NewWasmHash == v.NewWasmHash {
			old := v.OldVersion
			c.Upgrades[n-1].LegacyOldVersion = &old
			break
		}
		old := v.OldVersion
		c.Upgrades = append(c.Upgrades, ContractUpgrade{NewWasmHash: v.NewWasmHash, ExecutingVersion: v.NewVersion, LegacyOldVersion: &old,
			By: v.Admin, Ledger: m.Ledger, At: at})
	case *ContractMigrationRecorded:
		c.Migrations = append(c.Migrations, ContractMigration{FromVersion: v.FromVersion, ToVersion: v.ToVersion, Ledger: m.Ledger, At: unix(v.Timestamp)})
	case *GlobalPauseChanged:
		c.Global = PauseState{Paused: v.Paused, Since: at, Ledger: m.Ledger}
	case *GlobalResumed:
		c.Global = PauseState{Since: unix(v.ResumedAt), Ledger: m.Ledger}
	case *CreationPauseChanged:
		c.Creation = PauseState{Paused: v.Paused, Since: at, Ledger: m.Ledger}
	case *FactoryPauseChanged: // creating streams through the factory
		c.Creation = PauseState{Paused: v.Paused, Since: at, Ledger: m.Ledger}
	case *ProtocolPaused:
		c.Protocol = PauseState{Paused: true, Since: unix(v.PausedAt), Ledger: m.Ledger, By: v.Admin, Reason: v.Reason}
	case *ProtocolResumed:
		c.Protocol = PauseState{Since: unix(v.ResumedAt), Ledger: m.Ledger, By: v.Admin}
	}
	c.Events++
	c.UpdatedLedger, c.LastEventID = m.Ledger, id
	return c
}

// ReplayContract folds a contract's stored events up to ledger, leaving out what their compensations leave
// reverted, as ReplayWith does for a stream.
func ReplayContract(contract domain.Address, entries []domain.Entry, ledger uint32) Contract {
	reverted := domain.Standing(entries)
	c := Contract{ContractID: contract}
	for _, en := range entries {
		if domain.IsCompensation(en.Event) || reverted[en.ID] {
			continue
		}
		if ce, ok := en.Event.(domain.ChainEvent); ok && ce.ChainMetadata().Ledger > ledger {
			continue
		}
		c = ApplyContract(c, en.ID, en.Event)
	}
	return c
}
