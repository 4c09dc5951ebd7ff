//go:build linux

package weft

import (
	"syscall"
	"testing"
	"unsafe"
)

// The kernel's struct sigaction on linux/amd64 and linux/arm64.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const saOnstack = 0x08000000

// The SIGCHLD handler the core installs to reap its children (libuv's) must run on the
// thread's signal stack, as cgo requires of C handlers: without SA_ONSTACK a SIGCHLD that
// lands on a thread running a goroutine pushes its frame below that goroutine's small
// stack, into whatever memory lies there, and the program dies later with "unexpected
// fault address" or "traceback did not unwind completely" (about one run in 600 of
// tests/behaviour/subprocess_communicate_1mb). The core sets the flag because the loop's
// thread, as every thread Go makes, has an alternate signal stack.
func TestSigchldHandlerOnSignalStack(t *testing.T) {
	l := newLoop(t)
	if err := l.Command("true").Run(); err != nil {
		t.Fatal(err)
	}
	var sa kernelSigaction
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGCHLD), 0,
		uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa.mask), 0, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	if sa.flags&saOnstack == 0 {
		t.Fatalf("SIGCHLD handler flags %#x: no SA_ONSTACK", sa.flags)
	}
}
