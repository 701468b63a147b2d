package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// world is the simulated contract's state and the users acting on it. It plays the contract's rules forward from
// random choices, so every event it emits is one the real contract could emit: a clean ingest of a simulated
// chain raises no anomaly. It keeps its own view of each stream with the domain fold.
type world struct {
	rng       *rand.Rand
	admin     *rand.Rand // the second random source, of administer's calls
	contract  xdr.ContractId
	token     xdr.ContractId
	address   domain.Address // the contract's C… address
	accounts  []account
	byAddr    map[domain.Address]int // index in accounts; read-only after newWorld, so forks share it
	streams   map[uint64]fluxora.Stream
	live      []uint64 // the keys of streams in order: choosing a stream at random must not depend on map order
	nextID    uint64
	target    int // live streams to keep
	txPer     int // mean transactions per ledger
	seqNums   map[int]int64
	version   uint32 // the contract code's version, for upgrades
	offers    uint64 // the last offer id
	templates uint64 // the last template id

	// per ledger
	seq   uint32
	now   uint64
	meta  domain.ChainMeta
	txs   []Tx
	event int
}

type account struct {
	key     xdr.Uint256
	address domain.Address
}

func newWorld(seed uint64, streams, txPerLedger int) *world {
	w := &world{
		rng:      rand.New(rand.NewPCG(seed, 0x5eed)),
		admin:    rand.New(rand.NewPCG(seed, 0xad)),
		version:  1,
		contract: xdr.ContractId(derive(seed, "fluxora")),
		token:    xdr.ContractId(derive(seed, "token")),
		streams:  map[uint64]fluxora.Stream{},
		nextID:   1,
		target:   streams,
		txPer:    txPerLedger,
		seqNums:  map[int]int64{},
	}
	w.address = domain.Address(strkey.MustEncode(strkey.VersionByteContract, w.contract[:]))
	n := max(4, 2*streams)
	w.byAddr = make(map[domain.Address]int, n)
	for i := range n {
		key := xdr.Uint256(derive(seed, fmt.Sprintf("account-%d", i)))
		addr := domain.Address(strkey.MustEncode(strkey.VersionByteAccountID, key[:]))
		w.accounts = append(w.accounts, account{key: key, address: addr})
		w.byAddr[addr] = i
	}
	return w
}

func derive(seed uint64, what string) [32]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	return sha256.Sum256(append(b[:], what...))
}

// Fork is fork, as a Scenario.
func (w *world) Fork(rng *rand.Rand) Scenario { return w.fork(rng) }

// Ledger is ledger, as a Scenario.
func (w *world) Ledger(seq uint32, closeTime uint64) ([]Tx, error) { return w.ledger(seq, closeTime) }

// fork copies the world for another branch, which makes its own choices from rng.
func (w *world) fork(rng *rand.Rand) *world {
	c := *w
	c.rng = rng
	c.admin = rand.New(rand.NewPCG(rng.Uint64(), 0xad))
	c.streams = make(map[uint64]fluxora.Stream, len(w.streams))
	for id, s := range w.streams {
		c.streams[id] = s
	}
	c.live = slices.Clone(w.live)
	c.seqNums = make(map[int]int64, len(w.seqNums))
	for k, v := range w.seqNums {
		c.seqNums[k] = v
	}
	c.txs = nil
	return &c
}

// ledger plays one ledger: a few transactions, each one contract call with the events it emits.
func (w *world) ledger(seq uint32, closeTime uint64) ([]Tx, error) {
	w.seq, w.now, w.txs = seq, closeTime, nil
	w.meta = domain.ChainMeta{ContractID: w.address, Ledger: seq, LedgerClosedAt: unix(closeTime)}
	n := 0
	if w.txPer > 0 {
		n = w.rng.IntN(2*w.txPer + 1)
	}
	for range n {
		if err := w.transaction(); err != nil {
			return nil, err
		}
	}
	if n > 0 {
		if err := w.administer(); err != nil {
			return nil, err
		}
	}
	return w.txs, nil
}

