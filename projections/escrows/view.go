package escrows

import (
	"math/big"

	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
)

// View is an escrow as the API, the WebSocket feed and webhook payloads show it: amounts as decimal strings in the
// funding token's decimals beside their raw base-unit integers.
type View struct {
	ID                   string                  `json:"id"` // the invoice id
	ContractID           domain.Address          `json:"contractId"`
	InvoiceID            string                  `json:"invoiceId"`
	Status               string                  `json:"status"`
	Admin                domain.Address          `json:"admin"`
	Sme                  domain.Address          `json:"sme"`
	FundingToken         domain.Address          `json:"fundingToken"`
	Decimals             int                     `json:"decimals"` // the places the amounts are shown in
	InvoiceAmount        string                  `json:"invoiceAmount"`
	InvoiceAmountRaw     string                  `json:"invoiceAmountRaw"`
	FundingTarget        string                  `json:"fundingTarget"`
	FundingTargetRaw     string                  `json:"fundingTargetRaw"`
	FundedAmount         string                  `json:"fundedAmount"`
	FundedAmountRaw      string                  `json:"fundedAmountRaw"`
	FundingRatio         string                  `json:"fundingRatio"` // funded ÷ target, 4 decimals, floored
	YieldBps             int64                   `json:"yieldBps"`
	Maturity             uint64                  `json:"maturity"`
	PrincipalAtClose     string                  `json:"principalAtClose"`
	PrincipalAtCloseRaw  string                  `json:"principalAtCloseRaw"`
	ClosedAt             uint64                  `json:"closedAt,omitempty"`
	SettledAt            uint64                  `json:"settledAt,omitempty"`
	SettlePool           string                  `json:"settlePool"`
	SettlePoolRaw        string                  `json:"settlePoolRaw"`
	SmeReceived          string                  `json:"smeReceived"`
	SmeReceivedRaw       string                  `json:"smeReceivedRaw"`
	Fee                  string                  `json:"fee"`
	FeeRaw               string                  `json:"feeRaw"`
	PaidOut              string                  `json:"paidOut"`
	PaidOutRaw           string                  `json:"paidOutRaw"`
	Refunded             string                  `json:"refunded"`
	RefundedRaw          string                  `json:"refundedRaw"`
	LegalHold            bool                    `json:"legalHold"`
	LegalHoldClearableAt uint64                  `json:"legalHoldClearableAt,omitempty"`
	Paused               bool                    `json:"paused"`
	AllowlistActive      bool                    `json:"allowlistActive"`
	PrimaryAttestation   string                  `json:"primaryAttestation,omitempty"`
	Attestations         []liquifact.Attestation `json:"attestations"`
	Investors            []PositionView          `json:"investors"`
	Anomalies            []domain.Anomaly        `json:"anomalies"`
	CreatedLedger        uint32                  `json:"createdLedger"`
	UpdatedLedger        uint32                  `json:"updatedLedger"`
	Version              int                     `json:"version"`
	LastEventID          string                  `json:"lastEventId"`
}

// PositionView is an investor's position as the API shows it.
type PositionView struct {
	Investor          domain.Address `json:"investor"`
	Contribution      string         `json:"contribution"`
	ContributionRaw   string         `json:"contributionRaw"`
	Funded            string         `json:"funded"`
	FundedRaw         string         `json:"fundedRaw"`
	Unfunded          string         `json:"unfunded"`
	UnfundedRaw       string         `json:"unfundedRaw"`
	EffectiveYieldBps int64          `json:"effectiveYieldBps"`
	ClaimNotBefore    uint64         `json:"claimNotBefore"`
	Claimed           bool           `json:"claimed"`
	Payout            string         `json:"payout"`
	PayoutRaw         string         `json:"payoutRaw"`
	Refunded          bool           `json:"refunded"`
	RefundAmount      string         `json:"refundAmount"`
	RefundAmountRaw   string         `json:"refundAmountRaw"`
}

