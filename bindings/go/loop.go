// Package weft is Go's binding of weft, asyncio's concurrency model in C on libuv.
//
// A Loop runs the core's event loop on a goroutine of its own, locked to its OS thread;
// every call into the loop happens there. Other goroutines hand work to it through the
// core's thread-safe posting: the functions they post between two wake-ups of the loop
// are collected on the Go side and cross into C as one post, which the core runs as one
// callback. The objects of the package (Future, Lock, Queue, ...) may be used from any
// goroutine; their waiting operations take a context.Context.
package weft

import (
	"errors"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"

	"weft.dev/weft/internal/raw"
)

type loopPtr = raw.SwigcptrStruct_SS_weft_loop_s

// Loop is a weft event loop running on its own goroutine.
type Loop struct {
	ptr loopPtr // used on the loop goroutine only
	tid int     // the loop goroutine's OS thread (0: unknown)

	mu          sync.Mutex
	queue       []func() // posted, not yet run
	spare       []func() // the previous batch's slice, reused
	woken       bool     // a wake-up is posted and has not yet been drained
	closing     bool     // Close has ended the tasks, or the loop stopped: posts are refused
	closeCalled bool     // Close was called (it may still be waiting for the tasks to end)
	// closing, readable without the lock by the loop goroutine between iterations.
	stopping atomic.Bool
	drain    cgo.Handle

	// Futures whose outcome a goroutine may still wait for, so Close can end them.
	// Loop goroutine only.
	futures map[*futureState]struct{}
	// References to core objects held by Go objects. Loop goroutine only.
	refs map[*coreRef]struct{}
	// Go tasks not yet finished. Loop goroutine only.
	tasks map[*taskState]struct{}

	done chan struct{} // closed when the loop goroutine has finished
}

