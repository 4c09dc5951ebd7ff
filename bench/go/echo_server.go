// Command echo_server is the Go side of bench/go/echo.sh: one echo server, of the kind
// named on its command line, on 127.0.0.1:PORT until it is killed.
//
//	echo_server weft-proto|weft-conn|go-loop|go-copy PORT READY_FILE
//
// weft-proto: weft's protocol style (callbacks on the loop goroutine, no handoff).
// weft-conn:  weft's net.Conn, a goroutine per connection with a read/write loop.
// go-loop:    Go's net, a goroutine per connection with a read/write loop.
// go-copy:    Go's net, io.Copy per connection (splice on Linux).
// READY_FILE is created once the server listens.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"weft.dev/weft"
)

// bufSize is the read buffer of the read/write loops (Go's io.Copy uses 32 KiB).
const bufSize = 64 * 1024

type echoProtocol struct{ t *weft.Transport }

func (p *echoProtocol) ConnectionMade(t *weft.Transport) { p.t = t }
func (p *echoProtocol) DataReceived(data []byte)         { _ = p.t.Write(data) }
func (p *echoProtocol) EOFReceived() bool                { return false }
func (p *echoProtocol) ConnectionLost(error)             {}

func loopEcho(c net.Conn) {
	defer c.Close()
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func serve(ln net.Listener, handle func(net.Conn)) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go handle(c)
	}
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: echo_server weft-proto|weft-conn|go-loop|go-copy PORT READY_FILE")
		os.Exit(2)
	}
	kind, ready := os.Args[1], os.Args[3]
	port, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo_server: bad port")
		os.Exit(2)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	markReady := func() {
		if err := os.WriteFile(ready, nil, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	switch kind {
	case "weft-proto", "weft-conn":
		l, err := weft.NewLoop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if kind == "weft-proto" {
			_, err = l.ListenTCP(context.Background(), "127.0.0.1", port, func() weft.Protocol { return &echoProtocol{} })
			if err == nil {
				markReady()
				select {}
			}
		} else {
			var ln *weft.Listener
			if ln, err = l.Listen("tcp", addr); err == nil {
				markReady()
				err = serve(ln, loopEcho)
			}
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	case "go-loop", "go-copy":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		markReady()
		handle := loopEcho
		if kind == "go-copy" {
			handle = func(c net.Conn) {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}
		}
		fmt.Fprintln(os.Stderr, serve(ln, handle))
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "echo_server: unknown kind", kind)
	os.Exit(2)
}
