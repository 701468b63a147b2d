package liquifact

import (
	"fmt"
	"math/big"
	"slices"

	"github.com/streamledger/streamledger/domain"
)

// EscrowStatus is an escrow's status as the contract numbers it.
type EscrowStatus uint32

// The contract's statuses (InvoiceEscrow.status).
const (
	StatusOpen      EscrowStatus = 0
	StatusFunded    EscrowStatus = 1
	StatusSettled   EscrowStatus = 2
	StatusWithdrawn EscrowStatus = 3 // the SME drew the liquidity
	StatusCancelled EscrowStatus = 4
)

// String is the status as the API shows it.
func (s EscrowStatus) String() string {
	switch s {
	case StatusOpen:
		return "open"
	case StatusFunded:
		return "funded"
	case StatusSettled:
		return "settled"
	case StatusWithdrawn:
		return "withdrawn"
	case StatusCancelled:
		return "cancelled"
	}
	return fmt.Sprintf("status-%d", uint32(s))
}

// Position is one investor's stake in an escrow.
type Position struct {
	Investor domain.Address `json:"investor"`
	// Contribution is the principal the contract holds for the investor now (after unfunding or a refund).
	Contribution domain.Amount `json:"contribution"`
	// Funded is every contribution the investor made; Unfunded what they took back while funding was open.
	Funded   domain.Amount `json:"funded"`
	Unfunded domain.Amount `json:"unfunded"`
	// EffectiveYieldBps is the yield the investor's payout uses (the escrow's, or a tier's).
	EffectiveYieldBps int64 `json:"effectiveYieldBps"`
	// ClaimNotBefore is the earliest claim time a tier lock gives (the ledger's close time plus the tier's lock):
	// the event carries the tier's lock, not the investor's committed one, so the contract's value may be later.
	ClaimNotBefore uint64 `json:"claimNotBefore"`
	Claimed        bool   `json:"claimed"`
	// Payout is what the claim paid, by the contract's formula (the claim event does not carry it).
	Payout       domain.Amount `json:"payout"`
	Refunded     bool          `json:"refunded"`
	RefundAmount domain.Amount `json:"refundAmount"`
}

// Attestation is one appended attestation digest.
type Attestation struct {
	Index   uint32 `json:"index"`
	Digest  string `json:"digest"`
	Revoked bool   `json:"revoked"`
}

// Collateral is the SME's recorded collateral commitment.
type Collateral struct {
	Asset      string        `json:"asset,omitempty"`
	Amount     domain.Amount `json:"amount"`
	RecordedAt uint64        `json:"recordedAt"`
}