// call starts a transaction by the account at index who.
func (w *world) call(who int, function string) *Tx {
	w.seqNums[who]++
	w.txs = append(w.txs, Tx{Source: w.accounts[who].key, SeqNum: int64(who)<<32 | w.seqNums[who],
		Contract: w.contract, Function: function})
	w.event = 0
	return &w.txs[len(w.txs)-1]
}

// emit publishes a domain event from the Fluxora contract in the current transaction and folds it into the view.
func (w *world) emit(e domain.Event) error {
	topics, data, err := Encode(e)
	if err != nil {
		return err
	}
	w.publish(w.contract, topics, data)
	if ref, ok := fluxora.StreamOf(e); ok {
		s, known := w.streams[ref.StreamID]
		if !known {
			i, _ := slices.BinarySearch(w.live, ref.StreamID)
			w.live = slices.Insert(w.live, i, ref.StreamID)
		}
		w.streams[ref.StreamID] = fluxora.Apply(s, fmt.Sprintf("%d-%d-%d", w.seq, len(w.txs), w.event), e)
	}
	return nil
}

func (w *world) publish(contract xdr.ContractId, topics []xdr.ScVal, data xdr.ScVal) {
	tx := &w.txs[len(w.txs)-1]
	id := contract
	tx.Events = append(tx.Events, xdr.ContractEvent{ContractId: &id, Type: xdr.ContractEventTypeContract,
		Body: xdr.ContractEventBody{V: 0, V0: &xdr.ContractEventV0{Topics: topics, Data: data}}})
	w.event++
}

// transfer is the token contract's SAC transfer event that accompanies every payout.
func (w *world) transfer(from, to domain.Address, amount domain.Amount) {
	w.publish(w.token, []xdr.ScVal{Sym("transfer"), Addr(from), Addr(to), Str("native")}, I128(amount))
}

func (w *world) accountIndex(a domain.Address) int { return w.byAddr[a] }

// liveIDs are the ids of the streams the contract stores, in order; the caller must not modify them.
func (w *world) liveIDs() []uint64 { return w.live }

func (w *world) transaction() error {
	switch {
	case w.rng.IntN(60) == 0:
		// A call that traps: the ledger has the transaction, the chain has no event of it.
		tx := w.call(w.rng.IntN(len(w.accounts)), "withdraw")
		tx.Failed = true
		return nil
	case w.rng.IntN(40) == 0 && len(w.streams) > 0:
		// A topic the engine does not model (offers): kept as observed.
		ids := w.liveIDs()
		id := ids[w.rng.IntN(len(ids))]
		w.call(w.rng.IntN(len(w.accounts)), "create_offer")
		w.publish(w.contract, []xdr.ScVal{Sym("offr_new"), U64(id)},
			Struct(map[string]xdr.ScVal{"stream_id": U64(id), "price": I128(domain.NewAmount(int64(w.rng.IntN(1000) + 1)))}))
		return nil
	case len(w.streams) < w.target && w.rng.IntN(3) > 0, len(w.streams) == 0:
		return w.create()
	case w.rng.IntN(50) == 0:
		// A contract-level event: the admin role moves to another account (filed in the contract's stream).
		old, next := w.rng.IntN(len(w.accounts)), w.rng.IntN(len(w.accounts))
		w.call(old, "set_admin")
		return w.emit(&fluxora.ContractAdminUpdated{ChainMeta: w.meta, OldAdmin: w.accounts[old].address,
			NewAdmin: w.accounts[next].address})
	}
	ids := w.liveIDs()
	return w.act(ids[w.rng.IntN(len(ids))])
}

