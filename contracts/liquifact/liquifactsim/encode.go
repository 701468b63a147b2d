// Package liquifactsim is the LiquiFact module's simulator scenario (DESIGN §12, sim.Scenario): invoice escrows,
// one contract instance each from one WASM, funded by several investors through their lives, in the contract's
// #[contractevent] encoding.
package liquifactsim

import (
	"fmt"
	"time"

	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
)

func i64(n int64) xdr.ScVal {
	v := xdr.Int64(n)
	return xdr.ScVal{Type: xdr.ScValTypeScvI64, I64: &v}
}

func optAddr(a *domain.Address) xdr.ScVal {
	if a == nil {
		return sim.Void()
	}
	return sim.Addr(*a)
}

// Encode is the contract's encoding of the events the scenario plays: topics [fixed, name, #[topic] fields…] and
// the data map of the other fields.
func Encode(e domain.Event) (topics []xdr.ScVal, data xdr.ScVal, err error) {
	ev := func(fixed string, h liquifact.Head, more ...xdr.ScVal) []xdr.ScVal {
		return append([]xdr.ScVal{sim.Sym(fixed), sim.Sym(h.Name)}, more...)
	}
	inv := func(h liquifact.Head) xdr.ScVal { return sim.Sym(h.InvoiceID) }
	empty := sim.Struct(map[string]xdr.ScVal{})
	switch v := e.(type) {
	case *liquifact.EscrowInitialized:
		x := v.Escrow
		return ev("escrow_initialized", v.Head), sim.Struct(map[string]xdr.ScVal{
			"escrow": sim.Struct(map[string]xdr.ScVal{"invoice_id": sim.Sym(x.InvoiceID), "admin": sim.Addr(x.Admin),
				"sme_address": sim.Addr(x.Sme), "amount": sim.I128(x.Amount), "funding_target": sim.I128(x.FundingTarget),
				"funded_amount": sim.I128(x.FundedAmount), "yield_bps": i64(x.YieldBps), "maturity": sim.U64(x.Maturity),
				"status": sim.U32(x.Status)}),
			"funding_token": sim.Addr(v.FundingToken), "treasury": sim.Addr(v.Treasury), "registry": optAddr(v.Registry),
			"has_maturity_lock": sim.Bool(v.HasMaturityLock)}), nil
	case *liquifact.EscrowFunded:
		return ev("escrow_funded", v.Head, inv(v.Head), sim.Addr(v.Investor)), sim.Struct(map[string]xdr.ScVal{
			"amount": sim.I128(v.Amount), "funded_amount": sim.I128(v.FundedAmount), "status": sim.U32(v.Status),
			"investor_effective_yield_bps": i64(v.InvestorEffectiveYieldBps), "tier_lock_secs": sim.U64(v.TierLockSecs)}), nil
	case *liquifact.EscrowUnfunded:
		return ev("escrow_unfunded", v.Head, inv(v.Head), sim.Addr(v.Investor)), sim.Struct(map[string]xdr.ScVal{
			"amount": sim.I128(v.Amount), "remaining_contribution": sim.I128(v.RemainingContribution),
			"new_funded_amount": sim.I128(v.NewFundedAmount), "timestamp": sim.U64(v.Timestamp)}), nil
	case *liquifact.EscrowPartiallySettled:
		return ev("escrow_partial_settle", v.Head, inv(v.Head)), sim.Struct(map[string]xdr.ScVal{
			"funded_amount": sim.I128(v.FundedAmount)}), nil
	case *liquifact.EscrowSettled:
		return ev("escrow_settled", v.Head, inv(v.Head)), sim.Struct(map[string]xdr.ScVal{
			"funded_amount": sim.I128(v.FundedAmount), "yield_bps": i64(v.YieldBps), "maturity": sim.U64(v.Maturity),
			"settled_at_ledger_timestamp": sim.U64(v.SettledAt), "settle_pool": sim.I128(v.SettlePool)}), nil
	case *liquifact.EscrowSmeWithdrew:
		return ev("sme_withdrew", v.Head, inv(v.Head)), sim.Struct(map[string]xdr.ScVal{
			"amount": sim.I128(v.Amount), "recipient": sim.Addr(v.Recipient), "fee": sim.I128(v.Fee)}), nil
	case *liquifact.EscrowPayoutClaimed:
		return ev("investor_payout_claimed", v.Head, sim.Addr(v.Investor), inv(v.Head)), empty, nil
	case *liquifact.EscrowFundingCancelled:
		return ev("funding_cancelled", v.Head, inv(v.Head)), sim.Struct(map[string]xdr.ScVal{
			"funded_amount": sim.I128(v.FundedAmount)}), nil
	case *liquifact.EscrowInvestorRefunded:
		return ev("investor_refunded_evt", v.Head, sim.Addr(v.Investor), inv(v.Head)), sim.Struct(map[string]xdr.ScVal{
			"amount": sim.I128(v.Amount)}), nil
	case *liquifact.EscrowLegalHoldChanged:
		return ev("legal_hold_changed", v.Head, inv(v.Head)), sim.Struct(map[string]xdr.ScVal{"active": sim.U32(v.Active)}), nil
	}
	return nil, xdr.ScVal{}, fmt.Errorf("liquifactsim: no encoding for %T", e)
}

func unix(t uint64) time.Time { return time.Unix(int64(t), 0).UTC() }
