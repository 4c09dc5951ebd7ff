package weft

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// dialScript connects to a Go server that writes script and closes.
func dialScript(t *testing.T, l *Loop, script []byte) *Conn {
	t.Helper()
	ln := goListener(t)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write(script)
		c.Close()
	}()
	c, err := l.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestReaderLinesAndExact(t *testing.T) {
	l := newLoop(t)
	c := dialScript(t, l, []byte("first line\nsecond\r\nKEY=value;12345tail"))
	if b, err := c.ReadLine(); err != nil || string(b) != "first line\n" {
		t.Fatalf("readline: %q %v", b, err)
	}
	if b, err := c.ReadUntil([]byte("\r\n")); err != nil || string(b) != "second\r\n" {
		t.Fatalf("readuntil: %q %v", b, err)
	}
	if b, err := c.ReadUntil([]byte(";")); err != nil || string(b) != "KEY=value;" {
		t.Fatalf("readuntil: %q %v", b, err)
	}
	if b, err := c.ReadExactly(5); err != nil || string(b) != "12345" {
		t.Fatalf("readexactly: %q %v", b, err)
	}
	// The stream ends 4 bytes short of 10: the partial data comes with the error.
	b, err := c.ReadExactly(10)
	var ie *IncompleteReadError
	if !errors.As(err, &ie) || string(ie.Partial) != "tail" || ie.Expected != 10 || b != nil {
		t.Fatalf("incomplete: %q %v", b, err)
	}
	if !errors.Is(err, ErrIncompleteRead) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("incomplete is not matched: %v", err)
	}
	// At the end: readline gives what is left (nothing), Read io.EOF.
	if b, err := c.ReadLine(); err != nil || len(b) != 0 {
		t.Fatalf("readline at EOF: %q %v", b, err)
	}
	if n, err := c.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("read at EOF: %d %v", n, err)
	}
}

func TestReaderUntilIncomplete(t *testing.T) {
	l := newLoop(t)
	c := dialScript(t, l, []byte("no separator here"))
	_, err := c.ReadUntil([]byte("\n\n"))
	var ie *IncompleteReadError
	if !errors.As(err, &ie) || string(ie.Partial) != "no separator here" || ie.Expected != 0 {
		t.Fatalf("readuntil at EOF: %v", err)
	}
}

// Past the reader's limit (asyncio's 64 KiB): readuntil fails and keeps the data; readline
// drops the line, as asyncio does.
func TestReaderLimitOverrun(t *testing.T) {
	l := newLoop(t)
	long := bytes.Repeat([]byte("x"), 200*1024)
	script := append(append([]byte(nil), long...), []byte("\nafter\n")...)
	c := dialScript(t, l, script)
	_, err := c.ReadUntil([]byte("\n"))
	var le *LimitOverrunError
	if !errors.As(err, &le) || !errors.Is(err, ErrLimitOverrun) || le.Consumed <= 0 {
		t.Fatalf("readuntil over the limit: %v", err)
	}
	// The data stayed: Read takes some of it.
	buf := make([]byte, 1000)
	if n, err := c.Read(buf); err != nil || n == 0 || buf[0] != 'x' {
		t.Fatalf("read after overrun: %d %v", n, err)
	}
	_, err = c.ReadLine()
	if !errors.As(err, &le) {
		t.Fatalf("readline over the limit: %v", err)
	}
	// How much of the long line the overrun dropped depends on how much had arrived, as in
	// asyncio: what is left of it comes as overruns or as its tail, then the next line.
	for i := 0; ; i++ {
		b, err := c.ReadLine()
		if err == nil && string(b) == "after\n" {
			break
		}
		if i == 10 || (err != nil && !errors.As(err, &le)) || (err == nil && (b[0] != 'x' || b[len(b)-1] != '\n')) {
			t.Fatalf("after the dropped line: %.20q %v", b, err)
		}
	}
}

func TestReaderBadInput(t *testing.T) {
	l := newLoop(t)
	c := dialScript(t, l, []byte("abc"))
	if _, err := c.ReadUntil(nil); !errors.Is(err, ErrInval) {
		t.Fatalf("empty separator: %v", err)
	}
	if _, err := c.ReadExactly(-1); !errors.Is(err, ErrInval) {
		t.Fatalf("negative count: %v", err)
	}
	if b, err := c.ReadExactly(0); err != nil || len(b) != 0 {
		t.Fatalf("zero count: %q %v", b, err)
	}
	var nilConn *Conn
	_ = nilConn
}
