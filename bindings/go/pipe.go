package weft

import (
	"runtime/cgo"

	"weft.dev/weft/internal/raw"
)

// newPipe gives one of a child's pipes the half of a Conn it needs, on conn.go's state:
// an output pipe (r) the read-ahead, where the pump reads the core's reader ahead
// (pumpAhead bytes at most) into the buffer that Read takes from, so a Read costs no
// handoff to the loop unless it must wake the pump; the input pipe (w) the write queue,
// which the loop takes in one batch and hands to the core's writer under its write-buffer
// limits. r and w are references of the state's own (one of them 0), given back with it
// when owner is garbage or the loop closes. Loop goroutine.
func newPipe[T any](l *Loop, owner *T, r readerPtr, w writerPtr) *connState {
	s := &connState{
		l: l, network: "pipe", tr: r, w: w,
		readRes: make(chan readResult, 1),
		wwake:   make(chan struct{}, 1),
		rwake:   make(chan struct{}, 1),
		wfd:     -1, // no direct writes: the core's pipe transport writes
	}
	if r != 0 {
		// asyncio's reads are not offered on a pipe, but the pump expects the reader
		// they would use.
		var hr readerPtr
		if rc := raw.Weft_stream_reader_new(l.ptr, 0, &hr); rc != 0 {
			s.rerr = newNetError(rc, "")
		}
		s.r = hr
	}
	// release gives back every handle.
	s.readDone = cgo.NewHandle(s.finishRead)
	s.pumpDone = cgo.NewHandle(s.pumped)
	s.drainDone = cgo.NewHandle(s.finishDrain)
	s.lostDone = cgo.NewHandle(s.finishLost)
	if w != 0 {
		var lf futPtr
		if raw.Weft_stream_wait_closed(w, &lf) == 0 {
			if raw.Weft_future_done(lf) != 0 {
				s.finishLost(lf)
			} else if raw.Weft_future_add_done_callback(lf, raw.WeftgoFutureDone, uintptr(s.lostDone)) == 0 {
				s.lostFut = lf
			} else {
				raw.Weft_future_release(lf)
			}
		}
	}
	own(l, owner, s.release)
	if s.r != 0 {
		s.pump()
	}
	return s
}
