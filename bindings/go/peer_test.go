package weft

import (
	"context"
	"net"
	"testing"
)

// goListener is a TCP listener of package net's on 127.0.0.1: a peer that owes nothing to
// the core. It closes when the test ends.
func goListener(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	return ln
}

// refusedAddr is a TCP address on 127.0.0.1 that nothing listens on: a listener's, closed
// at once.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// dialGoPeer connects l to a goListener and returns both ends, which close when the test
// ends (the peer's first).
func dialGoPeer(t *testing.T, l *Loop) (*Conn, net.Conn) {
	t.Helper()
	ln := goListener(t)
	accepted := make(chan net.Conn, 1)
	go func() {
		gc, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- gc
	}()
	c, err := l.DialContext(context.Background(), "tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	gc, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { gc.Close() })
	return c, gc
}
