// Package audit is the audit-log projection (DESIGN §5, §9): one entry per applied event, reversal, observed
// event, anomaly and operator action, each a leaf of an RFC 6962 Merkle log (golang.org/x/mod/sumdb/tlog), with
// signed checkpoints in the C2SP tlog-checkpoint format (ed25519 via sumdb/note) and inclusion and consistency
// proofs, in memory or in PostgreSQL.
//
// A leaf is the entry's JSON encoding (fields in declaration order, map keys sorted): the bytes an auditor
// recomputes from an export. Changing Entry changes every leaf hash, so it is versioned by LeafVersion.
package audit

import (
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/projections"
)

// Name is the projection's name.
const Name = "audit"

// LeafVersion is the version of the leaf encoding.
const LeafVersion = 1

// Actions.
const (
	ActionApplied  = "applied"
	ActionReverted = "reverted"
	ActionRestored = "restored"
	ActionObserved = "observed"
	ActionAnomaly  = "anomaly"
	ActionOperator = "operator"
)

// Entry is one audit-log entry.
type Entry struct {
	V              int                      `json:"v"`
	Seq            int64                    `json:"seq"`
	Position       eventstore.Position      `json:"position"`
	EventID        string                   `json:"eventId"`
	Stream         string                   `json:"stream"`
	Type           string                   `json:"type"`
	Action         string                   `json:"action"`
	Reverts        string                   `json:"reverts,omitempty"` // the event a compensation (reversal or restoration) refers to
	Ledger         uint32                   `json:"ledger,omitempty"`
	LedgerClosedAt *time.Time               `json:"ledgerClosedAt,omitempty"`
	TxHash         string                   `json:"txHash,omitempty"`
	ContractID     domain.Address           `json:"contractId,omitempty"`
	StreamID       *uint64                  `json:"streamId,omitempty"`
	Amounts        map[string]domain.Amount `json:"amounts,omitempty"`
	Summary        string                   `json:"summary"`
	RecordedAt     time.Time                `json:"recordedAt"`
}

// Leaf is the entry's leaf bytes.
func (e *Entry) Leaf() ([]byte, error) {
	b, err := domain.AppendJSON(make([]byte, 0, 512), e) // encoding/json's bytes, faster
	if err != nil {
		return nil, fmt.Errorf("encode audit entry %d: %w", e.Seq, err)
	}
	return b, nil
}

// leavesOf encodes the leaves of entries.
func leavesOf(entries []Entry) ([][]byte, error) {
	out := make([][]byte, len(entries))
	for i := range entries {
		leaf, err := entries[i].Leaf()
		if err != nil {
			return nil, err
		}
		out[i] = leaf
	}
	return out, nil
}

// LeafHash is the entry's RFC 6962 leaf hash.
func (e *Entry) LeafHash() (tlog.Hash, error) {
	leaf, err := e.Leaf()
	if err != nil {
		return tlog.Hash{}, err
	}
	return tlog.RecordHash(leaf), nil
}

// entries builds the audit entries of a batch, numbered from seq: each event's entry, then the anomalies it raised.
// Ledger markers and reorganisation markers are not entries: the reversals they cause are.
func entries(batch []projections.Event, raised map[string][]domain.Anomaly, seq int64) []Entry {
	var out []Entry
	for _, ev := range batch {
		action, ok := actionOf(ev.Domain)
		if !ok {
			continue
		}
		e := base(ev, action, seq)
		out = append(out, e)
		seq++
		for _, a := range raised[ev.ID] {
			an := base(ev, ActionAnomaly, seq)
			an.Amounts = nil
			an.Summary = fmt.Sprintf("anomaly %s: %s", a.Code, a.Detail)
			out = append(out, an)
			seq++
		}
	}
	return out
}

func actionOf(e domain.Event) (string, bool) {
	switch e.(type) {
	case *domain.LedgerClosed, *domain.LedgersVerified, *domain.ChainReorganized:
		return "", false
	case *domain.EventReverted:
		return ActionReverted, true
	case *domain.EventRestored:
		return ActionRestored, true
	case *domain.ContractEventObserved:
		return ActionObserved, true
	case domain.ChainEvent:
		return ActionApplied, true
	}
	return ActionOperator, true
}

func base(ev projections.Event, action string, seq int64) Entry {
	e := Entry{V: LeafVersion, Seq: seq, Position: ev.Position, EventID: ev.ID, Stream: ev.Stream, Type: ev.Type,
		Action: action, RecordedAt: ev.RecordedAt, Summary: summary(ev.Domain)}
	if ce, ok := ev.Domain.(domain.ChainEvent); ok {
		m := ce.ChainMetadata()
		closed := m.LedgerClosedAt
		e.Ledger, e.LedgerClosedAt, e.TxHash, e.ContractID = m.Ledger, &closed, m.TxHash, m.ContractID
	}
	switch r := ev.Domain.(type) {
	case *domain.EventReverted:
		e.Ledger, e.ContractID, e.Reverts = r.RevertedLedger, r.ContractID, r.RevertedEventID
	case *domain.EventRestored:
		e.Ledger, e.ContractID, e.Reverts = r.RestoredLedger, r.ContractID, r.RestoredEventID
	}
	if contract, id, ok := domain.SubjectOf(ev.Domain); ok {
		e.StreamID, e.ContractID = &id, contract
	}
	e.Amounts = amounts(ev.Domain)
	return e
}

// amounts are the money fields of an event (domain.Monetary, which a module's events implement), for exports that
// show them as decimals.
func amounts(e domain.Event) map[string]domain.Amount {
	if m, ok := e.(domain.Monetary); ok {
		return m.MoneyFields()
	}
	return nil
}

func summary(e domain.Event) string {
	switch v := e.(type) {
	case *domain.EventReverted:
		return fmt.Sprintf("%s %s reverted: reorg with fork at ledger %d", v.RevertedType, v.RevertedEventID, v.Fork)
	case *domain.EventRestored:
		return fmt.Sprintf("%s %s restored: the chain came back to its branch (fork at ledger %d)", v.RestoredType, v.RestoredEventID, v.Fork)
	case *domain.ReconciliationDrift:
		return fmt.Sprintf("reconciliation drift at ledger %d: %s %s %s is %s on chain, %s projected", v.Ledger, v.Module,
			v.Subject, v.Field, v.OnChain, v.Projected)
	case *domain.ReconciliationRan:
		return fmt.Sprintf("reconciliation at ledger %d: %d contracts, %d drifts", v.Ledger, v.Contracts, v.Drifts)
	case *domain.ContractEventObserved:
		if v.DecodeError != "" {
			return fmt.Sprintf("observed %q (not decoded: %s)", v.Topic, v.DecodeError)
		}
		return fmt.Sprintf("observed %q", v.Topic)
	}
	// The words are the stream contract's, the only module with numbered subjects; they are hashed into the
	// audit log's leaves, so they stay as they were.
	if contract, id, ok := domain.SubjectOf(e); ok {
		return fmt.Sprintf("%s on stream %s:%d", e.Type(), contract, id)
	}
	return string(e.Type())
}
