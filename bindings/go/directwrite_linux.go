//go:build linux

package weft

import "syscall"

// dupSocket duplicates a connection's descriptor (close-on-exec) so a goroutine can write
// to the socket without a handoff to the loop: the duplicate keeps the socket valid even
// if the core closes its own descriptor meanwhile. -1 if it cannot.
func dupSocket(fd int) int {
	if typ, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE); err != nil || typ != syscall.SOCK_STREAM {
		return -1 // a pipe, or not a stream: the core writes
	}
	nfd, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return -1
	}
	return int(nfd)
}

// sendDirect writes what the socket takes now without blocking (the descriptor is
// non-blocking, as libuv leaves it). A full socket buffer is not an error: the caller
// queues the rest for the loop. MSG_NOSIGNAL: a closed peer gives EPIPE, not SIGPIPE.
func sendDirect(fd int, b []byte) (int, syscall.Errno) {
	for {
		n, err := syscall.SendmsgN(fd, b, nil, nil, syscall.MSG_NOSIGNAL|syscall.MSG_DONTWAIT)
		switch err {
		case nil:
			return n, 0
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, 0
		}
		if errno, ok := err.(syscall.Errno); ok {
			return 0, errno
		}
		return 0, syscall.EIO
	}
}

func closeSocket(fd int) { _ = syscall.Close(fd) }
