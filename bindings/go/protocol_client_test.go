package weft

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

// clientRecorder is a client protocol that sends hello once connected and reports what
// it receives; it closes the transport when told to through close.
type clientRecorder struct {
	l       *Loop
	t       *Transport
	hello   []byte
	data    chan []byte
	eof     chan struct{}
	lost    chan error
	onLoop  bool
	closeAt []byte // close the transport once this much arrived
	got     []byte
}

func newClientRecorder(l *Loop, hello, closeAt []byte) *clientRecorder {
	return &clientRecorder{l: l, hello: hello, closeAt: closeAt, data: make(chan []byte, 16),
		eof: make(chan struct{}, 1), lost: make(chan error, 1)}
}

func (p *clientRecorder) ConnectionMade(t *Transport) {
	p.t, p.onLoop = t, p.l.onLoop()
	if p.hello != nil {
		if err := t.Write(p.hello); err != nil {
			panic(err)
		}
	}
}
func (p *clientRecorder) DataReceived(b []byte) {
	p.got = append(p.got, b...)
	p.data <- append([]byte(nil), b...)
	if p.closeAt != nil && bytes.Equal(p.got, p.closeAt) {
		p.t.Close()
	}
}
func (p *clientRecorder) EOFReceived() bool        { p.eof <- struct{}{}; return false }
func (p *clientRecorder) ConnectionLost(err error) { p.lost <- err }

func (p *clientRecorder) received(t *testing.T, n int) []byte {
	t.Helper()
	var all []byte
	for len(all) < n {
		all = append(all, <-p.data...)
	}
	return all
}

// pongThenLost checks the end of a serveOnce exchange for a recorder that closes on
// "pong": it got "pong", its connection was lost cleanly, and the server saw its close.
func (p *clientRecorder) pongThenLost(t *testing.T, served <-chan error, what string) {
	t.Helper()
	if b := p.received(t, 4); string(b) != "pong" {
		t.Fatalf("%s: client got %q", what, b)
	}
	if err := <-p.lost; err != nil {
		t.Fatalf("%s: connection_lost: %v", what, err)
	}
	if err := <-served; err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// serveOnce accepts one connection, reads want bytes, answers reply and then waits for
// the client's close (EOF), which it reports.
func serveOnce(t *testing.T, ln net.Listener, want int, reply []byte) <-chan error {
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		got := make([]byte, want)
		if _, err := io.ReadFull(c, got); err != nil {
			done <- err
			return
		}
		if !bytes.Equal(got, bytes.Repeat([]byte("ping"), want/4)) {
			done <- fmt.Errorf("server got %q", got)
			return
		}
		if _, err := c.Write(reply); err != nil {
			done <- err
			return
		}
		_, err = c.Read(make([]byte, 1)) // the client's close
		if err == io.EOF {
			err = nil
		}
		done <- err
	}()
	return done
}

func TestDialProtocolTCP(t *testing.T) {
	l := newLoop(t)
	ln := goListener(t)
	served := serveOnce(t, ln, 4*1000, []byte("pong"))
	var p *clientRecorder
	got, err := l.DialProtocol(context.Background(), "tcp", ln.Addr().String(), func() Protocol {
		p = newClientRecorder(l, bytes.Repeat([]byte("ping"), 1000), []byte("pong"))
		return p
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != Protocol(p) || !p.onLoop {
		t.Fatalf("protocol %v, ConnectionMade on the loop goroutine %v", got, p.onLoop)
	}
	// The client closed once it had the reply: connection_lost, and the server saw EOF.
	p.pongThenLost(t, served, "tcp")
}

// The peer's close reaches the client as eof_received, then connection_lost(nil).
func TestDialProtocolPeerCloses(t *testing.T) {
	l := newLoop(t)
	ln := goListener(t)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Write([]byte("bye"))
			c.Close()
		}
	}()
	p := newClientRecorder(l, nil, nil)
	if _, err := l.DialProtocol(context.Background(), "tcp4", ln.Addr().String(), func() Protocol { return p }); err != nil {
		t.Fatal(err)
	}
	if b := p.received(t, 3); string(b) != "bye" {
		t.Fatalf("got %q", b)
	}
	<-p.eof
	if err := <-p.lost; err != nil {
		t.Fatalf("connection_lost: %v", err)
	}
}

