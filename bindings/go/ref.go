package weft

import "runtime"

// coreRef is one reference to a core object that a Go object holds: given back on the
// loop goroutine once the Go object is garbage, or when the loop closes.
type coreRef struct {
	l       *Loop
	release func()
}

// own registers release (on the loop goroutine) and ties it to obj's lifetime.
func own[T any](l *Loop, obj *T, release func()) {
	r := &coreRef{l: l, release: release}
	l.refs[r] = struct{}{}
	runtime.AddCleanup(obj, func(r *coreRef) { _ = r.l.post(r.drop) }, r)
}

func (r *coreRef) drop() {
	if r.release != nil {
		r.release()
		r.release = nil
		delete(r.l.refs, r)
	}
}