func (w *world) create() error {
	si := w.rng.IntN(len(w.accounts))
	ri := (si + 1 + w.rng.IntN(len(w.accounts)-1)) % len(w.accounts)
	rate := domain.NewAmount(w.rng.Int64N(5_000) + 1)
	duration := uint64(w.rng.IntN(20_000) + 600)
	start := w.now + uint64(w.rng.IntN(30))
	deposit, _ := domain.NewAmount(int64(duration)).Mul(rate)
	if w.rng.IntN(10) == 0 {
		rate = domain.Amount{} // cliff-only
		deposit = domain.NewAmount(w.rng.Int64N(10_000_000) + 1)
	}
	deposit, _ = deposit.Add(domain.NewAmount(w.rng.Int64N(1000)))
	cliff := start
	if w.rng.IntN(3) == 0 || rate.IsZero() {
		cliff = start + uint64(w.rng.IntN(int(duration)))
	}
	var memo []byte
	var metadata []fluxora.MetadataEntry
	if w.rng.IntN(4) == 0 {
		memo = fmt.Appendf(nil, "payroll-%d", w.rng.IntN(100))
		metadata = []fluxora.MetadataEntry{{Key: []byte("dept"), Value: []byte("ops")}}
	}
	id := w.nextID
	w.nextID++
	created := &fluxora.StreamCreated{ChainMeta: w.meta, StreamID: id, Sender: w.accounts[si].address,
		Recipient: w.accounts[ri].address, DepositAmount: deposit, RatePerSecond: rate, StartTime: start,
		CliffTime: cliff, EndTime: start + duration, WithdrawDustThreshold: domain.Amount{}, Memo: memo, Metadata: metadata}
	source, clone := w.streamToClone()
	if clone {
		w.call(si, "clone_stream")
	} else {
		w.call(si, "create_stream")
	}
	w.transfer(created.Sender, w.address, deposit)
	if err := w.emit(created); err != nil {
		return err
	}
	if clone {
		return w.emit(&fluxora.StreamCloned{ChainMeta: w.meta, NewStreamID: id, SourceStreamID: source,
			Sender: created.Sender, Recipient: created.Recipient, DepositAmount: deposit, RatePerSecond: rate,
			StartTime: start, CliffTime: cliff, EndTime: created.EndTime, WithdrawDustThreshold: domain.Amount{}})
	}
	return nil
}

func (w *world) streamToClone() (uint64, bool) {
	if len(w.streams) == 0 || w.rng.IntN(8) != 0 {
		return 0, false
	}
	ids := w.liveIDs()
	return ids[w.rng.IntN(len(ids))], true
}

