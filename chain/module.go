package chain

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"

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

// WasmBinding binds every contract instance created from an executable (its WASM hash) to a module: such an
// instance is discovered when the ledger that creates it is decoded (DESIGN §12).
type WasmBinding struct {
	Hash   xdr.Hash
	Module Module
}

// Contracts are the contracts the engine follows, each bound to its module: those configured by id, and those
// discovered as instances of a configured executable. Only their events are decoded: an event of any other
// contract is never read as a module's event. It is safe for concurrent use.
type Contracts struct {
	byID     map[xdr.ContractId]binding
	bindings []Binding
	wasm     map[xdr.Hash]Module
	events   *domain.Registry

	mu     sync.RWMutex
	found  map[xdr.ContractId]binding // discovered instances
	filter idFilter                   // every followed id, configured and discovered (mentions)
}

type binding struct {
	address domain.Address
	module  Module
}

// ErrNoContracts is returned for an empty contract list: with nothing configured, nothing would be indexed.
var ErrNoContracts = errors.New("no contracts configured")

// NewContracts checks the bindings: each contract a contract address (C…), bound once, to a module.
func NewContracts(bindings ...Binding) (*Contracts, error) {
	return NewContractsWithWasm(bindings, nil)
}

// NewContractsWithWasm is NewContracts with executables too, whose instances are discovered as they are created.
func NewContractsWithWasm(bindings []Binding, wasm []WasmBinding) (*Contracts, error) {
	if len(bindings) == 0 && len(wasm) == 0 {
		return nil, ErrNoContracts
	}
	c := &Contracts{byID: make(map[xdr.ContractId]binding, len(bindings)), wasm: map[xdr.Hash]Module{},
		found: map[xdr.ContractId]binding{}, filter: newIDFilter()}
	for _, w := range wasm {
		if w.Module == nil {
			return nil, fmt.Errorf("executable %x has no module", w.Hash[:])
		}
		if prev, dup := c.wasm[w.Hash]; dup {
			return nil, fmt.Errorf("executable %x is bound twice (to %s and %s)", w.Hash[:], prev.Name(), w.Module.Name())
		}
		c.wasm[w.Hash] = w.Module
	}
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
		c.filter.add(id)
		c.bindings = append(c.bindings, b)
	}
	sort.Slice(c.bindings, func(i, j int) bool { return c.bindings[i].Contract < c.bindings[j].Contract })
	var types []domain.Event
	seen := map[string]bool{}
	modules := make([]Module, 0, len(c.bindings)+len(wasm))
	for _, b := range c.bindings {
		modules = append(modules, b.Module)
	}
	for _, w := range wasm {
		modules = append(modules, w.Module)
	}
	for _, m := range modules {
		if !seen[m.Name()] {
			seen[m.Name()] = true
			types = append(types, m.Events()...)
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
	if b, ok := c.byID[id]; ok {
		return b, true
	}
	if len(c.wasm) == 0 {
		return binding{}, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	b, ok := c.found[id]
	return b, ok
}

// HasWasm tells whether contracts are discovered by executable: every ledger that may create one must then be
// read in order.
func (c *Contracts) HasWasm() bool { return len(c.wasm) > 0 }

// discover binds the contract instance id created from the executable hash, when an executable of a module: it
// returns the binding (new or already known) and whether the executable is bound.
func (c *Contracts) discover(id xdr.ContractId, hash xdr.Hash) (binding, bool) {
	m, ok := c.wasm[hash]
	if !ok {
		return binding{}, false
	}
	if b, known := c.byID[id]; known {
		return b, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, known := c.found[id]; known {
		return b, true
	}
	b := binding{address: domain.Address(strkey.MustEncode(strkey.VersionByteContract, id[:])), module: m}
	c.found[id] = b
	c.filter.add(id)
	return b, true
}

// Rebind binds again a contract an earlier run discovered (a ContractDiscovered of the log), from its executable.
func (c *Contracts) Rebind(d *domain.ContractDiscovered) error {
	raw, err := strkey.Decode(strkey.VersionByteContract, string(d.ContractID))
	if err != nil || len(raw) != 32 {
		return fmt.Errorf("discovered contract %q is not a contract address", d.ContractID)
	}
	hash, err := hex.DecodeString(d.WasmHash)
	if err != nil || len(hash) != 32 {
		return fmt.Errorf("discovered contract %s: executable %q is not a hash", d.ContractID, d.WasmHash)
	}
	if _, ok := c.discover(xdr.ContractId(raw), xdr.Hash(hash)); !ok {
		return fmt.Errorf("discovered contract %s: executable %s is no longer configured", d.ContractID, d.WasmHash)
	}
	return nil
}

// Discovered are the contracts discovered so far, by address.
func (c *Contracts) Discovered() []Binding {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Binding, 0, len(c.found))
	for _, b := range c.found {
		out = append(out, Binding{Contract: b.address, Module: b.module})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Contract < out[j].Contract })
	return out
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
	b, ok := c.lookup(xdr.ContractId(raw))
	if !ok {
		return e
	}
	return b.module.Interpret(e)
}
