package outbox

import (
	"context"
	"sort"
	"sync"

	"github.com/streamledger/streamledger/projections"
)

// Memory keeps the outbox in memory.
type Memory struct {
	projections.MemoryCheckpoint
	margin uint32

	mu       sync.RWMutex
	state    State
	messages []Message
	keys     map[string]bool
}

// NewMemory returns an empty outbox for a chain whose events are final margin ledgers behind the tip.
func NewMemory(margin uint32) *Memory {
	return &Memory{margin: margin, state: State{Endpoints: map[string]Endpoint{}}, keys: map[string]bool{}}
}

// Name is "outbox".
func (m *Memory) Name() string { return Name }

// Apply runs the batch through the outbox state; messages already in the outbox (same endpoint and event) are
// not added twice.
func (m *Memory) Apply(_ context.Context, batch []projections.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ev := range batch {
		released, _, _ := m.state.step(ev, m.margin)
		for _, msg := range released {
			if !m.keys[msg.Key()] {
				m.keys[msg.Key()] = true
				m.messages = append(m.messages, msg)
			}
		}
	}
	m.Advance(batch)
	return nil
}

// MessagesAfter returns up to limit messages after cursor, in cursor order (the order they were released in).
func (m *Memory) MessagesAfter(_ context.Context, after Cursor, limit int) ([]Message, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	i := sort.Search(len(m.messages), func(i int) bool { return after.Before(CursorOf(m.messages[i])) })
	end := min(len(m.messages), i+limit)
	return append([]Message(nil), m.messages[i:end]...), nil
}

// Forget drops the messages up to and including cursor upTo, which their reader (the webhook dispatcher) has turned
// into deliveries: memory then follows what is left to dispatch, not the history (the log keeps every event, and a
// rebuild releases the messages again).
func (m *Memory) Forget(upTo Cursor) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := sort.Search(len(m.messages), func(i int) bool { return upTo.Before(CursorOf(m.messages[i])) })
	for _, msg := range m.messages[:n] {
		delete(m.keys, msg.Key())
	}
	m.messages = append([]Message(nil), m.messages[n:]...)
}

// Pending is the number of events waiting to become final (reverted ones aside).
func (m *Memory) Pending() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := 0
	for _, p := range m.state.Pending {
		if !p.Reverted {
			n++
		}
	}
	return n
}