// NewLoop starts a loop on a new goroutine locked to its OS thread.
func NewLoop() (*Loop, error) {
	l := &Loop{
		futures: make(map[*futureState]struct{}),
		refs:    make(map[*coreRef]struct{}),
		tasks:   make(map[*taskState]struct{}),
		done:    make(chan struct{}),
	}
	l.drain = cgo.NewHandle(l.runPosted)
	ready := make(chan error, 1)
	go l.run(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Loop) run(ready chan<- error) {
	// Never unlocked: the thread ends with the goroutine, so no other goroutine ever runs on
	// a thread the core may have left state on.
	runtime.LockOSThread()
	defer close(l.done)
	var p loopPtr
	if rc := raw.Weft_loop_new(&p); rc != 0 {
		l.drain.Delete()
		ready <- codeError(rc)
		return
	}
	l.ptr = p
	l.tid = threadID()
	ready <- nil
	if !l.drive(p) {
		for !l.stopping.Load() {
			rc := raw.Weft_loop_run_forever(p)
			l.mu.Lock()
			closing := l.closing
			l.mu.Unlock()
			if closing || rc != 0 {
				break
			}
		}
	}
	l.mu.Lock()
	l.closing = true
	rest := l.queue
	l.queue = nil
	l.mu.Unlock()
	// Functions posted before Close still run, against a loop that is no longer running:
	// what they start fails below with ErrClosed instead of hanging.
	for _, fn := range rest {
		fn()
	}
	raw.Weft_loop_close(p)
	for ts := range l.tasks {
		ts.end() // their functions see their contexts cancelled
	}
	for st := range l.futures {
		st.abandon(&Error{Code: int(raw.WEFT_ECLOSED)})
	}
	l.futures = nil
	for r := range l.refs {
		r.drop()
	}
	l.refs = nil
	raw.Weft_loop_release(p)
	l.drain.Delete()
}

// runPosted is the one callback every batch of posts arrives through.
func (l *Loop) runPosted() {
	l.mu.Lock()
	batch := l.queue
	l.queue = l.spare[:0]
	l.spare = nil
	l.woken = false
	l.mu.Unlock()
	for i, fn := range batch {
		fn()
		batch[i] = nil
	}
	l.mu.Lock()
	if l.spare == nil {
		l.spare = batch[:0]
	}
	l.mu.Unlock()
}

// ErrLoopClosed is returned for work handed to a loop after Close.
var ErrLoopClosed = errors.New("weft: the loop is closed")

// post hands fn to the loop goroutine. Posts made before the loop wakes up share one
// crossing into C and one wake-up.
func (l *Loop) post(fn func()) error {
	if l == nil {
		return ErrLoopClosed
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return ErrLoopClosed
	}
	l.queue = append(l.queue, fn)
	if !l.woken {
		// Under the lock, so Close cannot release the loop between the check and the post.
		if rc := raw.Weft_call_soon_threadsafe(l.ptr, raw.WeftgoCallback, uintptr(l.drain)); rc != 0 {
			l.queue = l.queue[:len(l.queue)-1]
			return codeError(rc)
		}
		l.woken = true
	}
	return nil
}

// ErrOnLoop is returned by a call that would wait for the loop from the loop goroutine
// itself (from a Protocol method): it would wait forever.
var ErrOnLoop = errors.New("weft: a waiting call on the loop goroutine would wait for itself")

// onLoop reports whether the caller is the loop goroutine.
func (l *Loop) onLoop() bool { return l != nil && l.tid != 0 && threadID() == l.tid }

// call runs fn on the loop goroutine and returns its error.
func (l *Loop) call(fn func() error) error {
	if l.onLoop() {
		return ErrOnLoop
	}
	ch := make(chan error, 1)
	if err := l.post(func() { ch <- fn() }); err != nil {
		return err
	}
	return <-ch
}

// Time is the loop's monotonic clock, in seconds.
func (l *Loop) Time() (float64, error) {
	var t float64
	err := l.call(func() error { t = raw.Weft_loop_time(l.ptr); return nil })
	return t, err
}

// Close ends the loop as asyncio.run does when its main coroutine returns: it cancels the
// tasks still unfinished and waits until they have finished (their functions see their
// contexts cancelled, and may still wait for the loop while they clean up), then stops
// and closes the loop (what is still pending there, tasks started meanwhile included,
// ends with ErrClosed) and waits for its goroutine to end. A task function that ignores
// its context keeps Close waiting, as such a coroutine keeps asyncio.run; so does calling
// Close from a task's own function. Closing twice is harmless.
func (l *Loop) Close() error {
	if l == nil {
		return ErrLoopClosed
	}
	if l.onLoop() {
		return ErrOnLoop // it would wait for its own goroutine to end
	}
	l.mu.Lock()
	if l.closeCalled {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closeCalled = true
	l.mu.Unlock()
	finished := make(chan struct{})
	if l.post(func() { l.cancelLeftovers(func() { close(finished) }) }) == nil {
		<-finished
	}
	l.mu.Lock()
	l.closing = true
	l.stopping.Store(true)
	// weft_loop_stop is thread-safe; the loop goroutine sees closing once run_forever ends.
	rc := raw.Weft_loop_stop(l.ptr)
	l.mu.Unlock()
	<-l.done
	return codeError(rc)
}

// cancelLeftovers cancels every unfinished task of the loop (the core's, those of other
// bindings included, as asyncio.all_tasks) and calls finished once all of them are done.
// Loop goroutine.
func (l *Loop) cancelLeftovers(finished func()) {
	tasks := make([]taskPtr, 64)
	for {
		n := int(raw.Weftgo_all_tasks(l.ptr, tasks))
		if n <= len(tasks) {
			tasks = tasks[:n]
			break
		}
		tasks = make([]taskPtr, n)
	}
	if len(tasks) == 0 {
		finished()
		return
	}
	futs := make([]futPtr, len(tasks))
	for i, t := range tasks {
		futs[i] = futPtr(raw.Weft_task_future(t).Swigcptr())
	}
	var all futPtr
	if rc := raw.Weft_gather(l.ptr, futs, 1, &all); rc != 0 {
		finished() // no memory to wait with: the tasks end with ErrClosed instead
		return
	}
	for _, t := range tasks {
		raw.Weft_task_cancel(t, "")
	}
	var h cgo.Handle
	h = cgo.NewHandle(func(futPtr) {
		h.Delete()
		raw.Weft_future_release(all)
		finished()
	})
	if rc := raw.Weft_future_add_done_callback(all, raw.WeftgoFutureDone, uintptr(h)); rc != 0 {
		h.Delete()
		raw.Weft_future_release(all)
		finished()
	}
}
