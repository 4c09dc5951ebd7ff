package weft

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// waitErr is what a Read in another goroutine returned; a Read that never returns fails
// the test after a minute instead of hanging it.
func waitErr(t *testing.T, res chan error) error {
	t.Helper()
	select {
	case err := <-res:
		return err
	case <-time.After(time.Minute):
		t.Fatal("the Read did not return")
		return nil
	}
}

// isDirect reports whether c's Reads read the socket in their own goroutine.
func isDirect(c *Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.direct
}

func patternBytes(off, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((off+i)*7 + (off+i)>>8)
	}
	return b
}

// Plain TCP and Unix connections, dialled and accepted, read in the reading goroutine and
// get every byte in order; TLS stays on the loop's read-ahead.
func TestConnReadsInItsGoroutine(t *testing.T) {
	l := newLoop(t)
	c, gc := dialGoPeer(t, l)
	if !isDirect(c) {
		t.Fatal("a dialled TCP connection does not read directly")
	}
	const total = 3 << 20
	go func() {
		sizes := []int{1, 700, 65536, 13, 4096, 100000, 2}
		for off, k := 0, 0; off < total; k++ {
			n := min(sizes[k%len(sizes)], total-off)
			if _, err := gc.Write(patternBytes(off, n)); err != nil {
				return
			}
			off += n
		}
	}()
	got := make([]byte, total)
	buf := make([]byte, 3000)
	for off := 0; off < total; {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		copy(got[off:], buf[:n])
		off += n
	}
	if !bytes.Equal(got, patternBytes(0, total)) {
		t.Fatal("the bytes read differ from those sent")
	}

	for _, network := range []string{"tcp", "unix"} {
		addr := "127.0.0.1:0"
		if network == "unix" {
			addr = filepath.Join(t.TempDir(), "direct.sock")
		}
		ln, err := l.Listen(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan net.Conn, 1)
		go func() {
			s, _ := ln.Accept()
			accepted <- s
		}()
		d, err := l.Dial(network, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s := (<-accepted).(*Conn)
		if !isDirect(d) || !isDirect(s) {
			t.Fatalf("%s: dialled %v, accepted %v: not reading directly", network, isDirect(d), isDirect(s))
		}
		go func() { _, _ = io.Copy(s, s); s.Close() }()
		checkEcho(t, d, []byte("over "+network))
		d.Close()
		ln.Close()
	}

	// TLS: the loop reads (and decrypts) ahead.
	cert, key := testCert(t)
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	tln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer tln.Close()
	go func() {
		s, err := tln.Accept()
		if err == nil {
			_, _ = io.Copy(s, s)
			s.Close()
		}
	}()
	tc, err := l.DialTLS(t.Context(), "tcp", tln.Addr().String(), &TLSConfig{RootCAs: cert, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	checkEcho(t, tc, []byte("over TLS"))
	if isDirect(tc) {
		t.Fatal("a TLS connection reads the socket directly")
	}
	tc.Close()
}

// Read, ReadLine, ReadUntil and ReadExactly interleaved, with bytes waiting in the socket,
// in the loop's reader and in Read's buffer at each switch: no byte is lost, repeated or
// out of place, and at the end every kind of read sees it.
func TestConnDirectReadInterleavedWithReaderMethods(t *testing.T) {
	l := newLoop(t)
	c, gc := dialGoPeer(t, l)
	if !isDirect(c) {
		t.Fatal("not reading directly")
	}
	next := make(chan string)
	go func() {
		for s := range next {
			if s == "" {
				gc.(*net.TCPConn).CloseWrite()
				continue
			}
			gc.Write([]byte(s))
		}
	}()
	defer close(next)
	c.SetReadDeadline(time.Now().Add(time.Minute)) // a lost byte fails the test, not hangs it
	read := func(n int, want string) {
		t.Helper()
		got := make([]byte, 0, len(want))
		buf := make([]byte, n)
		for len(got) < len(want) {
			k, err := c.Read(buf[:min(n, len(want)-len(got))])
			if err != nil {
				t.Fatalf("read: %v (after %d of the %d bytes wanted)", err, len(got), len(want))
			}
			got = append(got, buf[:k]...)
		}
		if string(got) != want {
			i := 0
			for i < len(got) && got[i] == want[i] {
				i++
			}
			t.Fatalf("read %d bytes that differ from the %d wanted at %d", len(got), len(want), i)
		}
	}
	expect := func(b []byte, err error, want string) {
		t.Helper()
		if err != nil || string(b) != want {
			t.Fatalf("got %q %v, wanted %q", b, err, want)
		}
	}
	next <- "abcdefgh\nline two\nrest;0123456789"
	read(3, "abc") // directly: the rest waits in the socket
	b, err := c.ReadLine()
	expect(b, err, "defgh\n") // the loop reads now, ahead of what is asked
	read(4, "line")           // the loop's reader's bytes come back to Read first
	b, err = c.ReadUntil([]byte(";"))
	expect(b, err, " two\nrest;")
	read(2, "01")
	b, err = c.ReadExactly(3)
	expect(b, err, "234")
	read(100, "56789")
	next <- "after\nthe switch"
	read(2, "af")
	b, err = c.ReadLine()
	expect(b, err, "ter\n")
	b, err = c.ReadExactly(3)
	expect(b, err, "the")
	read(1, " ")
	next <- " and more\n"
	read(7, "switch ")
	b, err = c.ReadLine()
	expect(b, err, "and more\n")
	// More than the reader's limit after a line: the loop's read-ahead stops with bytes
	// left in the transport's reader (and in the socket), which Read must take first.
	big := patternBytes(0, 1<<20)
	next <- "big\n" + string(big)
	b, err = c.ReadLine()
	expect(b, err, "big\n")
	read(1000, string(big))
	next <- "last"
	next <- ""
	read(2, "la")
	b, err = c.ReadExactly(3)
	var ie *IncompleteReadError
	if !errors.As(err, &ie) || string(ie.Partial) != "st" {
		t.Fatalf("at the end: %q %v", b, err)
	}
	for i := 0; i < 2; i++ {
		if n, err := c.Read(make([]byte, 4)); n != 0 || err != io.EOF {
			t.Fatalf("read at the end: %d %v", n, err)
		}
	}
	b, err = c.ReadLine()
	expect(b, err, "")
	// The peer only half-closed: this side still writes.
	if _, err := c.Write([]byte("still here")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 10)
	if _, err := io.ReadFull(gc, got); err != nil || string(got) != "still here" {
		t.Fatalf("peer read %q %v", got, err)
	}
}

// The end of the stream met directly: Read says io.EOF from then on, asyncio's reads see it
// too, and writing goes on (a half-close).
func TestConnDirectReadEOF(t *testing.T) {
	l := newLoop(t)
	c, gc := dialGoPeer(t, l)
	if !isDirect(c) {
		t.Fatal("not reading directly")
	}
	res := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(c)
		res <- b
	}()
	gc.Write([]byte("data"))
	gc.(*net.TCPConn).CloseWrite()
	if b := <-res; string(b) != "data" {
		t.Fatalf("read %q", b)
	}
	if n, err := c.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("read again: %d %v", n, err)
	}
	if b, err := c.ReadLine(); err != nil || len(b) != 0 {
		t.Fatalf("readline at the end: %q %v", b, err)
	}
	if n, err := c.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("read after readline: %d %v", n, err)
	}
	if _, err := c.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if b, err := io.ReadAll(gc); err != nil || string(b) != "bye" {
		t.Fatalf("peer: %q %v", b, err)
	}
}

