package liquifactsim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/chain/sim"
	"github.com/streamledger/streamledger/contracts/liquifact"
	"github.com/streamledger/streamledger/domain"
)

// Fee the simulated escrows charge on the SME's withdrawal, and the tier a committed investor gets.
const (
	feeBps        = 50
	tierBonusBps  = 200
	tierLockSecs  = 60
	tokenDecimals = 10_000_000 // base units of a token: SAC tokens have 7 decimals
)

// Scenario plays invoice escrows: escrows initialized one after another from one WASM (each its own contract),
// funded by several investors (some with a tier commitment), unfunded, closed by their target or partially
// settled, settled at maturity and claimed, or drawn by the SME, or cancelled and refunded, and now and then put
// under a legal hold. It plays by the contract's rules and keeps each escrow's state with the module's own fold,
// so a clean ingest raises no anomaly.
type Scenario struct {
	// mu guards the scenario: the simulated network plays it while reconciliation reads its storage.
	mu        sync.Mutex
	drift     map[domain.Address]domain.Amount
	rng       *rand.Rand
	seed      uint64
	target    int // escrows
	escrows   []*escrow
	investors []account
	admin     account
	sme       account
	token     domain.Address
	seqNums   map[int]int64 // by account index: investors, then admin (−1) and SME (−2)

	// per ledger
	seq  uint32
	now  uint64
	txs  []sim.Tx
	errs []error
}

type escrow struct {
	contract xdr.ContractId
	address  domain.Address
	state    liquifact.Escrow
	events   int
}

type account struct {
	key     xdr.Uint256
	address domain.Address
}

func derive(seed uint64, what string) [32]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	return sha256.Sum256(append(b[:], what...))
}

func accountOf(seed uint64, what string) account {
	key := xdr.Uint256(derive(seed, what))
	return account{key: key, address: domain.Address(strkey.MustEncode(strkey.VersionByteAccountID, key[:]))}
}

// New is a scenario of escrows escrows (at least 1) and five investors.
func New(seed uint64, escrows int) (*Scenario, error) {
	if escrows < 1 {
		return nil, fmt.Errorf("liquifactsim: %d escrows (want ≥ 1)", escrows)
	}
	s := &Scenario{rng: rand.New(rand.NewPCG(seed, 0x11f)), seed: seed, target: escrows, seqNums: map[int]int64{},
		drift: map[domain.Address]domain.Amount{},
		admin: accountOf(seed, "escrow-admin"), sme: accountOf(seed, "escrow-sme")}
	token := derive(seed, "escrow-token")
	s.token = domain.Address(strkey.MustEncode(strkey.VersionByteContract, token[:]))
	for i := range 5 {
		s.investors = append(s.investors, accountOf(seed, fmt.Sprintf("escrow-investor-%d", i)))
	}
	for i := range escrows {
		id := xdr.ContractId(derive(seed, fmt.Sprintf("escrow-%d", i)))
		s.escrows = append(s.escrows, &escrow{contract: id, address: domain.Address(strkey.MustEncode(strkey.VersionByteContract, id[:]))})
	}
	return s, nil
}

// Contracts are the escrows' contract addresses, in the order they are initialized.
func (s *Scenario) Contracts() []domain.Address {
	out := make([]domain.Address, len(s.escrows))
	for i, e := range s.escrows {
		out[i] = e.address
	}
	return out
}

// States are the escrows' states as the scenario folded them (the canonical chain's, for tests).
func (s *Scenario) States() []liquifact.Escrow {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []liquifact.Escrow
	for _, e := range s.escrows {
		if e.state.Known {
			out = append(out, e.state)
		}
	}
	return out
}

// Fork copies the scenario for an abandoned branch, which chooses from rng.
func (s *Scenario) Fork(rng *rand.Rand) sim.Scenario {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Scenario{rng: rng, seed: s.seed, target: s.target, investors: s.investors, admin: s.admin, sme: s.sme,
		token: s.token, drift: map[domain.Address]domain.Amount{}, seq: s.seq, now: s.now}
	c.escrows = make([]*escrow, len(s.escrows))
	for i, e := range s.escrows {
		copied := *e
		c.escrows[i] = &copied
	}
	c.seqNums = make(map[int]int64, len(s.seqNums))
	for k, v := range s.seqNums {
		c.seqNums[k] = v
	}
	c.txs = nil
	return &c
}

// Ledger plays one ledger: usually one or two calls.
func (s *Scenario) Ledger(seq uint32, closeTime uint64) ([]sim.Tx, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq, s.now, s.txs, s.errs = seq, closeTime, nil, nil
	for range s.rng.IntN(3) {
		s.act()
	}
	if len(s.errs) > 0 {
		return nil, s.errs[0]
	}
	return s.txs, nil
}

