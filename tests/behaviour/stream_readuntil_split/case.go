// stream_readuntil_split in Go (case.py). The server's parts go out 20 ms apart, as in
// case.py; the trace does not depend on whether they arrive apart.
package main

import (
	"context"
	"errors"
	"time"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		ln, err := l.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			for _, part := range []string{"hel", "lo\r", "\nwor", "ld\r\n"} {
				if _, err := c.Write([]byte(part)); err != nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			_ = c.Close()
		}()
		c, err := l.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		sep := []byte("\r\n")
		for i := 0; i < 2; i++ {
			b, err := c.ReadUntil(sep)
			if err != nil {
				return err
			}
			ct.Emit("readuntil", b)
		}
		var ie *weft.IncompleteReadError
		if _, err := c.ReadUntil(sep); errors.As(err, &ie) {
			ct.Emit("readuntil-at-eof", err, "partial", ie.Partial)
		} else {
			return errors.Join(errors.New("readuntil at EOF did not fail incomplete"), err)
		}
		if err := c.Close(); err != nil {
			return err
		}
		return ln.Close()
	})
}