// Deadlines end a direct Read waiting in the netpoller, Close ends one with net.ErrClosed
// and the peer then sees the end of the stream (the duplicate descriptor does not keep the
// socket open), and a reset fails Read with ECONNRESET.
func TestConnDirectReadDeadlineCloseReset(t *testing.T) {
	l := newLoop(t)
	c, gc := dialGoPeer(t, l)
	if !isDirect(c) {
		t.Fatal("not reading directly")
	}
	readDeadlinesEndReads(t, c)
	c.SetDeadline(time.Time{})
	buf := make([]byte, 10)
	res := make(chan error, 1)
	gc.Write([]byte("late"))
	if n, err := io.ReadFull(c, buf[:4]); n != 4 || err != nil || string(buf[:4]) != "late" {
		t.Fatalf("after the deadline: %q %v", buf[:n], err)
	}
	go func() {
		_, err := c.Read(buf)
		res <- err
	}()
	c.Close()
	if err := waitErr(t, res); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read racing close: %v", err)
	}
	if _, err := c.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	gc.SetReadDeadline(time.Now().Add(time.Minute)) // fails the test instead of hanging it
	if n, err := gc.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("peer after close: %d %v", n, err)
	}

	c2, gc2 := dialGoPeer(t, l)
	if !isDirect(c2) {
		t.Fatal("not reading directly")
	}
	go func() {
		_, err := c2.Read(buf)
		res <- err
	}()
	gc2.(*net.TCPConn).SetLinger(0)
	gc2.Close()
	if err := waitErr(t, res); !errors.Is(err, syscall.ECONNRESET) || !errors.Is(err, ErrConnReset) {
		t.Fatalf("read after a reset: %v", err)
	}
	writesFailAfterReset(t, c2)
}

// Reads and Writes at once on one connection, and Closes racing Reads: every byte comes
// back in order, and each racing Read ends with bytes or net.ErrClosed.
func TestConnDirectConcurrentReadWriteClose(t *testing.T) {
	l := newLoop(t)
	ln := goListener(t)
	wg := echoConns(ln)
	defer wg.Wait()
	defer ln.Close()
	c, err := l.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if !isDirect(c) {
		t.Fatal("not reading directly")
	}
	const total = 8 << 20
	want := patternBytes(0, total)
	werr := make(chan error, 1)
	go func() {
		var err error
		for off := 0; off < total && err == nil; off += 50000 {
			_, err = c.Write(want[off:min(off+50000, total)])
		}
		werr <- err
	}()
	got := make([]byte, total)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the echo differs")
	}
	c.Close()

	for i := 0; i < 20; i++ {
		c, err := l.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		res := make(chan error, 1)
		go func() {
			var err error
			for err == nil {
				_, err = c.Read(make([]byte, 64))
			}
			res <- err
		}()
		c.Write([]byte("ping"))
		c.Close()
		if err := waitErr(t, res); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("round %d: read racing close: %v", i, err)
		}
	}
}
