package weft

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
)

// A protocol-style echo server on a Unix socket, with weft's Conn and Go's net as clients.
func TestProtocolUnixEchoServer(t *testing.T) {
	l := newLoop(t)
	path := filepath.Join(t.TempDir(), "proto.sock")
	lost := make(chan error, 2)
	srv, err := l.ListenUnix(context.Background(), path, func() Protocol { return &echoProtocol{lost: lost} })
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	checkEcho(t, c, []byte("protocol over unix"))
	gc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	checkEcho(t, gc, []byte("Go client"))
	c.Close()
	gc.Close()
	for i := 0; i < 2; i++ {
		if err := <-lost; err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.ListenUnix(context.Background(), "", func() Protocol { return nil }); !errors.Is(err, ErrInval) {
		t.Fatalf("empty path: %v", err)
	}
	if _, err := l.ListenUnix(context.Background(), filepath.Join(t.TempDir(), "no", "dir.sock"), func() Protocol { return nil }); err == nil {
		t.Fatal("a path in a missing directory was accepted")
	}
}