// Escrow is the state of one invoice escrow: the fold of its contract's events. It is a value: Apply returns a
// new Escrow and never changes the one it is given.
type Escrow struct {
	Contract        domain.Address  `json:"contract"`
	Known           bool            `json:"known"` // initialized
	InvoiceID       string          `json:"invoiceId"`
	Admin           domain.Address  `json:"admin"`
	PendingAdmin    domain.Address  `json:"pendingAdmin,omitempty"`
	Sme             domain.Address  `json:"sme"`
	FundingToken    domain.Address  `json:"fundingToken"`
	Treasury        domain.Address  `json:"treasury"`
	Registry        *domain.Address `json:"registry"`
	InvoiceAmount   domain.Amount   `json:"invoiceAmount"`
	FundingTarget   domain.Amount   `json:"fundingTarget"`
	FundedAmount    domain.Amount   `json:"fundedAmount"`
	YieldBps        int64           `json:"yieldBps"`
	Maturity        uint64          `json:"maturity"`
	MaturityHorizon uint64          `json:"maturityHorizon,omitempty"`
	HasMaturityLock bool            `json:"hasMaturityLock"`
	FundingDeadline uint64          `json:"fundingDeadline,omitempty"`
	Status          EscrowStatus    `json:"status"`
	// PrincipalAtClose is the funded total when funding closed (the contract's FundingCloseSnapshot), the base of
	// every payout; ClosedAt is that ledger's close time.
	PrincipalAtClose domain.Amount `json:"principalAtClose"`
	ClosedAt         uint64        `json:"closedAt,omitempty"`
	SettledAt        uint64        `json:"settledAt,omitempty"`
	SettlePool       domain.Amount `json:"settlePool"`
	// SmeReceived and Fee are the SME's withdrawal: what it received and what went to the treasury.
	SmeReceived domain.Amount `json:"smeReceived"`
	Fee         domain.Amount `json:"fee"`
	// PaidOut is every claim's payout; Refunded every refund.
	PaidOut  domain.Amount `json:"paidOut"`
	Refunded domain.Amount `json:"refunded"`
	// LegalHold blocks money movement; LegalHoldClearableAt is when a requested clear may happen (0: none).
	LegalHold            bool   `json:"legalHold"`
	LegalHoldClearableAt uint64 `json:"legalHoldClearableAt,omitempty"`
	Paused               bool   `json:"paused"`
	AllowlistActive      bool   `json:"allowlistActive"`
	// Allowlisted are the investors allowed while the allowlist is active, sorted.
	Allowlisted         []domain.Address `json:"allowlisted"`
	PrimaryAttestation  string           `json:"primaryAttestation,omitempty"`
	Attestations        []Attestation    `json:"attestations"`
	Collateral          *Collateral      `json:"collateral"`
	MaxUniqueInvestors  uint32           `json:"maxUniqueInvestors,omitempty"`
	MaxPerInvestor      *domain.Amount   `json:"maxPerInvestor"`
	MinContribution     domain.Amount    `json:"minContribution"`
	WasmHash            string           `json:"wasmHash,omitempty"`
	Positions           []Position       `json:"positions"` // by investor
	Anomalies           []domain.Anomaly `json:"anomalies"`
	Version             int              `json:"version"`
	LastEventID         string           `json:"lastEventId"`
	CreatedLedger       uint32           `json:"createdLedger"`
	UpdatedLedger       uint32           `json:"updatedLedger"`
	DustSwept           domain.Amount    `json:"dustSwept"`
	InvestorsEverFunded int              `json:"investorsEverFunded"`
}

// Position is the investor's position, if any.
func (e *Escrow) Position(investor domain.Address) (Position, bool) {
	i, ok := slices.BinarySearchFunc(e.Positions, investor, func(p Position, a domain.Address) int {
		return compareAddr(p.Investor, a)
	})
	if !ok {
		return Position{}, false
	}
	return e.Positions[i], true
}

func compareAddr(a, b domain.Address) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Payout is the contract's payout for a contribution (compute_investor_payout): with P the principal at close and y
// the investor's yield, coupon = ⌊P·y/10000⌋, pool = P + coupon, payout = ⌊contribution·pool / P⌋.
func Payout(contribution, principal domain.Amount, yieldBps int64) domain.Amount {
	p := principal.Big()
	if p.Sign() <= 0 || contribution.Sign() <= 0 {
		return domain.Amount{}
	}
	coupon := new(big.Int).Mul(p, big.NewInt(yieldBps))
	coupon.Quo(coupon, big.NewInt(10_000))
	pool := new(big.Int).Add(p, coupon)
	out := new(big.Int).Mul(contribution.Big(), pool)
	out.Quo(out, p)
	a, err := domain.AmountFromBig(out)
	if err != nil {
		return domain.Amount{}
	}
	return a
}

// Apply folds one event of the escrow's contract, stored with id, into e.
func Apply(e Escrow, id string, ev domain.Event) Escrow {
	f := folder{e: e, id: id}
	f.e.Positions = slices.Clone(e.Positions)
	f.e.Attestations = slices.Clone(e.Attestations)
	f.e.Allowlisted = slices.Clone(e.Allowlisted)
	f.e.Anomalies = slices.Clip(e.Anomalies)
	if ce, ok := ev.(domain.ChainEvent); ok {
		f.meta = ce.ChainMetadata()
		if f.e.Contract == "" {
			f.e.Contract = f.meta.ContractID
		}
	}
	if !f.apply(ev) {
		return e // not an escrow event: the state is what it was
	}
	f.e.Version++
	f.e.LastEventID = id
	if f.meta != nil {
		f.e.UpdatedLedger = f.meta.Ledger
	}
	return f.e
}

// Replay folds entries in order.
func Replay(entries []domain.Entry) Escrow {
	var e Escrow
	for _, en := range entries {
		e = Apply(e, en.ID, en.Event)
	}
	return e
}

type folder struct {
	e    Escrow
	id   string
	meta *domain.ChainMeta
}

