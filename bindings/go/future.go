package weft

import (
	"context"
	"errors"
	"runtime"
	"runtime/cgo"
	"time"

	"weft.dev/weft/internal/raw"
)

type futPtr = raw.SwigcptrStruct_SS_weft_future_s

// takeFn reads a done future's outcome, on the loop goroutine.
type takeFn func(f futPtr) (any, error)

// futureState is a Future's half on the loop goroutine: it holds one reference to the
// core's future until the Future is garbage or the loop closes.
type futureState struct {
	l      *Loop
	ptr    futPtr     // loop goroutine only; 0 once released
	handle cgo.Handle // the done callback's user data; 0 once it ran or was removed
	take   takeFn

	done chan struct{} // closed once val and err are set
	val  any
	err  error

	// Loop goroutine only: the outcome reached the Go side (the done callback ran, or the
	// loop closed), and the deadlines of Awaits still waiting for that.
	delivered bool
	deadlines []*awaitDeadline
}

// Future is a core future seen from Go: Await it from any goroutine.
type Future struct {
	l  *Loop
	st *futureState
}

// attach hands st one reference to ptr (on the loop goroutine) and follows its outcome.
func (l *Loop) attach(st *futureState, ptr futPtr) {
	st.ptr = ptr
	l.futures[st] = struct{}{}
	st.handle = cgo.NewHandle(st.onDone)
	if rc := raw.Weft_future_add_done_callback(ptr, raw.WeftgoFutureDone, uintptr(st.handle)); rc != 0 {
		st.handle.Delete()
		st.handle = 0
		st.err = codeError(rc)
		close(st.done)
	}
}

func (st *futureState) onDone(f futPtr) {
	st.handle.Delete()
	st.handle = 0
	st.delivered = true
	st.disarmDeadlines()
	st.val, st.err = st.take(f)
	close(st.done)
}

// release gives the core reference back once the Future is unreachable.
func (st *futureState) release() {
	if st.ptr == 0 {
		return
	}
	st.disarmDeadlines()
	if st.handle != 0 {
		raw.Weft_future_remove_done_callback(st.ptr, raw.WeftgoFutureDone, uintptr(st.handle))
		st.handle.Delete()
		st.handle = 0
	}
	raw.Weft_future_release(st.ptr)
	st.ptr = 0
	delete(st.l.futures, st)
}

// abandon ends the state when its loop closes: a goroutine still waiting gets err.
func (st *futureState) abandon(err error) {
	st.delivered = true
	st.disarmDeadlines()
	if st.handle != 0 {
		st.handle.Delete()
		st.handle = 0
		st.err = err
		close(st.done)
	}
	if st.ptr != 0 {
		raw.Weft_future_release(st.ptr)
		st.ptr = 0
	}
}

// start runs op on the loop goroutine, where it returns a new future reference or an error
// code, and returns the Future at once: creating and completing it cost the caller one
// handoff to the loop and one wake-up, not two round trips.
func (l *Loop) start(op func() (futPtr, int), take takeFn) (*Future, error) {
	st := &futureState{l: l, take: take, done: make(chan struct{})}
	err := l.post(func() {
		p, rc := op()
		if rc != 0 {
			st.err = codeError(rc)
			close(st.done)
			return
		}
		l.attach(st, p)
	})
	if err != nil {
		return nil, err
	}
	f := &Future{l: l, st: st}
	runtime.AddCleanup(f, func(st *futureState) { _ = st.l.post(st.release) }, st)
	return f, nil
}

// adopt gives the Go side a Future for ptr, taking over the reference the caller holds.
// Loop goroutine.
func (l *Loop) adopt(ptr futPtr, take takeFn) *Future {
	st := &futureState{l: l, take: take, done: make(chan struct{})}
	l.attach(st, ptr)
	f := &Future{l: l, st: st}
	runtime.AddCleanup(f, func(st *futureState) { _ = st.l.post(st.release) }, st)
	return f
}

// Await waits for the future's outcome. When ctx is cancelled first the core future is
// cancelled (asyncio's semantics: it may still finish otherwise, and then that outcome is
// returned); a future that ends cancelled so gives an error that is both ctx.Err() and
// ErrCancelled. ctx's deadline is armed as a timer on the loop's clock when Await starts,
// and expires as asyncio.wait_for's timeout does: the error is ErrTimeout and
// context.DeadlineExceeded (and ErrCancelled when the expiry cancelled the future).
func (f *Future) Await(ctx context.Context) (any, error) {
	if f == nil || f.st == nil {
		return nil, ErrInval
	}
	st := f.st
	defer runtime.KeepAlive(f)
	select {
	case <-st.done:
		return st.val, st.err
	default:
	}
	if f.l.onLoop() {
		return nil, ErrOnLoop
	}
	var d *awaitDeadline
	if when, ok := ctx.Deadline(); ok && !errors.Is(ctx.Err(), context.Canceled) {
		d = newAwaitDeadline()
		if f.l.post(func() { d.arm(st, time.Until(when).Seconds()) }) != nil {
			d = nil // the loop is closing: st.done closes with ErrClosed
		}
	}
	return f.wait(ctx, d)
}

// wait is Await once the deadline (nil: none) is on its way to the loop.
func (f *Future) wait(ctx context.Context, d *awaitDeadline) (any, error) {
	st := f.st
	select {
	case <-st.done:
		return d.outcome(st)
	case <-ctx.Done():
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && d.decides() {
		// Go's clock saw the deadline pass; the loop's timer says what that means.
		<-st.done
		return d.outcome(st)
	}
	msg := "context: " + ctx.Err().Error()
	if e, ok := context.Cause(ctx).(*Error); ok && e.Code == ErrCancelled.Code {
		msg = e.Message // a task's cancellation passes its message on, as asyncio's does
	}
	_ = f.l.post(func() {
		if st.ptr != 0 && raw.Weft_future_done(st.ptr) == 0 {
			raw.Weft_future_cancel(st.ptr, msg)
		}
	})
	<-st.done
	if d.expired() {
		return d.outcome(st)
	}
	if e, ok := st.err.(*Error); ok && e.Code == ErrCancelled.Code {
		return nil, &cancelError{ctxErr: ctx.Err(), core: e}
	}
	return st.val, st.err
}

// Done is closed once the outcome is known.
func (f *Future) Done() <-chan struct{} {
	if f == nil || f.st == nil {
		return closedChan // nothing to wait for: Await answers ErrInval
	}
	return f.st.done
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Cancel asks the core to cancel the future: true if it was pending.
func (f *Future) Cancel() (bool, error) { return f.CancelWithMessage("") }

// CancelWithMessage is asyncio's Future.cancel(msg): the ErrCancelled that Await then
// returns carries msg as its Message (errors.As to a *Error).
func (f *Future) CancelWithMessage(msg string) (bool, error) {
	if f == nil || f.st == nil {
		return false, ErrInval
	}
	var cancelled bool
	err := f.l.call(func() error {
		if f.st.ptr == 0 {
			return ErrClosed
		}
		cancelled = raw.Weft_future_cancel(f.st.ptr, msg) == 1
		return nil
	})
	return cancelled, err
}

// futureError is a done future's error, with the core's message.
func futureError(f futPtr, code int) error {
	return &Error{Code: code, Message: raw.Weft_future_error_message(f)}
}

// resultOf is the takeFn of futures whose result is a weft_value_t.
func resultOf(f futPtr) (any, error) {
	var v raw.SwigcptrWeft_value_t
	if rc := raw.Weft_future_result(f, &v); rc != 0 {
		return nil, futureError(f, rc)
	}
	return valueOf(v, false)
}
