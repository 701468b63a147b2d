package outbox

import (
	"context"
	"sort"
	"sync"

	"github.com/streamledger/streamledger/projections"
)

// Memory keeps the outbox in memory: the messages not dispatched yet (its reader forgets the rest).
type Memory struct {
	projections.MemoryCheckpoint
	margin uint32

	mu       sync.RWMutex
	state    State
	messages []Message // messages[head:] wait to be dispatched
	head     int
	keys     map[string]bool
	limit    int           // see Bound
	read     bool          // a reader has read: the dispatcher is running
	room     chan struct{} // Forget made room
	skip     Cursor        // see SkipThrough
}

// NewMemory returns an empty outbox for a chain whose events are final margin ledgers behind the tip.
func NewMemory(margin uint32) *Memory {
	return &Memory{margin: margin, state: State{Endpoints: map[string]Endpoint{}}, keys: map[string]bool{},
		room: make(chan struct{}, 1)}
}

// Bound makes Apply wait while more than limit messages wait to be dispatched, once a reader is reading: the
// events behind are in the log, and the outbox holds in memory only what the dispatcher is about to take, however
// far delivery is behind (a backfill of history releases messages faster than they are dispatched). Before the
// first read (a rebuild at start, before the dispatcher runs) Apply does not wait.
func (m *Memory) Bound(limit int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.limit = limit
}

// SkipThrough makes Apply leave out the messages at or before c: the ones its reader has already taken (a rebuild
// at start releases the whole history's messages again, and would hold them until the reader's first read).
func (m *Memory) SkipThrough(c Cursor) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.skip = c
}

// waitForRoom returns, holding the lock, once Apply may add messages.
func (m *Memory) waitForRoom(ctx context.Context) error {
	for {
		m.mu.Lock()
		if m.limit == 0 || !m.read || len(m.messages)-m.head <= m.limit {
			return nil
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-m.room:
		}
	}
}

// Name is "outbox".
func (m *Memory) Name() string { return Name }

// Apply runs the batch through the outbox state; messages already in the outbox (same endpoint and event) are
// not added twice.
func (m *Memory) Apply(ctx context.Context, batch []projections.Event) error {
	if err := m.waitForRoom(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	for _, ev := range batch {
		released, _, _ := m.state.step(ev, m.margin)
		for _, msg := range released {
			if !m.skip.Before(CursorOf(msg)) { // taken already
				continue
			}
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
	m.mu.Lock()
	defer m.mu.Unlock()
	m.read = true
	waiting := m.messages[m.head:]
	i := sort.Search(len(waiting), func(i int) bool { return after.Before(CursorOf(waiting[i])) })
	end := min(len(waiting), i+limit)
	return append([]Message(nil), waiting[i:end]...), nil
}

// Forget drops the messages up to and including cursor upTo, which their reader (the webhook dispatcher) has turned
// into deliveries: memory then follows what is left to dispatch, not the history (the log keeps every event, and a
// rebuild releases the messages again).
func (m *Memory) Forget(upTo Cursor) {
	m.mu.Lock()
	defer m.mu.Unlock()
	waiting := m.messages[m.head:]
	n := sort.Search(len(waiting), func(i int) bool { return upTo.Before(CursorOf(waiting[i])) })
	for i := range waiting[:n] {
		delete(m.keys, waiting[i].Key())
		waiting[i] = Message{}
	}
	m.head += n
	if m.head > len(m.messages)/2 { // copy what waits once the forgotten are half: amortised O(1) a message
		m.messages, m.head = append([]Message(nil), m.messages[m.head:]...), 0
	}
	select {
	case m.room <- struct{}{}:
	default:
	}
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
