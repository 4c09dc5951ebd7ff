// stream_drain_blocks in Go (case.py). Go's Write is write and drain in one: it returns
// once the bytes are handed to the loop under the connection's write-buffer limits, so a
// 16 MiB Write waits while the peer does not read. The case looks at it after 100 ms, as
// case.py does; it cannot have returned whatever the time, since the kernel buffers hold
// less than 16 MiB.
package main

import (
	"context"
	"time"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

const size = 16 * 1024 * 1024

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		ln, err := l.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		startReading := make(chan struct{})
		received := make(chan any, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				received <- err
				return
			}
			<-startReading
			data, err := c.(*weft.Conn).ReadExactly(size)
			if err != nil {
				received <- err
			} else {
				received <- len(data)
			}
			_ = c.Close()
		}()
		c, err := l.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		drain := make(chan error, 1)
		go func() {
			_, err := c.Write(make([]byte, size))
			drain <- err
		}()
		if err := l.Sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
		select {
		case err := <-drain:
			drain <- err
			ct.Emit("drain", "done", true)
		default:
			ct.Emit("drain", "done", false)
		}
		close(startReading)
		if err := <-drain; err != nil {
			return err
		}
		ct.Emit("drain", "returned")
		n := <-received
		if err, ok := n.(error); ok {
			return err
		}
		ct.Emit("peer", "received", n)
		if err := c.Close(); err != nil {
			return err
		}
		return ln.Close()
	})
}
