package weft

// newPipe gives one of a child's pipes the half of a Conn it needs, on conn.go's state:
// an output pipe (r) the read-ahead, where the pump reads the core's reader ahead
// (pumpAhead bytes at most) into the buffer that Read takes from, so a Read costs no
// handoff to the loop unless it must wake the pump; the input pipe (w) the write queue,
// which the loop takes in one batch and hands to the core's writer under its write-buffer
// limits. r and w are references of the state's own (one of them 0), given back with it
// when owner is garbage or the loop closes. Loop goroutine.
func newPipe[T any](l *Loop, owner *T, r readerPtr, w writerPtr) *connState {
	s := newConnState(l, "pipe", r, w)
	own(l, owner, s.release)
	if s.r != 0 {
		s.pump()
	}
	return s
}
