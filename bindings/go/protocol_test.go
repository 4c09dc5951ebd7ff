package weft

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

type echoProtocol struct {
	t    *Transport
	lost chan<- error
}

func (p *echoProtocol) ConnectionMade(t *Transport) { p.t = t }
func (p *echoProtocol) DataReceived(data []byte) {
	if err := p.t.Write(data); err != nil {
		panic(err)
	}
}
func (p *echoProtocol) EOFReceived() bool        { return false }
func (p *echoProtocol) ConnectionLost(err error) { p.lost <- err }

// A protocol-style echo server on the loop goroutine, Go's net package as the clients.
func TestProtocolEchoServer(t *testing.T) {
	l := newLoop(t)
	const clients, rounds = 5, 20
	lost := make(chan error, clients)
	srv, err := l.ListenTCP(context.Background(), "127.0.0.1", 0, func() Protocol {
		return &echoProtocol{lost: lost}
	})
	if err != nil {
		t.Fatal(err)
	}
	port, err := srv.Port()
	if err != nil || port <= 0 {
		t.Fatalf("port %d %v", port, err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			for r := 0; r < rounds; r++ {
				msg := bytes.Repeat([]byte{byte('a' + c)}, 1+r*100)
				if _, err := conn.Write(msg); err != nil {
					t.Error(err)
					return
				}
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(conn, got); err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(got, msg) {
					t.Errorf("client %d round %d: echo differs", c, r)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	// Each client's close reaches its protocol as a regular connection_lost.
	for c := 0; c < clients; c++ {
		if err := <-lost; err != nil {
			t.Fatalf("connection_lost: %v", err)
		}
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("connected to a closed server")
	}
}

func TestListenBadInput(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	if _, err := l.ListenTCP(ctx, "127.0.0.1", -1, func() Protocol { return nil }); !errors.Is(err, ErrInval) {
		t.Fatal(err)
	}
	if _, err := l.ListenTCP(ctx, "127.0.0.1", 0, nil); !errors.Is(err, ErrInval) {
		t.Fatal(err)
	}
	var s *Server
	if _, err := s.Port(); !errors.Is(err, ErrInval) {
		t.Fatal(err)
	}
	// A factory that refuses: the connection is closed, the server goes on.
	srv, err := l.ListenTCP(ctx, "127.0.0.1", 0, func() Protocol { return nil })
	if err != nil {
		t.Fatal(err)
	}
	port, _ := srv.Port()
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("a refused connection stayed open")
	}
}

type selfWaitProtocol struct {
	srv  **Server
	errs chan<- error
}

func (p *selfWaitProtocol) ConnectionMade(t *Transport) {
	_, err := (*p.srv).Port()
	p.errs <- err
	p.errs <- (*p.srv).l.Close()
	_ = t.Close()
}
func (p *selfWaitProtocol) DataReceived([]byte)  {}
func (p *selfWaitProtocol) EOFReceived() bool    { return false }
func (p *selfWaitProtocol) ConnectionLost(error) {}

// A Protocol method that calls a waiting method gets ErrOnLoop instead of a deadlock.
func TestWaitingCallFromProtocolFails(t *testing.T) {
	l := newLoop(t)
	errs := make(chan error, 2)
	var srv *Server
	s, err := l.ListenTCP(context.Background(), "127.0.0.1", 0, func() Protocol {
		return &selfWaitProtocol{srv: &srv, errs: errs}
	})
	if err != nil {
		t.Fatal(err)
	}
	srv = s
	port, _ := s.Port()
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := 0; i < 2; i++ {
		if err := <-errs; !errors.Is(err, ErrOnLoop) {
			t.Fatalf("waiting call on the loop goroutine: %v", err)
		}
	}
}
