package weft

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// getsockname's raw bytes and length, as the kernel gives them to the core.
func rawSockname(t *testing.T, fd int) []byte {
	t.Helper()
	buf := make([]byte, 128)
	n := uint32(len(buf))
	if _, _, e := syscall.Syscall(syscall.SYS_GETSOCKNAME, uintptr(fd),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatal(e)
	}
	return buf[:n]
}

func boundSocket(t *testing.T, family int, sa syscall.Sockaddr) int {
	t.Helper()
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, sa); err != nil {
		t.Fatal(err)
	}
	return fd
}

// Addresses are taken apart by the core (weft_sockaddr_decode): an abstract Unix name
// keeps its whole name, spelled "@name" as package net does.
func TestAddrOfAbstractUnix(t *testing.T) {
	name := fmt.Sprintf("@weft-go-addr-%d", os.Getpid())
	fd := boundSocket(t, syscall.AF_UNIX, &syscall.SockaddrUnix{Name: name})
	sa := rawSockname(t, fd)
	a, ok := addrOf("unix", sa).(*net.UnixAddr)
	if !ok || a.Name != name || a.Net != "unix" {
		t.Fatalf("abstract name: %#v", addrOf("unix", sa))
	}
	// The length the kernel gave bounds the name; with the whole buffer instead (length
	// unknown) it ends at its last non-NUL byte.
	full := make([]byte, 128)
	copy(full, sa)
	if a, _ := addrOf("unix", full).(*net.UnixAddr); a == nil || a.Name != name {
		t.Fatalf("abstract name in a full buffer: %#v", a)
	}
	path := t.TempDir() + "/s"
	fd = boundSocket(t, syscall.AF_UNIX, &syscall.SockaddrUnix{Name: path})
	if a, _ := addrOf("unix", rawSockname(t, fd)).(*net.UnixAddr); a == nil || a.Name != path {
		t.Fatalf("path: %#v", a)
	}
}

func TestAddrOfIP(t *testing.T) {
	fd := boundSocket(t, syscall.AF_INET, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	sa := rawSockname(t, fd)
	a, ok := addrOf("tcp", sa).(*net.TCPAddr)
	if !ok || !a.IP.Equal(net.IPv4(127, 0, 0, 1)) || len(a.IP) != 4 || a.Port == 0 {
		t.Fatalf("IPv4: %#v", addrOf("tcp", sa))
	}
	if u, ok := addrOf("udp", sa).(*net.UDPAddr); !ok || u.Port != a.Port {
		t.Fatalf("as UDP: %#v", addrOf("udp", sa))
	}
	fd6, err := syscall.Socket(syscall.AF_INET6, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skip("no IPv6")
	}
	syscall.Close(fd6)
	fd = boundSocket(t, syscall.AF_INET6, &syscall.SockaddrInet6{Addr: [16]byte{15: 1}})
	if a, _ := addrOf("tcp6", rawSockname(t, fd)).(*net.TCPAddr); a == nil || !a.IP.Equal(net.IPv6loopback) || a.Port == 0 {
		t.Fatalf("IPv6: %#v", a)
	}
	if addrOf("tcp", []byte{1}) != nil || addrOf("tcp", nil) != nil {
		t.Fatal("short input decoded")
	}
}