// act makes one contract call on stream id, following the contract's rules (FLUXORA_CONTRACT.md).
func (w *world) act(id uint64) error {
	s := w.streams[id]
	m := w.meta
	live := s.Status == fluxora.StatusActive || s.Status == fluxora.StatusPaused
	linear := s.Kind == fluxora.KindLinear
	sender, recipient := w.accountIndex(s.Sender), w.accountIndex(s.Recipient)
	switch w.rng.IntN(13) {
	case 0, 1, 2, 3:
		if s.Status == fluxora.StatusCompleted || (s.Status == fluxora.StatusPaused && w.now < s.EndTime) {
			return nil
		}
		amount := s.Withdrawable(w.now)
		if amount.Sign() <= 0 {
			return nil
		}
		w.call(recipient, "withdraw")
		w.transfer(w.address, s.Recipient, amount)
		if err := w.emit(&fluxora.StreamWithdrawn{ChainMeta: m, StreamID: id, Recipient: s.Recipient, Amount: amount}); err != nil {
			return err
		}
		if after := w.streams[id]; live && after.WithdrawnAmount == after.DepositAmount {
			return w.emit(&fluxora.StreamCompleted{ChainMeta: m, StreamID: id})
		}
	case 4:
		if s.Status == fluxora.StatusActive {
			w.call(sender, "pause_stream")
			return w.emit(&fluxora.StreamPaused{ChainMeta: m, StreamID: id, Reason: fluxora.PauseOperational})
		} else if s.Status == fluxora.StatusPaused {
			w.call(sender, "resume_stream")
			return w.emit(&fluxora.StreamResumed{ChainMeta: m, StreamID: id})
		}
	case 5:
		if live && linear && w.now < s.EndTime {
			amount := domain.NewAmount(w.rng.Int64N(100_000) + 1)
			total, _ := s.DepositAmount.Add(amount)
			w.call(sender, "top_up_stream")
			w.transfer(s.Sender, w.address, amount)
			return w.emit(&fluxora.StreamToppedUp{ChainMeta: m, StreamID: id, TopUpAmount: amount,
				NewDepositAmount: total, NewEndTime: s.EndTime})
		}
	case 6:
		if live && linear && w.now < s.EndTime && w.now >= s.StartTime {
			newRate, _ := s.RatePerSecond.Add(domain.NewAmount(w.rng.Int64N(100) + 1))
			need, _ := domain.NewAmount(int64(s.EndTime - w.now)).Mul(newRate)
			need, _ = need.Add(s.Accrued(w.now))
			if need.Cmp(s.DepositAmount) > 0 {
				return nil // the contract refuses a rate the deposit cannot cover
			}
			w.call(sender, "update_rate")
			return w.emit(&fluxora.StreamRateUpdated{ChainMeta: m, StreamID: id, OldRatePerSecond: s.RatePerSecond,
				NewRatePerSecond: newRate, EffectiveTime: w.now})
		}
	case 7:
		if live && linear && w.now < s.EndTime && w.now >= s.StartTime && s.RatePerSecond.Cmp(domain.NewAmount(1)) > 0 {
			hi, lo := s.RatePerSecond.Parts()
			if hi != 0 {
				return nil
			}
			newRate := domain.NewAmount(w.rng.Int64N(int64(lo)-1) + 1)
			checkpoint := s.Accrued(w.now)
			rest, _ := domain.NewAmount(int64(s.EndTime - w.now)).Mul(newRate)
			newDeposit, _ := checkpoint.Add(rest)
			refund, _ := s.DepositAmount.Sub(newDeposit)
			if refund.Sign() < 0 {
				return nil
			}
			w.call(sender, "decrease_rate")
			w.transfer(w.address, s.Sender, refund)
			return w.emit(&fluxora.StreamRateDecreased{ChainMeta: m, StreamID: id, OldRatePerSecond: s.RatePerSecond,
				NewRatePerSecond: newRate, EffectiveTime: w.now, CheckpointedAmount: checkpoint, RefundAmount: refund})
		}
	case 8:
		if live && linear && w.now < s.EndTime {
			if w.rng.IntN(2) == 0 {
				floor := max(w.now, s.StartTime, s.CliffTime) + 1
				if floor >= s.EndTime {
					return nil
				}
				newEnd := floor + uint64(w.rng.IntN(int(s.EndTime-floor)))
				streamable, _ := domain.NewAmount(int64(newEnd - s.StartTime)).Mul(s.RatePerSecond)
				newDeposit := domain.MaxAmountOf(streamable, s.Accrued(w.now))
				refund, _ := s.DepositAmount.Sub(newDeposit)
				if refund.Sign() < 0 {
					return nil
				}
				w.call(sender, "shorten_stream_end_time")
				return w.emit(&fluxora.StreamEndShortened{ChainMeta: m, StreamID: id, OldEndTime: s.EndTime,
					NewEndTime: newEnd, RefundAmount: refund})
			}
			newEnd := s.EndTime + uint64(w.rng.IntN(1000)+1)
			need, _ := domain.NewAmount(int64(newEnd - s.StartTime)).Mul(s.RatePerSecond)
			if need.Cmp(s.DepositAmount) <= 0 {
				w.call(sender, "extend_stream_end_time")
				return w.emit(&fluxora.StreamEndExtended{ChainMeta: m, StreamID: id, OldEndTime: s.EndTime, NewEndTime: newEnd})
			}
		}
	case 9:
		if live && w.rng.IntN(2) == 0 {
			w.call(sender, "cancel_stream")
			return w.emit(&fluxora.StreamCancelled{ChainMeta: m, StreamID: id, CancelledAt: w.now})
		}
	case 10:
		if live {
			ni := w.rng.IntN(len(w.accounts))
			if ni == sender || ni == recipient {
				return w.delegate(id, s) // half the time this call would change nothing: delegate a share instead
			}
			w.call(recipient, "update_recipient")
			return w.emit(&fluxora.StreamRecipientUpdated{ChainMeta: m, StreamID: id, OldRecipient: s.Recipient,
				NewRecipient: w.accounts[ni].address})
		}
	case 12:
		if live {
			return w.claimAndAutoClaim(id, s, recipient)
		}
	case 11:
		claimable := s.Status == fluxora.StatusCancelled && s.Withdrawable(s.CancelledAt).Sign() > 0
		if s.Status == fluxora.StatusCompleted || (s.Status == fluxora.StatusCancelled && !claimable) {
			w.call(sender, "close_completed_stream")
			if err := w.emit(&fluxora.StreamClosed{ChainMeta: m, StreamID: id}); err != nil {
				return err
			}
			delete(w.streams, id) // the contract deletes the stream's storage
			if i, found := slices.BinarySearch(w.live, id); found {
				w.live = slices.Delete(w.live, i, i+1)
			}
		}
	}
	return nil
}

