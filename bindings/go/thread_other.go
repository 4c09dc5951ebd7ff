//go:build !linux

package weft

// threadID is unknown here (0): the check for waiting on the loop goroutine is skipped.
func threadID() int { return 0 }