func (f *folder) flag(code, format string, args ...any) {
	a := domain.Anomaly{Code: code, EventID: f.id, Detail: fmt.Sprintf(format, args...)}
	if f.meta != nil {
		a.Ledger = f.meta.Ledger
	}
	f.e.Anomalies = append(f.e.Anomalies, a)
}

func (f *folder) expect(what string, got, want domain.Amount) {
	if got.Cmp(want) != 0 {
		f.flag("AMOUNT_MISMATCH", "%s: the event says %s, the escrow's events give %s", what, got, want)
	}
}

func (f *folder) add(x, y domain.Amount) domain.Amount {
	s, ok := x.Add(y)
	if !ok {
		f.flag("OVERFLOW", "%s + %s overflows i128", x, y)
		return x
	}
	return s
}

func (f *folder) sub(x, y domain.Amount) domain.Amount {
	s, ok := x.Sub(y)
	if !ok || s.Sign() < 0 {
		f.flag("NEGATIVE_BALANCE", "%s - %s is below zero", x, y)
		return domain.Amount{}
	}
	return s
}

func (f *folder) requireStatus(what string, allowed ...EscrowStatus) {
	if !slices.Contains(allowed, f.e.Status) {
		f.flag("UNEXPECTED_STATUS", "%s while the escrow is %s", what, f.e.Status)
	}
}

// position returns the index of investor's position, creating it.
func (f *folder) position(investor domain.Address) int {
	i, ok := slices.BinarySearchFunc(f.e.Positions, investor, func(p Position, a domain.Address) int {
		return compareAddr(p.Investor, a)
	})
	if !ok {
		f.e.Positions = slices.Insert(f.e.Positions, i, Position{Investor: investor})
	}
	return i
}

// close records the funding close snapshot once, as the contract does.
func (f *folder) close() {
	if f.e.ClosedAt == 0 && f.e.PrincipalAtClose.IsZero() {
		f.e.PrincipalAtClose = f.e.FundedAmount
		if f.meta != nil {
			f.e.ClosedAt = uint64(f.meta.LedgerClosedAt.Unix())
		}
	}
}

