package weft

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// echoConns serves every connection of ln with a Read/Write loop until it ends.
func echoConns(ln net.Listener) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return &wg
}

func checkEcho(t *testing.T, c net.Conn, msg []byte) {
	t.Helper()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo: got %d bytes that differ from the %d sent", len(got), len(msg))
	}
}

// A weft server and weft clients over TCP, from many goroutines at once.
func TestConnTCPEcho(t *testing.T) {
	l := newLoop(t)
	ln, err := l.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok || addr.Port == 0 || !addr.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("listener address %v", ln.Addr())
	}
	wg := echoConns(ln)
	const clients = 8
	var cw sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		cw.Add(1)
		go func(i int) {
			defer cw.Done()
			c, err := l.Dial("tcp", addr.String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if c.RemoteAddr().String() != addr.String() {
				errs <- fmt.Errorf("remote address %v, want %v", c.RemoteAddr(), addr)
				return
			}
			for round := 0; round < 20; round++ {
				msg := bytes.Repeat([]byte{byte('a' + i)}, 1+round*997)
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(c, got); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, msg) {
					errs <- errors.New("echo differs")
					return
				}
			}
		}(i)
	}
	cw.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
}

// Go's net on the other side: weft's Conn interoperates, and large writes flow through
// the write-buffer limits.
func TestConnAgainstGoNet(t *testing.T) {
	l := newLoop(t)
	ln := goListener(t)
	wg := echoConns(ln)
	c, err := l.DialContext(context.Background(), "tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	go func() { _, _ = c.Write(big) }()
	got := make([]byte, len(big))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("3 MiB echo differs")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if _, err := c.Read(got); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	ln.Close()
	wg.Wait()
}

// Over a socket file and over an abstract name, spelt "@name" as package net does: Go's
// own client reaches both.
func TestConnUnix(t *testing.T) {
	l := newLoop(t)
	for _, path := range []string{filepath.Join(t.TempDir(), "echo.sock"), fmt.Sprintf("@weft-go-conn-%d", os.Getpid())} {
		ln, err := l.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := ln.Addr().(*net.UnixAddr); !ok || a.Name != path {
			t.Fatalf("listener address %#v", ln.Addr())
		}
		wg := echoConns(ln)
		c, err := l.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		checkEcho(t, c, []byte("over a unix socket"))
		// Go's own client against weft's Unix server.
		gc, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		checkEcho(t, gc, []byte("from Go's net"))
		gc.Close()
		c.Close()
		ln.Close()
		wg.Wait()
	}
}

// A read deadline ends a waiting Read with os.ErrDeadlineExceeded (a net.Error whose
// Timeout is true), leaves the connection usable, and moving it affects a Read waiting.
func TestConnReadDeadline(t *testing.T) {
	l := newLoop(t)
	c, p := dialGoPeer(t, l)
	readDeadlinesEndReads(t, c)
	// Cleared: the connection still reads.
	c.SetReadDeadline(time.Time{})
	if _, err := p.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ReadExactly(4); err != nil || string(got) != "late" {
		t.Fatalf("after deadline: %q %v", got, err)
	}
}

// readDeadlinesEndReads checks that a deadline already past fails a Read at once, and that
// one moved from none to soon by another goroutine ends a Read waiting, both with
// os.ErrDeadlineExceeded (a net.Error whose Timeout is true).
func readDeadlinesEndReads(t *testing.T, c *Conn) {
	t.Helper()
	buf := make([]byte, 10)
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	res := make(chan error, 1)
	go func() {
		_, err := c.Read(buf)
		res <- err
	}()
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	var ne net.Error
	if err := waitErr(t, res); !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("moved deadline: %v", err)
	}
}

// A Write waiting on a peer that does not read ends at its deadline.
func TestConnWriteDeadline(t *testing.T) {
	l := newLoop(t)
	ln := goListener(t)
	peer := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		peer <- c
	}()
	c, err := l.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p := <-peer; p != nil {
		defer p.Close()
	}
	c.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}
	c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	chunk := make([]byte, 1<<20)
	var err2 error
	for i := 0; i < 4096 && err2 == nil; i++ { // the peer's buffers fill long before
		_, err2 = c.Write(chunk)
	}
	if !errors.Is(err2, os.ErrDeadlineExceeded) {
		t.Fatalf("blocked write: %v", err2)
	}
}

