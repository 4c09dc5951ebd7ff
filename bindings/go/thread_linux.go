//go:build linux

package weft

import "syscall"

// threadID identifies the calling OS thread: on the loop's locked thread it can only be
// the loop goroutine.
func threadID() int { return syscall.Gettid() }