// act makes one call: a new escrow now and then (until there are enough), else a move on a random escrow.
func (s *Scenario) act() {
	initialized := 0
	for _, e := range s.escrows {
		if e.state.Known {
			initialized++
		}
	}
	if initialized < s.target && (initialized == 0 || s.rng.IntN(4) == 0) {
		s.initialize(s.escrows[initialized], initialized)
		return
	}
	if initialized == 0 {
		return
	}
	e := s.escrows[s.rng.IntN(initialized)]
	st := &e.state
	if st.LegalHold {
		if s.rng.IntN(3) == 0 {
			s.emit(e, -1, "set_legal_hold", &liquifact.EscrowLegalHoldChanged{Head: s.head(e, "legalhld"), Active: 0})
		}
		return
	}
	if s.rng.IntN(25) == 0 && st.Status != liquifact.StatusSettled && st.Status != liquifact.StatusWithdrawn {
		s.emit(e, -1, "set_legal_hold", &liquifact.EscrowLegalHoldChanged{Head: s.head(e, "legalhld"), Active: 1})
		return
	}
	switch st.Status {
	case liquifact.StatusOpen:
		s.open(e)
	case liquifact.StatusFunded:
		switch {
		case s.rng.IntN(8) == 0: // the SME draws the liquidity instead of waiting for settlement
			fee := share(st.FundedAmount, feeBps)
			net, _ := st.FundedAmount.Sub(fee)
			s.emit(e, -2, "withdraw", &liquifact.EscrowSmeWithdrew{Head: s.head(e, "sme_wd"), Amount: net, Recipient: st.Sme, Fee: fee})
		case s.now >= st.Maturity:
			pool := liquifact.Payout(st.FundedAmount, st.FundedAmount, st.YieldBps) // P + ⌊P·y/10000⌋
			s.emit(e, -2, "settle", &liquifact.EscrowSettled{Head: s.head(e, "escrow_sd"), FundedAmount: st.FundedAmount,
				YieldBps: st.YieldBps, Maturity: st.Maturity, SettledAt: s.now, SettlePool: pool})
		}
	case liquifact.StatusSettled:
		for _, p := range st.Positions {
			if !p.Claimed && p.Contribution.Sign() > 0 && s.now >= p.ClaimNotBefore {
				s.emit(e, s.investorIndex(p.Investor), "claim_investor_payout",
					&liquifact.EscrowPayoutClaimed{Head: s.head(e, "inv_claim"), Investor: p.Investor})
				return
			}
		}
	case liquifact.StatusCancelled:
		for _, p := range st.Positions {
			if !p.Refunded && p.Contribution.Sign() > 0 {
				s.emit(e, s.investorIndex(p.Investor), "refund",
					&liquifact.EscrowInvestorRefunded{Head: s.head(e, "refunded"), Investor: p.Investor, Amount: p.Contribution})
				return
			}
		}
	}
}

// open is a move on an escrow whose funding is open: mostly funding, sometimes unfunding, a partial settlement or
// a cancellation.
func (s *Scenario) open(e *escrow) {
	st := &e.state
	switch r := s.rng.IntN(20); {
	case r == 0 && st.FundedAmount.Sign() > 0:
		s.emit(e, -2, "partial_settle", &liquifact.EscrowPartiallySettled{Head: s.head(e, "part_set"), FundedAmount: st.FundedAmount})
	case r == 1:
		s.emit(e, -1, "cancel_funding", &liquifact.EscrowFundingCancelled{Head: s.head(e, "fund_can"), FundedAmount: st.FundedAmount})
	case r < 5:
		for _, p := range st.Positions {
			if p.Contribution.Sign() > 0 {
				amount := share(p.Contribution, int64(2000+s.rng.IntN(8001))) // 20 % to 100 %
				if amount.Sign() <= 0 {
					return
				}
				rest, _ := p.Contribution.Sub(amount)
				total, _ := st.FundedAmount.Sub(amount)
				s.emit(e, s.investorIndex(p.Investor), "unfund", &liquifact.EscrowUnfunded{Head: s.head(e, "unfunded"),
					Investor: p.Investor, Amount: amount, RemainingContribution: rest, NewFundedAmount: total, Timestamp: s.now})
				return
			}
		}
	default:
		who := s.rng.IntN(len(s.investors))
		investor := s.investors[who].address
		amount := domain.NewAmount(int64(100+s.rng.IntN(1900)) * tokenDecimals)
		total, _ := st.FundedAmount.Add(amount)
		status := uint32(liquifact.StatusOpen)
		if total.Cmp(st.FundingTarget) >= 0 {
			status = uint32(liquifact.StatusFunded)
		}
		yield, lock := st.YieldBps, uint64(0)
		p, had := st.Position(investor)
		switch {
		case had && p.Funded.Sign() > 0:
			yield = p.EffectiveYieldBps // a second deposit keeps the first's yield
		case s.rng.IntN(3) == 0:
			yield, lock = st.YieldBps+tierBonusBps, tierLockSecs // fund_with_commitment meeting the tier
		}
		s.emit(e, who, "fund", &liquifact.EscrowFunded{Head: s.head(e, "funded"), Investor: investor, Amount: amount,
			FundedAmount: total, Status: status, InvestorEffectiveYieldBps: yield, TierLockSecs: lock})
	}
}

