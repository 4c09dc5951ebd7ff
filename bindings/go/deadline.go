package weft

import (
	"sync"
	"sync/atomic"
	"time"
)

// deadline is one of a connection's deadlines: a channel closed once it has passed, which
// a waiting call selects on. Setting a new deadline affects calls already waiting, as
// net.Conn requires.
type deadline struct {
	// armed: a deadline is set, so expired must look at the channel; without one (most
	// calls) it answers without taking the lock.
	armed atomic.Bool
	mu    sync.Mutex
	gen   uint64 // bumped at every set, so an old timer that fires late does nothing
	timer *time.Timer
	ch    chan struct{}
}

func isClosedChan(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if d.ch == nil || isClosedChan(d.ch) {
		d.ch = make(chan struct{})
	}
	d.armed.Store(!t.IsZero())
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		close(d.ch)
		return
	}
	gen, ch := d.gen, d.ch
	d.timer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen && !isClosedChan(ch) {
			close(ch)
		}
	})
}

// wait is the channel closed when the deadline now set passes (never, with none set).
func (d *deadline) wait() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	return d.ch
}

func (d *deadline) expired() bool { return d.armed.Load() && isClosedChan(d.wait()) }
