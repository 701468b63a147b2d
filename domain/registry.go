package domain

import (
	"fmt"
	"reflect"
	"sort"
)

// Registry knows the event types a log holds: the core's (ledgers, compensations, operators, webhook endpoints,
// observed contract events) and those of the contract modules bound to the engine (DESIGN §12). A module brings
// its own; the core names none. It is built once and then only read, so it is safe for concurrent use.
type Registry struct {
	types map[EventType]reflect.Type
}

// coreEvents are the events every log may hold whatever modules are bound.
func coreEvents() []Event {
	return []Event{&ContractEventObserved{}, &EventReverted{}, &EventRestored{}, &ChainReorganized{}, &LedgerClosed{},
		&LedgersVerified{}, &OperatorRewound{}, &WebhookEndpointAdded{}, &WebhookEndpointRemoved{}, &ReconciliationRan{},
		&ReconciliationDrift{}, &ContractDiscovered{}}
}

// NewRegistry is the registry of the core's events and the given ones (a zero value of each type, as a pointer).
// A type name claimed by two different Go types is an error: the stored form could not tell them apart.
func NewRegistry(events ...Event) (*Registry, error) {
	r := &Registry{types: map[EventType]reflect.Type{}}
	for _, e := range append(coreEvents(), events...) {
		t := reflect.TypeOf(e)
		if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
			return nil, fmt.Errorf("event registry: %T is not a pointer to a struct", e)
		}
		name := e.Type()
		if prev, dup := r.types[name]; dup && prev != t.Elem() {
			return nil, fmt.Errorf("event registry: type %q is claimed by %s and %s", name, prev, t.Elem())
		}
		r.types[name] = t.Elem()
	}
	return r, nil
}

// MustRegistry is NewRegistry for a fixed list known to be valid (a module's own, in tests and wiring).
func MustRegistry(events ...Event) *Registry {
	r, err := NewRegistry(events...)
	if err != nil {
		panic(err)
	}
	return r
}

// New returns an empty event of type t, or nil for a type the registry does not know.
func (r *Registry) New(t EventType) Event {
	typ, ok := r.types[t]
	if !ok {
		return nil
	}
	return reflect.New(typ).Interface().(Event)
}

// newNamed is New for a name read from a stored event: the map lookup converts it without copying.
func (r *Registry) newNamed(name []byte) Event {
	typ, ok := r.types[EventType(name)]
	if !ok {
		return nil
	}
	return reflect.New(typ).Interface().(Event)
}

// Types are the registered event types, sorted.
func (r *Registry) Types() []EventType {
	out := make([]EventType, 0, len(r.types))
	for t := range r.types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Unmarshal decodes the stored form written by Marshal. An event type the registry does not know is an error
// (ErrUnknownEventType): a reader that skipped it would silently diverge.
func (r *Registry) Unmarshal(data []byte) (Event, error) { return r.unmarshal(data, false) }

// UnmarshalShared is Unmarshal for data that nothing will ever modify, such as an event store's records: the
// event's strings may share data's memory instead of a copy of it. Rebuilds decode every event of the log, and
// copying the body was a fifth of decoding it.
func (r *Registry) UnmarshalShared(data []byte) (Event, error) { return r.unmarshal(data, true) }