func (s *Scenario) initialize(e *escrow, i int) {
	target := domain.NewAmount(int64(2000+s.rng.IntN(4000)) * tokenDecimals)
	ev := &liquifact.EscrowInitialized{Head: s.head(e, "escrow_ii"), Escrow: liquifact.InvoiceEscrow{
		InvoiceID: fmt.Sprintf("INV-%d-%d", s.seed%1000, i), Admin: s.admin.address, Sme: s.sme.address, Amount: target,
		FundingTarget: target, YieldBps: int64(500 + s.rng.IntN(700)), Maturity: s.now + uint64(60+s.rng.IntN(240))},
		FundingToken: s.token, Treasury: s.admin.address}
	ev.InvoiceID = ev.Escrow.InvoiceID
	// The deployment creates the instance from the escrow executable: what discovery by WASM hash looks for.
	wasm := s.WasmHash()
	instance := xdr.LedgerEntry{LastModifiedLedgerSeq: xdr.Uint32(s.seq), Data: xdr.LedgerEntryData{Type: xdr.LedgerEntryTypeContractData,
		ContractData: &xdr.ContractDataEntry{Contract: xdr.ScAddress{Type: xdr.ScAddressTypeScAddressTypeContract, ContractId: &e.contract},
			Key: xdr.ScVal{Type: xdr.ScValTypeScvLedgerKeyContractInstance}, Durability: xdr.ContractDataDurabilityPersistent,
			Val: xdr.ScVal{Type: xdr.ScValTypeScvContractInstance, Instance: &xdr.ScContractInstance{
				Executable: xdr.ContractExecutable{Type: xdr.ContractExecutableTypeContractExecutableWasm, WasmHash: &wasm}}}}}}
	s.emit(e, -1, "init", ev, xdr.LedgerEntryChange{Type: xdr.LedgerEntryChangeTypeLedgerEntryCreated, Created: &instance})
}

// WasmHash is the escrow executable every simulated escrow is an instance of.
func (s *Scenario) WasmHash() xdr.Hash { return xdr.Hash(derive(s.seed, "escrow-wasm")) }

// share is ⌊a·bps/10000⌋, as the contract computes fees.
func share(a domain.Amount, bps int64) domain.Amount {
	v := new(big.Int).Mul(a.Big(), big.NewInt(bps))
	out, err := domain.AmountFromBig(v.Quo(v, big.NewInt(10_000)))
	if err != nil {
		return domain.Amount{}
	}
	return out
}

func (s *Scenario) head(e *escrow, name string) liquifact.Head {
	return liquifact.Head{ChainMeta: domain.ChainMeta{ContractID: e.address, Ledger: s.seq, LedgerClosedAt: unix(s.now)},
		Name: name, InvoiceID: e.state.InvoiceID}
}

func (s *Scenario) investorIndex(a domain.Address) int {
	return slices.IndexFunc(s.investors, func(x account) bool { return x.address == a })
}

// emit makes a transaction by the account at index who (−1 the admin, −2 the SME) calling function on e, with ev.
func (s *Scenario) emit(e *escrow, who int, function string, ev domain.Event, changes ...xdr.LedgerEntryChange) {
	topics, data, err := Encode(ev)
	if err != nil {
		s.errs = append(s.errs, err)
		return
	}
	source := s.admin
	switch {
	case who >= 0:
		source = s.investors[who]
	case who == -2:
		source = s.sme
	}
	s.seqNums[who]++
	id := e.contract
	s.txs = append(s.txs, sim.Tx{Source: source.key, SeqNum: int64(who+3)<<40 | s.seqNums[who], Contract: e.contract,
		Function: function, Changes: changes, Events: []xdr.ContractEvent{{ContractId: &id, Type: xdr.ContractEventTypeContract,
			Body: xdr.ContractEventBody{V0: &xdr.ContractEventV0{Topics: topics, Data: data}}}}})
	e.events++
	e.state = liquifact.Apply(e.state, fmt.Sprintf("%d-%d", s.seq, e.events), ev)
}
