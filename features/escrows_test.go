package features

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"sync"

	"github.com/cucumber/godog"
)

// The LiquiFact journeys run on their own network: long enough for escrows to reach maturity and be claimed.
var escrowShared struct {
	once sync.Once
	svc  *service
	err  error
}

type escrowView struct {
	ID               string `json:"id"`
	ContractID       string `json:"contractId"`
	Status           string `json:"status"`
	FundedAmountRaw  string `json:"fundedAmountRaw"`
	PrincipalAtClose string `json:"principalAtCloseRaw"`
	Investors        []struct {
		Investor          string `json:"investor"`
		ContributionRaw   string `json:"contributionRaw"`
		EffectiveYieldBps int64  `json:"effectiveYieldBps"`
		Claimed           bool   `json:"claimed"`
		PayoutRaw         string `json:"payoutRaw"`
	} `json:"investors"`
}

type escrowEvent struct {
	Type     string          `json:"type"`
	Ledger   uint32          `json:"ledger"`
	Reverted bool            `json:"reverted"`
	Event    json.RawMessage `json:"event"`
}

type escrowWorld struct {
	svc      *service
	escrow   escrowView
	history  []escrowEvent
	investor string
	funded   map[string]*big.Int // by escrow contract: what the investor contributed, from the escrows' histories
	listed   []struct {
		ContractID string `json:"contractId"`
		Position   struct {
			ContributionRaw string `json:"contributionRaw"`
		} `json:"position"`
	}
}

func registerEscrowSteps(sc *godog.ScenarioContext) {
	w := &escrowWorld{}
	sc.Step(`^streamledger has ingested a simulated network of (\d+) ledgers with invoice escrows, with reorganisations$`, w.ingested)
	sc.Step(`^an invoice escrow that has been settled and claimed$`, w.settledAndClaimed)
	sc.Step(`^I read the escrow and its history$`, w.readEscrow)
	sc.Step(`^its funded total is what its investors put in, less what they took back$`, w.fundedTotal)
	sc.Step(`^each claimed payout is the investor's contribution grown by their yield, rounded down as the contract does$`, w.payouts)
	sc.Step(`^the history shows the fundings in the order the ledgers closed, ending with the claims$`, w.historyOrder)
	sc.Step(`^an investor who funded at least two escrows$`, w.investorOfTwo)
	sc.Step(`^I read the investor's positions$`, w.readPositions)
	sc.Step(`^each escrow they funded is listed once, with what they contributed there$`, w.positionsListed)
}

func (w *escrowWorld) ingested(ledgers int) error {
	escrowShared.once.Do(func() {
		escrowShared.svc, escrowShared.err = start(map[string]string{"SIM_LEDGERS": strconv.Itoa(ledgers),
			"SIM_LEDGER_INTERVAL": "0s", "SIM_ESCROWS": "8", "SIM_SEED": "11"})
		if escrowShared.err == nil {
			escrowShared.err = escrowShared.svc.waitForTip(uint32(ledgers))
		}
	})
	w.svc = escrowShared.svc
	return escrowShared.err
}

func (w *escrowWorld) escrows() ([]escrowView, error) {
	var list struct {
		Data []escrowView `json:"data"`
	}
	err := w.svc.get("/api/escrows?limit=100", &list)
	return list.Data, err
}

func (w *escrowWorld) settledAndClaimed() error {
	all, err := w.escrows()
	if err != nil {
		return err
	}
	for _, e := range all {
		if e.Status != "settled" {
			continue
		}
		for _, p := range e.Investors {
			if p.Claimed {
				w.escrow = e
				return nil
			}
		}
	}
	return fmt.Errorf("none of %d escrows is settled with a claim", len(all))
}

func (w *escrowWorld) readEscrow() error {
	var one struct {
		Data escrowView `json:"data"`
	}
	if err := w.svc.get("/api/escrows/"+url.PathEscape(w.escrow.ID), &one); err != nil {
		return err
	}
	w.escrow = one.Data
	var page struct {
		Data []escrowEvent `json:"data"`
	}
	if err := w.svc.get("/api/escrows/"+url.PathEscape(w.escrow.ID)+"/events?limit=100", &page); err != nil {
		return err
	}
	w.history = page.Data
	return nil
}

func raw(s string) (*big.Int, error) {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("%q is not an integer", s)
	}
	return n, nil
}