func (f *folder) apply(ev domain.Event) bool {
	switch v := ev.(type) {
	case *EscrowInitialized:
		if f.e.Known {
			f.flag("REINITIALIZED", "escrow %s initialized again", f.e.InvoiceID)
		}
		x := v.Escrow
		f.e.Known, f.e.InvoiceID, f.e.Admin, f.e.Sme = true, x.InvoiceID, x.Admin, x.Sme
		f.e.InvoiceAmount, f.e.FundingTarget, f.e.FundedAmount = x.Amount, x.FundingTarget, x.FundedAmount
		f.e.YieldBps, f.e.Maturity, f.e.Status = x.YieldBps, x.Maturity, EscrowStatus(x.Status)
		f.e.FundingToken, f.e.Treasury, f.e.Registry, f.e.HasMaturityLock = v.FundingToken, v.Treasury, v.Registry, v.HasMaturityLock
		f.e.CreatedLedger = v.Ledger
	case *EscrowFunded:
		f.requireStatus("funding", StatusOpen)
		f.e.FundedAmount = f.add(f.e.FundedAmount, v.Amount)
		f.expect("funded amount after funding", v.FundedAmount, f.e.FundedAmount)
		f.e.FundedAmount = v.FundedAmount // the contract's total is the truth; a mismatch is flagged above
		i := f.position(v.Investor)
		p := &f.e.Positions[i]
		if p.Funded.IsZero() {
			f.e.InvestorsEverFunded++
		}
		first := p.Contribution.IsZero()
		p.Contribution = f.add(p.Contribution, v.Amount)
		p.Funded = f.add(p.Funded, v.Amount)
		if first || p.EffectiveYieldBps == 0 {
			p.EffectiveYieldBps = v.InvestorEffectiveYieldBps
			if v.TierLockSecs > 0 {
				p.ClaimNotBefore = uint64(v.LedgerClosedAt.Unix()) + v.TierLockSecs
			}
		}
		if EscrowStatus(v.Status) == StatusFunded && f.e.Status == StatusOpen {
			f.e.Status = StatusFunded
			f.close()
		} else if EscrowStatus(v.Status) != f.e.Status {
			f.flag("STATUS_MISMATCH", "funding leaves the escrow %s, the event says %s", f.e.Status, EscrowStatus(v.Status))
			f.e.Status = EscrowStatus(v.Status)
		}
	case *EscrowUnfunded:
		f.requireStatus("unfunding", StatusOpen)
		i := f.position(v.Investor)
		p := &f.e.Positions[i]
		p.Contribution = f.sub(p.Contribution, v.Amount)
		p.Unfunded = f.add(p.Unfunded, v.Amount)
		f.expect("remaining contribution", v.RemainingContribution, p.Contribution)
		p.Contribution = v.RemainingContribution
		f.e.FundedAmount = f.sub(f.e.FundedAmount, v.Amount)
		f.expect("funded amount after unfunding", v.NewFundedAmount, f.e.FundedAmount)
		f.e.FundedAmount = v.NewFundedAmount
	case *EscrowPartiallySettled:
		f.requireStatus("partial settlement", StatusOpen)
		f.expect("funded amount at partial settlement", v.FundedAmount, f.e.FundedAmount)
		f.e.Status = StatusFunded
		f.close()
	case *EscrowFundingTargetUpdated:
		f.requireStatus("a funding target update", StatusOpen)
		f.expect("old funding target", v.OldTarget, f.e.FundingTarget)
		f.e.FundingTarget = v.NewTarget
		if f.e.FundedAmount.Sign() > 0 && f.e.FundedAmount.Cmp(v.NewTarget) >= 0 && f.e.ClosedAt == 0 {
			f.e.Status = StatusFunded
			f.close()
		}
	case *EscrowSettled:
		f.requireStatus("settlement", StatusFunded)
		f.expect("funded amount at settlement", v.FundedAmount, f.e.FundedAmount)
		f.e.Status, f.e.SettledAt, f.e.SettlePool = StatusSettled, v.SettledAt, v.SettlePool
	case *EscrowSmeWithdrew:
		f.requireStatus("the SME's withdrawal", StatusFunded)
		f.expect("withdrawal plus fee", f.add(v.Amount, v.Fee), f.e.FundedAmount)
		f.e.Status, f.e.SmeReceived, f.e.Fee = StatusWithdrawn, v.Amount, v.Fee
	case *EscrowPayoutClaimed:
		f.requireStatus("a payout claim", StatusSettled)
		i := f.position(v.Investor)
		p := &f.e.Positions[i]
		if p.Claimed {
			f.flag("CLAIMED_TWICE", "investor %s claimed again", v.Investor)
			break
		}
		p.Claimed = true
		p.Payout = Payout(p.Contribution, f.e.PrincipalAtClose, p.EffectiveYieldBps)
		f.e.PaidOut = f.add(f.e.PaidOut, p.Payout)
	case *EscrowFundingCancelled:
		f.requireStatus("a cancellation", StatusOpen)
		f.expect("funded amount at cancellation", v.FundedAmount, f.e.FundedAmount)
		f.e.Status = StatusCancelled
	case *EscrowInvestorRefunded:
		f.requireStatus("a refund", StatusCancelled)
		i := f.position(v.Investor)
		p := &f.e.Positions[i]
		f.expect("refund of the contribution", v.Amount, p.Contribution)
		p.Refunded, p.RefundAmount, p.Contribution = true, v.Amount, domain.Amount{}
		f.e.Refunded = f.add(f.e.Refunded, v.Amount)
	case *EscrowBeneficiaryRotated:
		f.e.Sme = v.NewSme
	case *EscrowFundingDeadlineExtended:
		f.e.FundingDeadline = v.NewDeadline
	case *EscrowMaturityUpdated:
		f.e.Maturity = v.NewMaturity
	case *EscrowMaturityHorizonUpdated:
		f.e.MaturityHorizon = v.NewHorizon
	case *EscrowMaturityHorizonRaised:
		f.e.MaturityHorizon = v.NewHorizon
	case *EscrowLegalHoldChanged:
		f.e.LegalHold = v.Active != 0
		if !f.e.LegalHold {
			f.e.LegalHoldClearableAt = 0
		}
	case *EscrowLegalHoldClearRequested:
		f.e.LegalHoldClearableAt = v.ClearableAt
	case *EscrowLegalHoldClearCancelled:
		f.e.LegalHoldClearableAt = 0
	case *EscrowLegalHoldClearDelayUpdated:
	case *EscrowPausedChanged:
		f.e.Paused = v.Active != 0
	case *EscrowInvestorCountCapLowered:
		f.e.MaxUniqueInvestors = v.NewCap
	case *EscrowInvestorCountCapRaised:
		f.e.MaxUniqueInvestors = v.NewCap
	case *EscrowContributionFloorLowered:
		f.e.MinContribution = v.NewFloor
	case *EscrowPerInvestorCapRaised:
		c := v.NewCap
		f.e.MaxPerInvestor = &c
	case *EscrowAdminTransferred:
		f.e.Admin = v.NewAdmin
	case *EscrowAdminAccepted:
		f.e.Admin, f.e.PendingAdmin = v.NewAdmin, ""
	case *EscrowAdminProposed:
		f.e.PendingAdmin = v.PendingAdmin
	case *EscrowAdminProposalSuperseded:
		f.e.PendingAdmin = v.NewPending
	case *EscrowAdminProposalCancelled:
		f.e.PendingAdmin = ""
	case *EscrowDeprecatedTransferAdminUsed:
		f.e.PendingAdmin = v.ProposedAddress
	case *EscrowCollateralRecorded:
		f.e.Collateral = &Collateral{Amount: v.Amount, RecordedAt: uint64(v.LedgerClosedAt.Unix())}
	case *EscrowCollateralCleared:
		f.e.Collateral = nil
	case *EscrowCollateralCommitmentCleared:
		f.e.Collateral = nil
	case *EscrowRegistryRebound:
		f.e.Registry = v.Registry
	case *EscrowDustSwept:
		f.e.DustSwept = f.add(f.e.DustSwept, v.Amount)
	case *EscrowAttestationBound:
		f.e.PrimaryAttestation = v.Digest
	case *EscrowAttestationAppended:
		f.e.Attestations = append(f.e.Attestations, Attestation{Index: v.Index, Digest: v.Digest})
	case *EscrowAttestationRevoked:
		f.setRevoked(v.Index, true)
	case *EscrowAttestationUnrevoked:
		f.setRevoked(v.Index, false)
	case *EscrowAllowlistEnabledChanged:
		f.e.AllowlistActive = v.Active != 0
	case *EscrowInvestorAllowlistChanged:
		i, found := slices.BinarySearchFunc(f.e.Allowlisted, v.Investor, compareAddr)
		switch {
		case v.Allowed != 0 && !found:
			f.e.Allowlisted = slices.Insert(f.e.Allowlisted, i, v.Investor)
		case v.Allowed == 0 && found:
			f.e.Allowlisted = slices.Delete(f.e.Allowlisted, i, i+1)
		}
	case *EscrowContractUpgraded:
		f.e.WasmHash = v.NewWasmHash
	default:
		return false
	}
	return true
}

