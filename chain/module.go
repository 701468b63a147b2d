package chain

import (
	"errors"
	"fmt"
	"sort"

	"github.com/stellar/go-stellar-sdk/strkey"
	"github.com/stellar/go-stellar-sdk/xdr"

	"github.com/streamledger/streamledger/domain"
)

// Module is what the ingester needs of a contract module (DESIGN §12): the typed events of the contracts bound to
// it. The ingester names no module; cmd binds contracts to modules.
type Module interface {
	// Name is the module's name in CONTRACTS (module:C…).
	Name() string
	// Decode types one event of a contract bound to the module. It never drops anything: an unknown topic is a
	// ContractEventObserved, a known topic that does not decode is one with DecodeError set, and decodeErr says
	// so (for the decode-error metric); topic names the event's topic either way.
	Decode(m domain.ChainMeta, topics []xdr.ScVal, data xdr.ScVal) (e domain.Event, topic string, decodeErr error)
	// StoreStream is the event-store stream a decoded event of the module is filed in (DESIGN §3): its
	// subject's (a payment stream's, an escrow's) or its contract's.
	StoreStream(e domain.Event) string
	// Implied are the events a decoded event with id id implies although the contract emits none for them.
	Implied(id string, e domain.Event) []domain.Implied
	// Events are the module's event types (a zero value of each, as a pointer): with the core's, they make the
	// registry every reader of the log decodes stored events with.
	Events() []domain.Event
	// Interpret reads a stored event with today's decoder: an event an older decoder kept as observed becomes
	// typed when this one types it; everything else is returned as it is.
	Interpret(e domain.Event) domain.Event
}

// Binding binds a contract to the module that reads its events.
type Binding struct {
	Contract domain.Address
	Module   Module
}

// Contracts are the contracts the engine follows, each bound to its module. Only their events are decoded: an
// event of any other contract is never read as a module's event. It is safe for concurrent use.
type Contracts struct {
	byID     map[xdr.ContractId]binding
	bindings []Binding
	events   *domain.Registry
}

type binding struct {
	address domain.Address
	module  Module
}

// ErrNoContracts is returned for an empty contract list: with nothing configured, nothing would be indexed.
var ErrNoContracts = errors.New("no contracts configured")

// NewContracts checks the bindings: each contract a contract address (C…), bound once, to a module.
func NewContracts(bindings ...Binding) (*Contracts, error) {
	if len(bindings) == 0 {
		return nil, ErrNoContracts
	}
	c := &Contracts{byID: make(map[xdr.ContractId]binding, len(bindings))}
	for _, b := range bindings {
		raw, err := strkey.Decode(strkey.VersionByteContract, string(b.Contract))
		if err != nil || len(raw) != len(xdr.ContractId{}) {
			return nil, fmt.Errorf("contract %q is not a contract address (C…)", b.Contract)
		}
		if b.Module == nil {
			return nil, fmt.Errorf("contract %s has no module", b.Contract)
		}
		id := xdr.ContractId(raw)
		if prev, dup := c.byID[id]; dup {
			return nil, fmt.Errorf("contract %s is bound twice (to %s and %s)", b.Contract, prev.module.Name(), b.Module.Name())
		}
		c.byID[id] = binding{address: b.Contract, module: b.Module}
		c.bindings = append(c.bindings, b)
	}
	sort.Slice(c.bindings, func(i, j int) bool { return c.bindings[i].Contract < c.bindings[j].Contract })
	var types []domain.Event
	seen := map[string]bool{}
	for _, b := range c.bindings {
		if !seen[b.Module.Name()] {
			seen[b.Module.Name()] = true
			types = append(types, b.Module.Events()...)
		}
	}
	events, err := domain.NewRegistry(types...)
	if err != nil {
		return nil, fmt.Errorf("contracts: %w", err)
	}
	c.events = events
	return c, nil
}

// Bindings are the contracts and their modules, by contract address.
func (c *Contracts) Bindings() []Binding { return append([]Binding(nil), c.bindings...) }

// Events is the registry of the core's and the bound modules' event types.
func (c *Contracts) Events() *domain.Registry { return c.events }

// lookup returns the binding of a contract, if it is followed.
func (c *Contracts) lookup(id xdr.ContractId) (binding, bool) {
	b, ok := c.byID[id]
	return b, ok
}

// Interpret reads a stored event with today's decoder of its contract's module (decoder evolution, DESIGN §12).
// An event of a contract that is no longer followed, and any event that is not a contract event, is returned as
// it is.
func (c *Contracts) Interpret(e domain.Event) domain.Event {
	observed, ok := e.(*domain.ContractEventObserved)
	if !ok {
		return e
	}
	raw, err := strkey.Decode(strkey.VersionByteContract, string(observed.ContractID))
	if err != nil || len(raw) != len(xdr.ContractId{}) {
		return e
	}
	b, ok := c.byID[xdr.ContractId(raw)]
	if !ok {
		return e
	}
	return b.module.Interpret(e)
}
