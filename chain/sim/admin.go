package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
)

// administer ends a ledger with the calls that are not a stream's everyday life, drawn from the world's second
// random source so that adding them left the everyday calls as they were: renewals and offers (which create
// streams), auto-claims that pay out, health checks, decommissioning, and the admin's contract-level calls (pauses with their
// resumptions, upgrades, sweeps, templates, id releases). Pauses come last in a ledger and are lifted by the next
// call, so no stream call ever meets a paused contract.
func (w *world) administer() error {
	r := w.admin
	if len(w.live) > 0 {
		id := w.live[r.IntN(len(w.live))]
		s := w.streams[id]
		switch r.IntN(12) {
		case 0:
			if err := w.renew(id, s); err != nil {
				return err
			}
		case 1:
			if err := w.autoClaim(id, s); err != nil {
				return err
			}
		case 3:
			// Wound down and back: mutations are refused while a stream is decommissioned, so the flag is cleared
			// in the next call.
			if s.Status == fluxora.StatusActive || s.Status == fluxora.StatusPaused {
				w.call(0, "set_stream_decommissioned")
				if err := w.emit(&fluxora.StreamDecommissioned{ChainMeta: w.meta, StreamID: id, Decommissioned: true}); err != nil {
					return err
				}
				w.call(0, "set_stream_decommissioned")
				if err := w.emit(&fluxora.StreamDecommissioned{ChainMeta: w.meta, StreamID: id}); err != nil {
					return err
				}
			}
		case 2:
			if s.Status == fluxora.StatusActive || s.Status == fluxora.StatusPaused {
				remaining, _ := s.DepositAmount.Sub(s.Accrued(w.now))
				w.call(w.accountIndex(s.Sender), "check_health")
				if err := w.emit(&fluxora.StreamHealthChanged{ChainMeta: w.meta, StreamID: id, RemainingBalance: remaining,
					SecondsRemaining: s.EndTime - min(w.now, s.EndTime)}); err != nil {
					return err
				}
			}
		}
	}
	admin := w.accounts[0].address
	switch r.IntN(40) {
	case 0:
		return w.offer()
	case 1:
		w.call(0, "global_pause")
		if err := w.emit(&fluxora.GlobalPauseChanged{ChainMeta: w.meta, Paused: true}); err != nil {
			return err
		}
		w.call(0, "global_resume")
		return w.emit(&fluxora.GlobalResumed{ChainMeta: w.meta, ResumedAt: w.now})
	case 2:
		w.call(0, "set_contract_paused")
		if err := w.emit(&fluxora.CreationPauseChanged{ChainMeta: w.meta, Paused: true}); err != nil {
			return err
		}
		w.call(0, "set_contract_paused")
		return w.emit(&fluxora.CreationPauseChanged{ChainMeta: w.meta, Paused: false})
	case 3:
		w.call(0, "pause_protocol")
		if err := w.emit(&fluxora.ProtocolPaused{ChainMeta: w.meta, Admin: admin, Reason: "maintenance", PausedAt: w.now}); err != nil {
			return err
		}
		w.call(0, "resume_protocol")
		return w.emit(&fluxora.ProtocolResumed{ChainMeta: w.meta, Admin: admin, ResumedAt: w.now})
	case 4:
		// An upgrade: the contract publishes `upgraded` and the legacy `upgrade` tuple, both with the version of the
		// code that ran the upgrade.
		var seq [4]byte
		binary.BigEndian.PutUint32(seq[:], w.seq)
		sum := sha256.Sum256(append([]byte("wasm"), seq[:]...))
		hash := hex.EncodeToString(sum[:])
		w.call(0, "upgrade")
		if err := w.emit(&fluxora.ContractUpgraded{ChainMeta: w.meta, NewWasmHash: hash, NewVersion: w.version, UpgradedAt: w.now,
			UpgradedBy: admin}); err != nil {
			return err
		}
		if err := w.emit(&fluxora.ContractUpgradedLegacy{ChainMeta: w.meta, NewWasmHash: hash, OldVersion: w.version,
			NewVersion: w.version, Admin: admin}); err != nil {
			return err
		}
		w.version++
	case 5:
		amount := domain.NewAmount(int64(r.IntN(1000) + 1))
		w.call(0, "sweep_excess")
		w.transfer(w.address, admin, amount)
		return w.emit(&fluxora.ExcessSwept{ChainMeta: w.meta, To: admin, Amount: amount})
	case 6:
		w.templates++
		w.call(0, "define_template")
		return w.emit(&fluxora.StreamTemplateDefined{ChainMeta: w.meta, TemplateID: w.templates, Owner: admin, StartDelay: 60,
			CliffDelay: 3600, Duration: 86400})
	case 7:
		w.call(0, "release_ids")
		return w.emit(&fluxora.StreamIDsReleased{ChainMeta: w.meta, Holder: admin, StartID: w.nextID, Count: 0, Consumed: 0, Reclaimed: 0})
	}
	return nil
}