func (f *folder) setRevoked(index uint32, revoked bool) {
	for i := range f.e.Attestations {
		if f.e.Attestations[i].Index == index {
			f.e.Attestations[i].Revoked = revoked
			return
		}
	}
	f.flag("UNKNOWN_ATTESTATION", "attestation %d was never appended", index)
}

// ReplayAsOf folds an escrow's stored entries as they stand: without the events a compensation took back (and
// without the compensations), and only those of ledgers at or below ledger.
func ReplayAsOf(entries []domain.Entry, ledger uint32) Escrow {
	reverted := domain.Standing(entries)
	var e Escrow
	for _, en := range entries {
		if reverted[en.ID] || domain.IsCompensation(en.Event) {
			continue
		}
		if ce, ok := en.Event.(domain.ChainEvent); ok && ce.ChainMetadata().Ledger > ledger {
			continue
		}
		e = Apply(e, en.ID, en.Event)
	}
	return e
}

// Codec reads an escrow's stored events: the registry of the module's types and today's decoder (decoder
// evolution). It is for readers of escrows alone, such as the escrow read model.
type Codec struct{ events *domain.Registry }

// NewCodec builds the module's codec.
func NewCodec() Codec { return Codec{events: domain.MustRegistry(Module{}.Events()...)} }

// Events is the registry of the core's and the module's event types.
func (c Codec) Events() *domain.Registry { return c.events }

// Interpret reads an event an older decoder kept as observed with today's decoder.
func (Codec) Interpret(e domain.Event) domain.Event { return Module{}.Interpret(e) }
