// Package view renders domain values as API consumers see them (the REST API, the WebSocket feed and webhook
// payloads show a stream the same way): amounts as decimal strings beside their raw base-unit integers.
package view

import (
	"time"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// Stream is a stream as the API shows it: amounts as decimal strings with their raw base-unit integers, and
// what the stream owes at the time asked for.
type Stream struct {
	ID                       string           `json:"id"`
	ContractID               domain.Address   `json:"contractId"`
	StreamID                 uint64           `json:"streamId"`
	Sender                   domain.Address   `json:"sender"`
	Recipient                domain.Address   `json:"recipient"`
	Status                   string           `json:"status"`
	Kind                     string           `json:"kind"`
	DepositAmount            string           `json:"depositAmount"`
	DepositAmountRaw         string           `json:"depositAmountRaw"`
	WithdrawnAmount          string           `json:"withdrawnAmount"`
	WithdrawnAmountRaw       string           `json:"withdrawnAmountRaw"`
	RatePerSecond            string           `json:"ratePerSecond"`
	RatePerSecondRaw         string           `json:"ratePerSecondRaw"`
	CheckpointedAmount       string           `json:"checkpointedAmount"`
	CheckpointedAmountRaw    string           `json:"checkpointedAmountRaw"`
	CheckpointedAt           uint64           `json:"checkpointedAt"`
	StartTime                uint64           `json:"startTime"`
	CliffTime                uint64           `json:"cliffTime"`
	EndTime                  uint64           `json:"endTime"`
	CancelledAt              *uint64          `json:"cancelledAt"`
	PauseReason              string           `json:"pauseReason,omitempty"`
	AccruedAmount            string           `json:"accruedAmount"`
	AccruedAmountRaw         string           `json:"accruedAmountRaw"`
	WithdrawableAmount       string           `json:"withdrawableAmount"`
	WithdrawableAmountRaw    string           `json:"withdrawableAmountRaw"`
	RefundAmount             string           `json:"refundAmount"`
	RefundAmountRaw          string           `json:"refundAmountRaw"`
	AsOf                     time.Time        `json:"asOf"`
	CreatedLedger            uint32           `json:"createdLedger"`
	UpdatedLedger            uint32           `json:"updatedLedger"`
	Version                  uint64           `json:"version"`
	LastEventID              string           `json:"lastEventId"`
	Anomalies                []domain.Anomaly `json:"anomalies"`
	WithdrawDustThreshold    string           `json:"withdrawDustThreshold"`
	WithdrawDustThresholdRaw string           `json:"withdrawDustThresholdRaw"`
	// What the rest of the contract's events said (docs/contracts.md); absent until one did.
	ParentStreamID       *uint64        `json:"parentStreamId,omitempty"`
	RenewedTo            *uint64        `json:"renewedTo,omitempty"`
	ClaimOwner           domain.Address `json:"claimOwner,omitempty"`
	Decommissioned       bool           `json:"decommissioned,omitempty"`
	AutoClaimDestination domain.Address `json:"autoClaimDestination,omitempty"`
	Underfunded          bool           `json:"underfunded,omitempty"`
}

// NewStream shows s as of time at, with amounts in decimals places.
func NewStream(s fluxora.Stream, at time.Time, decimals int) Stream {
	now := uint64(max(at.Unix(), 0))
	accrued := s.Accrued(now)
	withdrawable := s.Withdrawable(now)
	refund := s.Refund()
	dec := func(a domain.Amount) string { return a.Decimal(decimals) }
	v := Stream{
		ID: s.Ref().String(), ContractID: s.ContractID, StreamID: s.StreamID, Sender: s.Sender, Recipient: s.Recipient,
		Status: string(s.Status), Kind: string(s.Kind),
		DepositAmount: dec(s.DepositAmount), DepositAmountRaw: s.DepositAmount.String(),
		WithdrawnAmount: dec(s.WithdrawnAmount), WithdrawnAmountRaw: s.WithdrawnAmount.String(),
		RatePerSecond: dec(s.RatePerSecond), RatePerSecondRaw: s.RatePerSecond.String(),
		CheckpointedAmount: dec(s.CheckpointedAmount), CheckpointedAmountRaw: s.CheckpointedAmount.String(),
		CheckpointedAt: s.CheckpointedAt, StartTime: s.StartTime, CliffTime: s.CliffTime, EndTime: s.EndTime,
		PauseReason:   s.PauseReason,
		AccruedAmount: dec(accrued), AccruedAmountRaw: accrued.String(),
		WithdrawableAmount: dec(withdrawable), WithdrawableAmountRaw: withdrawable.String(),
		RefundAmount: dec(refund), RefundAmountRaw: refund.String(),
		AsOf: at.UTC(), CreatedLedger: s.CreatedLedger, UpdatedLedger: s.UpdatedLedger, Version: s.Version,
		LastEventID: s.LastEventID, Anomalies: s.Anomalies,
		WithdrawDustThreshold: dec(s.WithdrawDustThreshold), WithdrawDustThresholdRaw: s.WithdrawDustThreshold.String(),
		ParentStreamID: s.ParentStreamID, RenewedTo: s.RenewedTo, ClaimOwner: s.ClaimOwner, Decommissioned: s.Decommissioned,
		AutoClaimDestination: s.AutoClaimDestination, Underfunded: s.Underfunded,
	}
	if v.Anomalies == nil {
		v.Anomalies = []domain.Anomaly{}
	}
	if s.CancelledAt != 0 {
		c := s.CancelledAt
		v.CancelledAt = &c
	}
	return v
}