// Decimals are the decimal places of funding tokens, by token address (TOKEN_DECIMALS); a token not listed has 7,
// a Stellar Asset Contract's. Every view says the places it used (`decimals`), so an assumption is never hidden.
type Decimals map[domain.Address]int

// Of is the decimal places of token.
func (d Decimals) Of(token domain.Address) int {
	if n, ok := d[token]; ok {
		return n
	}
	return 7
}

// NewView shows e with amounts in decimals places (a token may have none).
func NewView(e liquifact.Escrow, decimals int) View {
	d := func(a domain.Amount) (string, string) { return a.Decimal(decimals), a.String() }
	v := View{ID: e.InvoiceID, ContractID: e.Contract, InvoiceID: e.InvoiceID, Status: e.Status.String(), Admin: e.Admin,
		Sme: e.Sme, FundingToken: e.FundingToken, Decimals: decimals, FundingRatio: ratio(e.FundedAmount, e.FundingTarget), YieldBps: e.YieldBps,
		Maturity: e.Maturity, ClosedAt: e.ClosedAt, SettledAt: e.SettledAt, LegalHold: e.LegalHold,
		LegalHoldClearableAt: e.LegalHoldClearableAt, Paused: e.Paused, AllowlistActive: e.AllowlistActive,
		PrimaryAttestation: e.PrimaryAttestation, Attestations: append([]liquifact.Attestation{}, e.Attestations...),
		Anomalies: append([]domain.Anomaly{}, e.Anomalies...), CreatedLedger: e.CreatedLedger, UpdatedLedger: e.UpdatedLedger,
		Version: e.Version, LastEventID: e.LastEventID, Investors: make([]PositionView, 0, len(e.Positions))}
	v.InvoiceAmount, v.InvoiceAmountRaw = d(e.InvoiceAmount)
	v.FundingTarget, v.FundingTargetRaw = d(e.FundingTarget)
	v.FundedAmount, v.FundedAmountRaw = d(e.FundedAmount)
	v.PrincipalAtClose, v.PrincipalAtCloseRaw = d(e.PrincipalAtClose)
	v.SettlePool, v.SettlePoolRaw = d(e.SettlePool)
	v.SmeReceived, v.SmeReceivedRaw = d(e.SmeReceived)
	v.Fee, v.FeeRaw = d(e.Fee)
	v.PaidOut, v.PaidOutRaw = d(e.PaidOut)
	v.Refunded, v.RefundedRaw = d(e.Refunded)
	for _, p := range e.Positions {
		v.Investors = append(v.Investors, NewPositionView(p, decimals))
	}
	return v
}

// NewPositionView shows a position with amounts in decimals places.
func NewPositionView(p liquifact.Position, decimals int) PositionView {
	d := func(a domain.Amount) (string, string) { return a.Decimal(decimals), a.String() }
	v := PositionView{Investor: p.Investor, EffectiveYieldBps: p.EffectiveYieldBps, ClaimNotBefore: p.ClaimNotBefore,
		Claimed: p.Claimed, Refunded: p.Refunded}
	v.Contribution, v.ContributionRaw = d(p.Contribution)
	v.Funded, v.FundedRaw = d(p.Funded)
	v.Unfunded, v.UnfundedRaw = d(p.Unfunded)
	v.Payout, v.PayoutRaw = d(p.Payout)
	v.RefundAmount, v.RefundAmountRaw = d(p.RefundAmount)
	return v
}

// ratio is funded ÷ target with four decimals, floored ("0.0000" without a target).
func ratio(funded, target domain.Amount) string {
	if target.Sign() <= 0 {
		return "0.0000"
	}
	q := new(big.Int).Mul(funded.Big(), big.NewInt(10_000))
	q.Quo(q, target.Big())
	a, err := domain.AmountFromBig(q)
	if err != nil {
		return "0.0000"
	}
	return a.Decimal(4)
}
