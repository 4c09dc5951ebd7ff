//go:build !linux

package weft

import "syscall"

// Writes always go through the loop here.
func dupSocket(int) int                           { return -1 }
func sendDirect(int, []byte) (int, syscall.Errno) { return 0, syscall.ENOSYS }
func closeSocket(int)                             {}
