//go:build linux

package weft

import (
	"errors"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"weft.dev/weft/internal/raw"
)

// yieldEvery is half of the Go runtime's forcePreemptNS (runtime/proc.go).
const yieldEvery = 5 * time.Millisecond

// stepped, set by tests only, hears after each iteration whether it may have woken a
// goroutine.
var stepped atomic.Pointer[func(l *Loop, woke bool)]

// drive runs the loop one iteration at a time and chooses, after each, where to wait for
// the next. A goroutine blocked in a cgo call keeps its P until sysmon takes it back (20 µs
// to 10 ms later), so a loop sleeping in epoll_wait inside C left the goroutines it had
// just woken waiting that long when it held the only P (GOMAXPROCS=1). So with one P,
// after an iteration that may have woken goroutines, it waits in Go's netpoller, on
// libuv's epoll descriptor, which hands the P over at once. Otherwise it waits inside C as
// before: after an iteration that called nothing but protocol methods (which wake nobody),
// and whenever other Ps can run what it woke, since waking a goroutine locked to its
// thread from the netpoller costs two thread switches (docs/benchmarks.md has both).
// Which iterations may have woken a goroutine each loop counts for itself, in C
// (weftgo_loop_run_step, swig/go.i).
//
// The loop goroutine yields (runtime.Gosched) once every yieldEvery while it keeps
// stepping without parking. Sysmon takes the P of a goroutine that has run for 10 ms
// without being scheduled anew (forcePreemptNS) at its every look while that goroutine
// is in a cgo call, which is most of an iteration; each time it wakes a thread to run the
// P, which finds nothing to do. A yield makes the goroutine scheduled anew, at the price
// of two thread switches (it is locked to its thread), once per yieldEvery.
//
// It returns true once the loop is stopping, false where the descriptor cannot be polled
// this way (or waiting on it failed): the caller then runs the loop inside C.
func (l *Loop) drive(p loopPtr) bool {
	fd := raw.Weft_loop_backend_fd(p)
	if fd < 0 {
		return false
	}
	// A duplicate, so that closing the *os.File (or its finalizer) never closes libuv's
	// descriptor; both name the same epoll instance. Non-blocking, or os.NewFile would not
	// register it with the netpoller (epoll_wait itself ignores the flag).
	nfd, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return false
	}
	if err := syscall.SetNonblock(int(nfd), true); err != nil {
		_ = syscall.Close(int(nfd))
		return false
	}
	f := os.NewFile(nfd, "weft-loop")
	defer f.Close()
	// Not registered with the netpoller (it has no deadlines then): wait in C instead.
	if f.SetReadDeadline(time.Time{}) != nil {
		return false
	}
	conn, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var failed error
	deadline := false
	yielded := time.Now()
	// Called by conn.Read after it has reset the descriptor's readiness, so an event that
	// arrives once this iteration's own epoll_wait has looked is reported to the netpoller
	// and ends the wait below at once: no wake-up can be lost between the two.
	step := func(uintptr) bool {
		var timeout int32
		// Called when the descriptor is readable (or at the start): no need to wait in C.
		wait := 0
		woke := false
		var stepWoke int32
		for {
			if rc := raw.Weftgo_loop_run_step(uint64(p), wait, &timeout, &stepWoke); rc != 0 {
				failed = codeError(rc)
				return true
			}
			if hook := stepped.Load(); hook != nil {
				(*hook)(l, stepWoke != 0)
			}
			if l.stopping.Load() {
				return true
			}
			woke = woke || stepWoke != 0
			if now := time.Now(); now.Sub(yielded) >= yieldEvery {
				yielded = now
				runtime.Gosched()
			}
			if timeout == 0 {
				wait = 0
			} else if woke && runtime.GOMAXPROCS(0) == 1 {
				break
			} else {
				wait = 1
			}
		}
		if timeout > 0 {
			deadline = f.SetReadDeadline(time.Now().Add(time.Duration(timeout)*time.Millisecond)) == nil
		} else if deadline {
			_ = f.SetReadDeadline(time.Time{})
			deadline = false
		}
		return false
	}
	for !l.stopping.Load() && failed == nil {
		err := conn.Read(step)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			failed = err
		}
		if deadline {
			// Expired (or about to): the next conn.Read would fail at once without stepping.
			_ = f.SetReadDeadline(time.Time{})
			deadline = false
		}
	}
	return failed == nil
}