// renew replaces a linear stream that has not ended by a new one from now on with the same parties and rate: the
// contract publishes the new stream's `created`, then `renewed` (old → new).
func (w *world) renew(id uint64, s fluxora.Stream) error {
	if s.Status != fluxora.StatusActive || s.Kind != fluxora.KindLinear || s.RenewedTo != nil || w.now >= s.EndTime {
		return nil
	}
	duration := s.EndTime - s.StartTime
	deposit, _ := domain.NewAmount(int64(duration)).Mul(s.RatePerSecond)
	next := w.nextID
	w.nextID++
	w.call(w.accountIndex(s.Sender), "renew_stream")
	w.transfer(s.Sender, w.address, deposit)
	if err := w.emit(&fluxora.StreamCreated{ChainMeta: w.meta, StreamID: next, Sender: s.Sender, Recipient: s.Recipient,
		DepositAmount: deposit, RatePerSecond: s.RatePerSecond, StartTime: w.now, CliffTime: w.now, EndTime: w.now + duration}); err != nil {
		return err
	}
	return w.emit(&fluxora.StreamRenewed{ChainMeta: w.meta, OldStreamID: id, NewStreamID: next})
}

// autoClaim pays what a stream with an auto-claim destination has accrued to that destination: `ac_trig`, then
// the `wdraw_to` that moves the money.
func (w *world) autoClaim(id uint64, s fluxora.Stream) error {
	if s.AutoClaimDestination == "" || s.Status == fluxora.StatusCompleted || s.Status == fluxora.StatusClosed ||
		(s.Status == fluxora.StatusPaused && w.now < s.EndTime) {
		return nil
	}
	amount := s.Withdrawable(w.now)
	if amount.Sign() <= 0 {
		return nil
	}
	w.call(w.accountIndex(s.Recipient), "trigger_auto_claim")
	if err := w.emit(&fluxora.StreamAutoClaimTriggered{ChainMeta: w.meta, StreamID: id, Destination: s.AutoClaimDestination,
		Amount: amount}); err != nil {
		return err
	}
	w.transfer(w.address, s.AutoClaimDestination, amount)
	if err := w.emit(&fluxora.StreamWithdrawn{ChainMeta: w.meta, StreamID: id, Recipient: s.Recipient, Destination: s.AutoClaimDestination,
		Amount: amount}); err != nil {
		return err
	}
	if after := w.streams[id]; after.WithdrawnAmount == after.DepositAmount && after.Status != fluxora.StatusCancelled {
		return w.emit(&fluxora.StreamCompleted{ChainMeta: w.meta, StreamID: id})
	}
	return nil
}

// offer creates a stream offer, which the recipient accepts (`offr_acc`, then the stream's `created`) or the
// sender withdraws (`offr_cxl`, refunding the escrowed deposit).
func (w *world) offer() error {
	r := w.admin
	si := r.IntN(len(w.accounts))
	ri := (si + 1 + r.IntN(len(w.accounts)-1)) % len(w.accounts)
	sender, recipient := w.accounts[si].address, w.accounts[ri].address
	rate := domain.NewAmount(int64(r.IntN(100) + 1))
	duration := uint64(r.IntN(5000) + 600)
	deposit, _ := domain.NewAmount(int64(duration)).Mul(rate)
	w.offers++
	id := w.offers
	w.call(si, "create_offer")
	w.transfer(sender, w.address, deposit)
	if err := w.emit(&fluxora.StreamOfferCreated{ChainMeta: w.meta, OfferID: id, Sender: sender, Recipient: recipient, DepositAmount: deposit,
		RatePerSecond: rate, StartTime: w.now, CliffTime: w.now, EndTime: w.now + duration, CreatedAt: w.now}); err != nil {
		return err
	}
	if r.IntN(2) == 0 {
		w.call(si, "cancel_offer")
		w.transfer(w.address, sender, deposit)
		return w.emit(&fluxora.StreamOfferCancelled{ChainMeta: w.meta, OfferID: id, By: sender, RefundAmount: deposit})
	}
	next := w.nextID
	w.nextID++
	w.call(ri, "accept_offer")
	if err := w.emit(&fluxora.StreamOfferAccepted{ChainMeta: w.meta, OfferID: id, EffectiveStartTime: w.now, Recipient: recipient}); err != nil {
		return err
	}
	return w.emit(&fluxora.StreamCreated{ChainMeta: w.meta, StreamID: next, Sender: sender, Recipient: recipient, DepositAmount: deposit,
		RatePerSecond: rate, StartTime: w.now, CliffTime: w.now, EndTime: w.now + duration})
}