func TestDialProtocolRefused(t *testing.T) {
	l := newLoop(t)
	addr := refusedAddr(t)
	made := false
	_, err := l.DialProtocol(context.Background(), "tcp", addr, func() Protocol { made = true; return nil })
	var op *net.OpError
	if !errors.As(err, &op) || !errors.Is(err, ErrConnRefused) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("refused: %v", err)
	}
	if made {
		t.Fatal("the factory ran for a connection never made")
	}
	if _, err := l.DialProtocol(context.Background(), "tcp", addr, nil); !errors.Is(err, ErrInval) {
		t.Fatalf("nil factory: %v", err)
	}
	if _, err := l.DialProtocol(context.Background(), "sctp", addr, func() Protocol { return nil }); err == nil {
		t.Fatal("unknown network accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.DialProtocol(ctx, "tcp", addr, func() Protocol { return nil }); err == nil {
		t.Fatal("a cancelled context connected")
	}
}

// A factory that makes no protocol: the connection is aborted, DialProtocol fails.
func TestDialProtocolNilProtocol(t *testing.T) {
	l := newLoop(t)
	ln := goListener(t)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Read(make([]byte, 1))
			c.Close()
		}
	}()
	if _, err := l.DialProtocol(context.Background(), "tcp", ln.Addr().String(), func() Protocol { return nil }); !errors.Is(err, ErrInval) {
		t.Fatalf("nil protocol: %v", err)
	}
}

func TestDialProtocolUnix(t *testing.T) {
	l := newLoop(t)
	for _, name := range []string{t.TempDir() + "/s", fmt.Sprintf("@weft-go-client-%d", os.Getpid())} {
		ln, err := net.Listen("unix", name)
		if err != nil {
			t.Fatal(err)
		}
		served := serveOnce(t, ln, 8, []byte("pong"))
		p := newClientRecorder(l, []byte("pingping"), []byte("pong"))
		if _, err := l.DialProtocol(context.Background(), "unix", name, func() Protocol { return p }); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p.pongThenLost(t, served, name)
		ln.Close()
	}
}

func TestDialProtocolTLS(t *testing.T) {
	l := newLoop(t)
	certPEM, keyPEM := testCert(t)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	// An unknown issuer: the handshake fails, no protocol is made.
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	made := false
	_, err = l.DialProtocolTLS(context.Background(), "tcp", "localhost:"+port, nil, func() Protocol { made = true; return nil })
	if !errors.Is(err, ErrTLS) || made {
		t.Fatalf("unverified server: %v (factory ran: %v)", err, made)
	}

	// Verified against the test CA, SNI from the dialled host: plaintext both ways.
	served := serveOnce(t, ln, 4*100, []byte("pong"))
	p := newClientRecorder(l, bytes.Repeat([]byte("ping"), 100), []byte("pong"))
	if _, err := l.DialProtocolTLS(context.Background(), "tcp", "localhost:"+port, &TLSConfig{RootCAs: certPEM}, func() Protocol { return p }); err != nil {
		t.Fatal(err)
	}
	p.pongThenLost(t, served, "verified")

	// Over a Unix socket: no host to take SNI from, so the configuration names it.
	uln, err := tls.Listen("unix", t.TempDir()+"/tls", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer uln.Close()
	served = serveOnce(t, uln, 4, []byte("pong"))
	p = newClientRecorder(l, []byte("ping"), []byte("pong"))
	cfg := &TLSConfig{RootCAs: certPEM, ServerName: "localhost"}
	if _, err := l.DialProtocolTLS(context.Background(), "unix", uln.Addr().String(), cfg, func() Protocol { return p }); err != nil {
		t.Fatal(err)
	}
	p.pongThenLost(t, served, "over Unix")
}
