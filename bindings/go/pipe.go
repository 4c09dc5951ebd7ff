package weft

import (
	"runtime/cgo"

	"weft.dev/weft/internal/raw"
)

// newPipeReader gives one of a child's output streams the read half of a Conn: the pump
// reads the core's reader ahead (pumpAhead bytes at most) into the buffer that Read takes
// from, so a Read costs no handoff to the loop unless it must wake the pump. r is a
// reference of its own, given back with the state (when owner is garbage, or the loop
// closes). The write half stays unused: there is no writer (w is 0). Loop goroutine.
func newPipeReader[T any](l *Loop, owner *T, r readerPtr) *connState {
	s := &connState{
		l: l, network: "pipe", tr: r,
		readRes: make(chan readResult, 1),
		wwake:   make(chan struct{}, 1),
		rwake:   make(chan struct{}, 1),
		wfd:     -1,
	}
	// asyncio's reads are not offered on a pipe, but the state expects the reader they
	// would use, and release gives back every handle.
	var hr readerPtr
	if rc := raw.Weft_stream_reader_new(l.ptr, 0, &hr); rc != 0 {
		s.rerr = newNetError(rc, "")
	}
	s.r = hr
	s.readDone = cgo.NewHandle(s.finishRead)
	s.pumpDone = cgo.NewHandle(s.pumped)
	s.drainDone = cgo.NewHandle(s.finishDrain)
	s.lostDone = cgo.NewHandle(s.finishLost)
	own(l, owner, s.release)
	if s.r != 0 {
		s.pump()
	}
	return s
}
