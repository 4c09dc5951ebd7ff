package weft

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

func TestPacketConnExchange(t *testing.T) {
	l := newLoop(t)
	a, err := l.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	la, ok := a.LocalAddr().(*net.UDPAddr)
	if !ok || la.Port == 0 {
		t.Fatalf("local address %v", a.LocalAddr())
	}
	// Go's socket to weft's endpoint, and back.
	for i := 0; i < 5; i++ {
		if _, err := b.WriteTo([]byte{'p', byte('0' + i)}, la); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	for i := 0; i < 5; i++ {
		n, from, err := a.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != string([]byte{'p', byte('0' + i)}) || from.String() != b.LocalAddr().String() {
			t.Fatalf("datagram %q from %v", buf[:n], from)
		}
		if _, err := a.WriteTo(buf[:n], from); err != nil {
			t.Fatal(err)
		}
		m, _, err := b.ReadFrom(buf)
		if err != nil || m != n {
			t.Fatalf("reply: %d %v", m, err)
		}
	}
	// A short buffer truncates the datagram, as Go's does.
	b.WriteTo([]byte("0123456789"), la)
	if n, _, err := a.ReadFrom(buf[:4]); err != nil || n != 4 || string(buf[:4]) != "0123" {
		t.Fatalf("truncated: %d %v", n, err)
	}
}

func TestPacketConnDeadlineCloseAndBadInput(t *testing.T) {
	l := newLoop(t)
	a, err := l.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, _, err = a.ReadFrom(make([]byte, 8))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("deadline: %v", err)
	}
	a.SetReadDeadline(time.Time{})
	if _, err := a.WriteTo([]byte("x"), &net.TCPAddr{}); err == nil {
		t.Fatal("a TCP address was accepted")
	}
	res := make(chan error, 1)
	go func() { _, _, err := a.ReadFrom(make([]byte, 8)); res <- err }()
	a.Close()
	if err := <-res; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if _, err := a.WriteTo([]byte("x"), a.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if _, err := l.ListenPacket("udp", "no-port"); err == nil {
		t.Fatal("a bad address was accepted")
	}
	if _, err := l.ListenPacket("ip", "127.0.0.1:0"); err == nil {
		t.Fatal("a bad network was accepted")
	}
}
