package streamsapi

import (
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/streamledger/streamledger/contracts/fluxora"
	"github.com/streamledger/streamledger/domain"
	"github.com/streamledger/streamledger/eventstore"
	"github.com/streamledger/streamledger/http/apikit"
	"github.com/streamledger/streamledger/projections"
)

// contractView is a contract as GET /api/contracts/:id shows it.
type contractView struct {
	ContractID    string            `json:"contractId"`
	Admin         *string           `json:"admin"`
	WasmHash      *string           `json:"wasmHash"`
	Upgrades      []upgradeView     `json:"upgrades"`
	Migrations    []migrationView   `json:"migrations"`
	Pauses        map[string]pauseV `json:"pauses"`
	Events        int               `json:"events"`
	UpdatedLedger *uint32           `json:"updatedLedger"`
	LastEventID   *string           `json:"lastEventId"`
	AsOfLedger    *uint32           `json:"asOfLedger,omitempty"`
}

type upgradeView struct {
	NewWasmHash      string  `json:"newWasmHash"`
	ExecutingVersion uint32  `json:"executingVersion"`
	LegacyOldVersion *uint32 `json:"legacyOldVersion"`
	By               string  `json:"by"`
	Ledger           uint32  `json:"ledger"`
	At               string  `json:"at"`
}

type migrationView struct {
	FromVersion uint32 `json:"fromVersion"`
	ToVersion   uint32 `json:"toVersion"`
	Ledger      uint32 `json:"ledger"`
	At          string `json:"at"`
}

type pauseV struct {
	Paused bool    `json:"paused"`
	Since  *string `json:"since"`
	Ledger *uint32 `json:"ledger"`
	By     *string `json:"by"`
	Reason *string `json:"reason"`
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func newContractView(c fluxora.Contract) contractView {
	v := contractView{ContractID: string(c.ContractID), Admin: optString(string(c.Admin)), Upgrades: []upgradeView{},
		Migrations: []migrationView{}, Events: c.Events, LastEventID: optString(c.LastEventID)}
	for _, u := range c.Upgrades {
		v.Upgrades = append(v.Upgrades, upgradeView{NewWasmHash: u.NewWasmHash, ExecutingVersion: u.ExecutingVersion,
			LegacyOldVersion: u.LegacyOldVersion, By: string(u.By), Ledger: u.Ledger, At: u.At.UTC().Format(time.RFC3339)})
	}
	if n := len(c.Upgrades); n > 0 {
		v.WasmHash = &c.Upgrades[n-1].NewWasmHash
	}
	for _, m := range c.Migrations {
		v.Migrations = append(v.Migrations, migrationView{FromVersion: m.FromVersion, ToVersion: m.ToVersion, Ledger: m.Ledger,
			At: m.At.UTC().Format(time.RFC3339)})
	}
	if c.UpdatedLedger > 0 {
		v.UpdatedLedger = &c.UpdatedLedger
	}
	pause := func(p fluxora.PauseState) pauseV {
		out := pauseV{Paused: p.Paused, By: optString(string(p.By)), Reason: optString(p.Reason)}
		if p.Ledger > 0 {
			since, ledger := p.Since.UTC().Format(time.RFC3339), p.Ledger
			out.Since, out.Ledger = &since, &ledger
		}
		return out
	}
	v.Pauses = map[string]pauseV{"global": pause(c.Global), "creation": pause(c.Creation), "protocol": pause(c.Protocol)}
	return v
}

// contract serves one followed contract's contract-level state (DESIGN §12): its admin, its code's upgrades and
// its pause states, folded from the events filed in its store stream, now or as of a ledger.
func (a *API) contract(c *fiber.Ctx) error {
	if err := apikit.CheckQuery(c, "asOfLedger"); err != nil {
		return err
	}
	raw := c.Params("id")
	if unescaped, err := url.PathUnescape(raw); err == nil {
		raw = unescaped
	}
	addr, err := domain.ParseAddressOf(raw, domain.ContractAddress)
	if err != nil {
		return apikit.Invalid("id", "contract id: "+err.Error())
	}
	if !slices.Contains(contractStrings(a.cfg.Contracts), string(addr)) && !slices.Contains(contractStrings(a.cfg.Followed), string(addr)) {
		return apikit.New(fiber.StatusNotFound, apikit.CodeNotFound, "contract "+string(addr)+" is not followed here")
	}
	ledger := ^uint32(0)
	var asOf *uint32
	if arg := c.Query("asOfLedger"); arg != "" {
		seq, err := apikit.LedgerSeq("asOfLedger", arg)
		if err != nil {
			return err
		}
		ledger = seq
		asOf = &ledger
	}
	var entries []domain.Entry
	var next eventstore.Version
	for {
		page, err := a.cfg.Events.ReadStream(c.UserContext(), domain.ContractStoreStream(addr), next, 1000)
		if err != nil {
			return fmt.Errorf("read contract %s: %w", addr, err)
		}
		for _, rec := range page {
			ev, err := projections.Decode(rec, a.cfg.Codec)
			if err != nil {
				return fmt.Errorf("contract %s: %w", addr, err)
			}
			e := ev.Domain
			entries = append(entries, domain.Entry{ID: rec.ID, Event: e})
		}
		if len(page) < 1000 {
			break
		}
		next = page[len(page)-1].Version + 1
	}
	v := newContractView(fluxora.ReplayContract(addr, entries, ledger))
	v.AsOfLedger = asOf
	return c.JSON(fiber.Map{"data": v})
}

func contractStrings(cs []domain.Address) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}