// Close from another goroutine ends a waiting Read with net.ErrClosed.
func TestConnCloseUnblocksRead(t *testing.T) {
	l := newLoop(t)
	ln, err := l.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := l.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	defer s.Close()
	res := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 8))
		res <- err
	}()
	// And a listener's Accept waiting when it closes.
	ln2, err := l.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acc := make(chan error, 1)
	go func() {
		_, err := ln2.Accept()
		acc <- err
	}()
	s.Close()
	if err := <-res; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read: %v", err)
	}
	ln2.Close()
	if err := <-acc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept: %v", err)
	}
	// The client sees the end of the stream.
	if n, err := c.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("client read: %d %v", n, err)
	}
	c.Close()
}

// A peer that resets: Read fails with an error that is both the core's and the errno Go
// users test for; later Writes fail too.
func TestConnPeerReset(t *testing.T) {
	l := newLoop(t)
	ln := goListener(t)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.(*net.TCPConn).SetLinger(0) // close sends RST
		buf := make([]byte, 1)
		c.Read(buf)
		c.Close()
	}()
	c, err := l.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	_, err = c.Read(make([]byte, 8))
	if !errors.Is(err, syscall.ECONNRESET) || !errors.Is(err, ErrConnReset) {
		t.Fatalf("read after reset: %v", err)
	}
	writesFailAfterReset(t, c)
}

func TestDialErrors(t *testing.T) {
	l := newLoop(t)
	addr := refusedAddr(t)
	_, err := l.Dial("tcp", addr)
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.Is(err, ErrConnRefused) {
		t.Fatalf("refused: %v", err)
	}
	var ue net.UnknownNetworkError
	if _, err := l.Dial("sctp", addr); !errors.As(err, &ue) {
		t.Fatalf("bad network: %v", err)
	}
	if _, err := l.Dial("tcp", "no-port"); err == nil {
		t.Fatal("an address without a port was accepted")
	}
	if _, err := l.Dial("tcp", "127.0.0.1:70000"); err == nil {
		t.Fatal("port 70000 was accepted")
	}
	if _, err := l.Dial("unix", filepath.Join(t.TempDir(), "none.sock")); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("missing socket: %v", err)
	}
	if _, err := l.Listen("tcp", "127.0.0.1:bad"); err == nil {
		t.Fatal("a bad port was accepted")
	}
	// A context already done cancels the attempt.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.DialContext(ctx, "tcp", "127.0.0.1:1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled dial: %v", err)
	}
	var nilLoop *Loop
	if _, err := nilLoop.Dial("tcp", addr); !errors.Is(err, ErrLoopClosed) {
		t.Fatalf("nil loop: %v", err)
	}
	l2, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	l2.Close()
	if _, err := l2.Dial("tcp", addr); !errors.Is(err, ErrLoopClosed) {
		t.Fatalf("closed loop: %v", err)
	}
	if _, err := l2.Listen("tcp", "127.0.0.1:0"); !errors.Is(err, ErrLoopClosed) {
		t.Fatalf("closed loop: %v", err)
	}
}

// Closing the loop ends what its connections are waiting for.
func TestLoopCloseEndsConns(t *testing.T) {
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := l.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	acc := make(chan error, 1)
	ln2, err := l.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, err := ln2.Accept(); acc <- err }()
	res := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 4)); res <- err }()
	l.Close()
	if err := <-res; err == nil {
		t.Fatal("read succeeded on a closed loop")
	}
	if err := <-acc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept: %v", err)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("write succeeded on a closed loop")
	}
	c.Close()
	ln.Close()
}

// writesFailAfterReset writes to a connection its peer reset until a Write fails, as one
// must once the reset is known (a bounded number of times).
func writesFailAfterReset(t *testing.T, c net.Conn) {
	t.Helper()
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = c.Write([]byte("y"))
	}
	if err == nil {
		t.Fatal("writes after a reset kept succeeding")
	}
}
