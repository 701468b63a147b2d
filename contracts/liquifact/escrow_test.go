package liquifact

import (
	"testing"
	"time"

	"github.com/streamledger/streamledger/domain"
)

const (
	alice = domain.Address("GAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPSABOV")
	bob   = domain.Address("GAZDGNBVGY3TQOJ2HM6D2PR7IBAUEQ2EIVDEOSCJJJFUYTKOJ5IFDANM")
	carol = domain.Address("GBJCHUKZMTFSLOMNC7P4TS4VJJBTCYL3XKSOLXAUJSD56C4LHND5TWUC")
)

// scenario builds an escrow's events ledger by ledger, one close time a ledger 5 s apart from t0.
type scenario struct {
	t        *testing.T
	contract domain.Address
	ledger   uint32
	entries  []domain.Entry
}

const t0 = 1_790_000_000

func (s *scenario) head(name string) Head {
	s.ledger++
	return Head{ChainMeta: domain.ChainMeta{ContractID: s.contract, Ledger: s.ledger,
		LedgerClosedAt: time.Unix(int64(t0+5*s.ledger), 0).UTC()}, Name: name, InvoiceID: "INV-7"}
}

func (s *scenario) add(e domain.Event) Escrow {
	s.entries = append(s.entries, domain.Entry{ID: string(rune('a' + len(s.entries))), Event: e})
	return Replay(s.entries)
}

func n(v int64) domain.Amount { return domain.NewAmount(v) }

func init0(s *scenario, target, yield int64) {
	s.add(&EscrowInitialized{Head: s.head("escrow_ii"), Escrow: InvoiceEscrow{InvoiceID: "INV-7", Admin: alice, Sme: bob,
		Amount: n(target), FundingTarget: n(target), YieldBps: yield, Maturity: t0 + 1000}, FundingToken: carol, Treasury: alice})
}

func wantAmount(t *testing.T, what string, got domain.Amount, want int64) {
	t.Helper()
	if got.Cmp(n(want)) != 0 {
		t.Errorf("%s = %s, want %d", what, got, want)
	}
}

// The payouts, funded totals and statuses below are computed by hand from the contract's rules (escrow/src/lib.rs
// at ef6338e): funding closes when the funded total reaches the target, and the principal then (P) is the base of
// every payout, ⌊contribution·(P + ⌊P·y/10000⌋)/P⌋ with the investor's own yield y.
func TestEscrowScenarioComputedByHand(t *testing.T) {
	s := &scenario{t: t, contract: "CAAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQC526"}
	init0(s, 100_000_000_000, 800) // 10,000 tokens at 8 %
	s.add(&EscrowFunded{Head: s.head("funded"), Investor: alice, Amount: n(30_000_000_000), FundedAmount: n(30_000_000_000),
		InvestorEffectiveYieldBps: 800})
	// Bob commits for a tier: 10 % and a one-day lock from this ledger's close (ledger 3, t0+15).
	s.add(&EscrowFunded{Head: s.head("funded"), Investor: bob, Amount: n(50_000_000_000), FundedAmount: n(80_000_000_000),
		InvestorEffectiveYieldBps: 1000, TierLockSecs: 86_400})
	s.add(&EscrowUnfunded{Head: s.head("unfunded"), Investor: alice, Amount: n(10_000_000_000),
		RemainingContribution: n(20_000_000_000), NewFundedAmount: n(70_000_000_000), Timestamp: t0 + 20})
	e := s.add(&EscrowFunded{Head: s.head("funded"), Investor: carol, Amount: n(40_000_000_000), FundedAmount: n(110_000_000_000),
		Status: 1, InvestorEffectiveYieldBps: 800})
	if e.Status != StatusFunded || e.ClosedAt != t0+25 {
		t.Fatalf("after 110 of 100 tokens: %s, closed at %d", e.Status, e.ClosedAt)
	}
	wantAmount(t, "principal at close", e.PrincipalAtClose, 110_000_000_000)
	if p, _ := e.Position(bob); p.ClaimNotBefore != t0+15+86_400 || p.EffectiveYieldBps != 1000 {
		t.Errorf("bob's lock %d and yield %d", p.ClaimNotBefore, p.EffectiveYieldBps)
	}
	if p, _ := e.Position(alice); p.Contribution.Cmp(n(20_000_000_000)) != 0 || p.Unfunded.Cmp(n(10_000_000_000)) != 0 {
		t.Errorf("alice after unfunding: %+v", p)
	}
	// Settlement: pool = 110 + ⌊110·800/10000⌋ = 118.8 tokens.
	e = s.add(&EscrowSettled{Head: s.head("escrow_sd"), FundedAmount: n(110_000_000_000), YieldBps: 800, Maturity: t0 + 1000,
		SettledAt: t0 + 1000, SettlePool: n(118_800_000_000)})
	if e.Status != StatusSettled {
		t.Fatalf("settled: %s", e.Status)
	}
	// Alice: 20·118.8/110 = 21.6; Bob at 10 %: 50·(110+11)/110 = 55; Carol: 40·118.8/110 = 43.2.
	for _, c := range []struct {
		who    domain.Address
		payout int64
	}{{alice, 21_600_000_000}, {bob, 55_000_000_000}, {carol, 43_200_000_000}} {
		e = s.add(&EscrowPayoutClaimed{Head: s.head("inv_claim"), Investor: c.who})
		p, _ := e.Position(c.who)
		if !p.Claimed {
			t.Errorf("%s not claimed", c.who)
		}
		wantAmount(t, "payout of "+string(c.who), p.Payout, c.payout)
	}
	wantAmount(t, "paid out", e.PaidOut, 119_800_000_000)
	if e.InvestorsEverFunded != 3 || len(e.Anomalies) != 0 {
		t.Errorf("%d investors, anomalies %+v", e.InvestorsEverFunded, e.Anomalies)
	}
	e = s.add(&EscrowPayoutClaimed{Head: s.head("inv_claim"), Investor: alice})
	if len(e.Anomalies) != 1 || e.Anomalies[0].Code != "CLAIMED_TWICE" {
		t.Errorf("a second claim: %+v", e.Anomalies)
	}
}