// delegate gives half of stream id's rate to another account (`del_share`): the contract splits the stream at now
// and creates a child stream without a `created` (FLUXORA_CONTRACT.md), which may itself be delegated later.
func (w *world) delegate(id uint64, s fluxora.Stream) error {
	if s.Status != fluxora.StatusActive || s.Kind != fluxora.KindLinear || w.now < s.StartTime || w.now >= s.EndTime ||
		s.RatePerSecond.Cmp(domain.NewAmount(2)) < 0 {
		return nil
	}
	hi, lo := s.RatePerSecond.Parts()
	if hi != 0 || lo > 1<<50 {
		return nil
	}
	const bps = 5000
	childRate := domain.NewAmount(int64(lo) * bps / 10000)
	newRate, _ := s.RatePerSecond.Sub(childRate)
	recipient := w.accountIndex(s.Recipient)
	delegatee := w.accounts[(recipient+1)%len(w.accounts)].address
	if delegatee == s.Sender {
		delegatee = w.accounts[(recipient+2)%len(w.accounts)].address
	}
	if delegatee == s.Recipient || delegatee == s.Sender {
		return nil
	}
	d := &fluxora.StreamShareDelegated{ChainMeta: w.meta, ParentStreamID: id, ChildStreamID: w.nextID, Delegator: s.Recipient,
		Delegatee: delegatee, ShareBps: bps, NewParentRate: newRate, ChildRate: childRate}
	child := fluxora.DelegatedChild(s, d)
	if after := fluxora.Apply(s, "", d); after.DepositAmount.Cmp(s.DepositAmount) > 0 || len(after.Anomalies) > len(s.Anomalies) {
		return nil // the contract refuses a split the deposit cannot fund
	}
	w.nextID++
	w.call(recipient, "delegate_share")
	if err := w.emit(d); err != nil {
		return err
	}
	// The child's history as the engine files it: its StreamDelegatedFrom, derived by the ingester.
	w.streams[d.ChildStreamID] = fluxora.Apply(child, fmt.Sprintf("%d-%d-%d-child", w.seq, len(w.txs), w.event),
		&fluxora.StreamDelegatedFrom{ChainMeta: w.meta, StreamID: d.ChildStreamID, ParentStreamID: id})
	i, _ := slices.BinarySearch(w.live, d.ChildStreamID)
	w.live = slices.Insert(w.live, i, d.ChildStreamID)
	return nil
}

// claimAndAutoClaim moves the right to claim (claim_own) or sets or revokes the auto-claim destination (ac_set,
// ac_revoke): events that change who gets paid, not how much.
func (w *world) claimAndAutoClaim(id uint64, s fluxora.Stream, recipient int) error {
	other := w.accounts[w.rng.IntN(len(w.accounts))].address
	switch {
	case w.rng.IntN(3) == 0:
		var old *domain.Address
		if s.ClaimOwner != "" {
			o := s.ClaimOwner
			old = &o
		}
		w.call(recipient, "transfer_claim_ownership")
		return w.emit(&fluxora.StreamClaimOwnerChanged{ChainMeta: w.meta, StreamID: id, OldOwner: old, NewOwner: other})
	case s.AutoClaimDestination != "" && w.rng.IntN(2) == 0:
		w.call(recipient, "revoke_auto_claim")
		return w.emit(&fluxora.StreamAutoClaimRevoked{ChainMeta: w.meta, StreamID: id})
	default:
		w.call(recipient, "set_auto_claim")
		return w.emit(&fluxora.StreamAutoClaimSet{ChainMeta: w.meta, StreamID: id, Destination: other})
	}
}
