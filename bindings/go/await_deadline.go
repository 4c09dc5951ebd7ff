package weft

import (
	"context"
	"runtime/cgo"
	"sync/atomic"

	"weft.dev/weft/internal/raw"
)

// awaitDeadline is an Await's ctx deadline as a timer on the loop's clock, so that it
// expires as asyncio.wait_for's timeout does: against the future's completion as the loop
// orders them, not against whenever Go's own timer wakes the waiting goroutine.
//
// asyncio's waiter is a task woken by the future's done callback; the timeout cancels that
// task. So the deadline wins whenever its timer runs before the outcome is delivered, even
// if the future completed earlier in the same iteration (the task's wake-up comes one
// iteration later, and then carries the cancellation): the waiter gets TimeoutError and
// the future keeps its result. Here the delivery is the Future's done callback.
type awaitDeadline struct {
	armed chan struct{} // closed once arm ran on the loop goroutine

	// Loop goroutine only.
	st     *futureState
	timer  raw.SwigcptrStruct_SS_weft_handle_s
	handle cgo.Handle // the timer's user data; 0 once it fired or was disarmed

	state atomic.Int32 // one of the deadline* states, written on the loop goroutine
}

const (
	deadlinePending   = iota // not expired (yet)
	deadlineNoTimer          // the timer could not be armed: Go's clock ends the wait
	deadlineAfterDone        // expired after the future was done, before its delivery
	deadlineCancelled        // expired while the future was pending, and cancelled it
)

func newAwaitDeadline() *awaitDeadline { return &awaitDeadline{armed: make(chan struct{})} }

// arm starts the timer, delay seconds from now on the loop's clock. A deadline already
// passed is asyncio.wait_for's timeout <= 0: a done future's outcome stands, a pending one
// is cancelled now.
func (d *awaitDeadline) arm(st *futureState, delay float64) {
	defer close(d.armed)
	if st.delivered || st.ptr == 0 {
		return
	}
	if delay <= 0 {
		if raw.Weft_future_done(st.ptr) == 0 {
			d.state.Store(deadlineCancelled)
			raw.Weft_future_cancel(st.ptr, "")
		}
		return
	}
	d.handle = cgo.NewHandle(d.fire)
	var timer raw.SwigcptrStruct_SS_weft_handle_s // not &d.timer: d holds Go pointers
	if rc := raw.Weft_call_later(st.l.ptr, delay, raw.WeftgoCallback, uintptr(d.handle), &timer); rc != 0 {
		d.handle.Delete()
		d.handle = 0
		d.state.Store(deadlineNoTimer)
		return
	}
	d.st, d.timer = st, timer
	st.deadlines = append(st.deadlines, d)
}

func (d *awaitDeadline) fire() {
	st := d.st
	d.drop(false)
	for i, o := range st.deadlines {
		if o == d {
			st.deadlines = append(st.deadlines[:i], st.deadlines[i+1:]...)
			break
		}
	}
	if st.delivered || st.ptr == 0 {
		return
	}
	if raw.Weft_future_done(st.ptr) == 1 {
		d.state.Store(deadlineAfterDone)
		return
	}
	d.state.Store(deadlineCancelled)
	raw.Weft_future_cancel(st.ptr, "")
}

// drop lets go of the timer: cancelled unless it is the one firing.
func (d *awaitDeadline) drop(cancel bool) {
	if d.handle == 0 {
		return
	}
	if cancel {
		raw.Weft_handle_cancel(d.timer)
	}
	raw.Weft_handle_release(d.timer)
	d.timer = 0
	d.handle.Delete()
	d.handle = 0
}

// disarmDeadlines drops the timers of the Awaits waiting for st, once its outcome is
// delivered (or can no longer be).
func (st *futureState) disarmDeadlines() {
	for _, d := range st.deadlines {
		d.drop(true)
	}
	st.deadlines = nil
}

// decides reports whether the loop's timer stands for the deadline (false: none was armed,
// and ctx's own expiry is a plain cancellation).
func (d *awaitDeadline) decides() bool {
	if d == nil {
		return false
	}
	<-d.armed
	return d.state.Load() != deadlineNoTimer
}

// outcome is the Await's answer once st is done.
func (d *awaitDeadline) outcome(st *futureState) (any, error) {
	if d != nil {
		switch d.state.Load() {
		case deadlineAfterDone:
			return nil, &timeoutError{}
		case deadlineCancelled:
			if e, ok := st.err.(*Error); ok && e.Code == ErrCancelled.Code {
				return nil, &cancelError{ctxErr: context.DeadlineExceeded, core: e}
			}
		}
	}
	return st.val, st.err
}

// expired reports whether the deadline passed on the loop.
func (d *awaitDeadline) expired() bool {
	if d == nil {
		return false
	}
	s := d.state.Load()
	return s == deadlineAfterDone || s == deadlineCancelled
}
