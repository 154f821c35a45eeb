package advise

import "sync"

// memo computes each key's value once, however many goroutines ask: the
// solver and the prefetchers share one answer per project and per version.
type memo[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]*memoEntry[V]
}

type memoEntry[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// get returns k's value, computing it with f if nobody has started yet, else
// waiting for whoever did.
func (m *memo[K, V]) get(k K, f func() (V, error)) (V, error) {
	m.mu.Lock()
	if m.m == nil {
		m.m = make(map[K]*memoEntry[V])
	}
	if e, ok := m.m[k]; ok {
		m.mu.Unlock()
		<-e.done
		return e.v, e.err
	}
	e := &memoEntry[V]{done: make(chan struct{})}
	m.m[k] = e
	m.mu.Unlock()
	e.v, e.err = f()
	close(e.done)
	return e.v, e.err
}

// peek returns k's value if it is already computed.
func (m *memo[K, V]) peek(k K) (V, bool) {
	m.mu.Lock()
	e, ok := m.m[k]
	m.mu.Unlock()
	if !ok {
		var zero V
		return zero, false
	}
	select {
	case <-e.done:
		return e.v, e.err == nil
	default:
		var zero V
		return zero, false
	}
}
