//go:build !linux

package weft

// drive is not available here: the loop waits inside C.
func (l *Loop) drive(p loopPtr) bool { return false }
