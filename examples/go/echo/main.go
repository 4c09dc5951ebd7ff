// An echo server on weft's protocol-style API (its callbacks run on the loop goroutine),
// and a TaskGroup of clients under a Timeout: every client, a weft task, dials with
// Loop.DialContext (a net.Conn over the core's streams), sends lines and checks the echo;
// the first client to fail would cancel the others, and the timeout bounds the whole
// exchange.
package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"weft.dev/weft"
)

// echo writes back whatever it receives.
type echo struct{ t *weft.Transport }

func (e *echo) ConnectionMade(t *weft.Transport) { e.t = t }
func (e *echo) DataReceived(data []byte)         { _ = e.t.Write(data) }
func (e *echo) EOFReceived() bool                { return false }
func (e *echo) ConnectionLost(error)             {}

const clients, lines = 5, 3

// client sends its lines and reads each echo. Closing the connection when ctx ends is what
// makes a cancellation (a sibling's failure, the timeout) stop a blocked read.
func client(ctx context.Context, l *weft.Loop, addr string, id int) (any, error) {
	conn, err := l.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r := bufio.NewReader(conn)
	for i := 0; i < lines; i++ {
		line := "client " + strconv.Itoa(id) + " line " + strconv.Itoa(i) + "\n"
		if _, err := conn.Write([]byte(line)); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		got, err := r.ReadString('\n')
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		if got != line {
			return nil, fmt.Errorf("client %d: echo %q, sent %q", id, got, line)
		}
	}
	return lines, nil
}

func run(l *weft.Loop) error {
	srv, err := l.ListenTCP(context.Background(), "127.0.0.1", 0, func() weft.Protocol { return &echo{} })
	if err != nil {
		return err
	}
	defer srv.Close()
	port, err := srv.Port()
	if err != nil {
		return err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	fmt.Println("echo server on", addr)

	top, err := l.Spawn("main", func(ctx context.Context) (any, error) {
		var tasks []*weft.Task
		err := weft.Timeout(ctx, 30*time.Second, func(ctx context.Context, _ *weft.TimeoutScope) error {
			return weft.RunTaskGroup(ctx, func(ctx context.Context, g *weft.TaskGroup) error {
				for id := 0; id < clients; id++ {
					id := id
					t, err := g.Spawn("client-"+strconv.Itoa(id), func(ctx context.Context) (any, error) {
						return client(ctx, l, addr, id)
					})
					if err != nil {
						return err
					}
					tasks = append(tasks, t)
				}
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
		total := 0
		for _, t := range tasks {
			v, err := t.Await(ctx)
			if err != nil {
				return nil, err
			}
			total += v.(int)
		}
		return total, nil
	})
	if err != nil {
		return err
	}
	total, err := top.Await(context.Background())
	if err != nil {
		return err
	}
	fmt.Printf("%d clients, %v lines echoed\n", clients, total)
	return nil
}

func main() {
	l, err := weft.NewLoop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer l.Close()
	if err := run(l); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}