// Rounding is the contract's: floor at the coupon and at the share. P = 1000, y = 1234 bps: coupon ⌊123.4⌋ = 123,
// pool 1123; 333·1123/1000 = 373.959 → 373 and 667·1123/1000 = 749.041 → 749, one base unit short of the pool.
func TestPayoutRoundsDownAsTheContractDoes(t *testing.T) {
	if got := Payout(n(333), n(1000), 1234); got.Cmp(n(373)) != 0 {
		t.Errorf("333 of 1000: %s", got)
	}
	if got := Payout(n(667), n(1000), 1234); got.Cmp(n(749)) != 0 {
		t.Errorf("667 of 1000: %s", got)
	}
	if got := Payout(n(5), n(0), 800); !got.IsZero() {
		t.Errorf("no principal: %s", got)
	}
}

// A cancellation refunds each investor's contribution; a partial settlement closes funding below the target; the
// SME's withdrawal is net of the fee; a legal hold comes and goes; and an event whose totals disagree with the
// escrow's own is flagged.
func TestEscrowCancellationPartialSettlementWithdrawalAndHold(t *testing.T) {
	s := &scenario{t: t, contract: "CAAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQC526"}
	init0(s, 500, 800)
	s.add(&EscrowFunded{Head: s.head("funded"), Investor: carol, Amount: n(200), FundedAmount: n(200), InvestorEffectiveYieldBps: 800})
	s.add(&EscrowLegalHoldChanged{Head: s.head("legalhld"), Active: 1})
	e := s.add(&EscrowLegalHoldClearRequested{Head: s.head("lh_req"), ClearableAt: t0 + 99})
	if !e.LegalHold || e.LegalHoldClearableAt != t0+99 {
		t.Fatalf("hold %v until %d", e.LegalHold, e.LegalHoldClearableAt)
	}
	s.add(&EscrowLegalHoldChanged{Head: s.head("legal_h"), Active: 0})
	s.add(&EscrowFundingCancelled{Head: s.head("fund_can"), FundedAmount: n(200)})
	e = s.add(&EscrowInvestorRefunded{Head: s.head("refunded"), Investor: carol, Amount: n(200)})
	p, _ := e.Position(carol)
	if e.Status != StatusCancelled || e.LegalHold || !p.Refunded || !p.Contribution.IsZero() || len(e.Anomalies) != 0 {
		t.Fatalf("after the refund: %s hold %v %+v %+v", e.Status, e.LegalHold, p, e.Anomalies)
	}
	wantAmount(t, "refunded", e.Refunded, 200)

	w := &scenario{t: t, contract: s.contract}
	init0(w, 1000, 800)
	w.add(&EscrowFunded{Head: w.head("funded"), Investor: alice, Amount: n(600), FundedAmount: n(600), InvestorEffectiveYieldBps: 800})
	e = w.add(&EscrowPartiallySettled{Head: w.head("part_set"), FundedAmount: n(600)})
	wantAmount(t, "principal at a partial settlement", e.PrincipalAtClose, 600)
	// Fee at 50 bps: ⌊600·50/10000⌋ = 3, the SME receives 597.
	e = w.add(&EscrowSmeWithdrew{Head: w.head("sme_wd"), Amount: n(597), Recipient: bob, Fee: n(3)})
	if e.Status != StatusWithdrawn || len(e.Anomalies) != 0 {
		t.Fatalf("withdrawn: %s %+v", e.Status, e.Anomalies)
	}
	wantAmount(t, "the SME received", e.SmeReceived, 597)

	bad := &scenario{t: t, contract: s.contract}
	init0(bad, 1000, 800)
	e = bad.add(&EscrowFunded{Head: bad.head("funded"), Investor: alice, Amount: n(100), FundedAmount: n(150), InvestorEffectiveYieldBps: 800})
	if len(e.Anomalies) != 1 || e.Anomalies[0].Code != "AMOUNT_MISMATCH" {
		t.Fatalf("a funded total that disagrees: %+v", e.Anomalies)
	}
	wantAmount(t, "the contract's funded total is kept", e.FundedAmount, 150)
}