// amountsOf sums a field of the history's standing events of one type.
func (w *escrowWorld) sum(eventType, field string) (*big.Int, error) {
	total := new(big.Int)
	for _, e := range w.history {
		if e.Type != eventType || e.Reverted {
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(e.Event, &fields); err != nil {
			return nil, err
		}
		var s string
		if err := json.Unmarshal(fields[field], &s); err != nil {
			return nil, fmt.Errorf("%s.%s: %v", eventType, field, err)
		}
		n, err := raw(s)
		if err != nil {
			return nil, err
		}
		total.Add(total, n)
	}
	return total, nil
}

func (w *escrowWorld) fundedTotal() error {
	in, err := w.sum("EscrowFunded", "amount")
	if err != nil {
		return err
	}
	out, err := w.sum("EscrowUnfunded", "amount")
	if err != nil {
		return err
	}
	want := new(big.Int).Sub(in, out)
	if w.escrow.FundedAmountRaw != want.String() {
		return fmt.Errorf("funded total %s, the history's fundings less unfundings %s", w.escrow.FundedAmountRaw, want)
	}
	return nil
}

// payouts: the contract's compute_investor_payout, written out here: P the principal when funding closed, y the
// investor's yield: ⌊contribution·(P + ⌊P·y/10000⌋)/P⌋.
func (w *escrowWorld) payouts() error {
	p, err := raw(w.escrow.PrincipalAtClose)
	if err != nil {
		return err
	}
	claims := 0
	for _, inv := range w.escrow.Investors {
		if !inv.Claimed {
			continue
		}
		claims++
		c, err := raw(inv.ContributionRaw)
		if err != nil {
			return err
		}
		coupon := new(big.Int).Quo(new(big.Int).Mul(p, big.NewInt(inv.EffectiveYieldBps)), big.NewInt(10_000))
		want := new(big.Int).Quo(new(big.Int).Mul(c, new(big.Int).Add(p, coupon)), p)
		if inv.PayoutRaw != want.String() {
			return fmt.Errorf("investor %s: payout %s, want %s (contribution %s, principal %s, yield %d bps)", inv.Investor,
				inv.PayoutRaw, want, c, p, inv.EffectiveYieldBps)
		}
	}
	if claims == 0 {
		return fmt.Errorf("no claim")
	}
	return nil
}

func (w *escrowWorld) historyOrder() error {
	var last uint32
	sawClaim := false
	for _, e := range w.history {
		if e.Reverted || e.Ledger == 0 {
			continue
		}
		if e.Ledger < last {
			return fmt.Errorf("ledger %d after %d", e.Ledger, last)
		}
		last = e.Ledger
		switch e.Type {
		case "EscrowFunded":
			if sawClaim {
				return fmt.Errorf("a funding after a claim")
			}
		case "EscrowPayoutClaimed":
			sawClaim = true
		}
	}
	if !sawClaim {
		return fmt.Errorf("no claim in the history")
	}
	return nil
}

func (w *escrowWorld) investorOfTwo() error {
	all, err := w.escrows()
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, e := range all {
		for _, p := range e.Investors {
			count[p.Investor]++
		}
	}
	for inv, n := range count {
		if n >= 2 {
			w.investor = inv
			w.funded = map[string]*big.Int{}
			for _, e := range all {
				for _, p := range e.Investors {
					if p.Investor == inv {
						c, err := raw(p.ContributionRaw)
						if err != nil {
							return err
						}
						w.funded[e.ContractID] = c
					}
				}
			}
			return nil
		}
	}
	return fmt.Errorf("no investor funded two of %d escrows", len(all))
}

func (w *escrowWorld) readPositions() error {
	var out struct {
		Data []struct {
			ContractID string `json:"contractId"`
			Position   struct {
				ContributionRaw string `json:"contributionRaw"`
			} `json:"position"`
		} `json:"data"`
	}
	if err := w.svc.get("/api/investors/"+w.investor+"/positions", &out); err != nil {
		return err
	}
	w.listed = out.Data
	return nil
}

func (w *escrowWorld) positionsListed() error {
	if len(w.listed) != len(w.funded) {
		return fmt.Errorf("%d positions listed, the investor is in %d escrows", len(w.listed), len(w.funded))
	}
	seen := map[string]bool{}
	for _, l := range w.listed {
		if seen[l.ContractID] {
			return fmt.Errorf("escrow %s listed twice", l.ContractID)
		}
		seen[l.ContractID] = true
		want, ok := w.funded[l.ContractID]
		if !ok || l.Position.ContributionRaw != want.String() {
			return fmt.Errorf("escrow %s: contribution %s, the escrow says %v", l.ContractID, l.Position.ContributionRaw, want)
		}
	}
	return nil
}
