// stream_readexactly_eof in Go (case.py). at_eof is Read's io.EOF.
package main

import (
	"context"
	"errors"
	"io"

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
			_, _ = c.Write([]byte("abc"))
			_ = c.Close()
		}()
		c, err := l.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		b, err := c.ReadExactly(2)
		if err != nil {
			return err
		}
		ct.Emit("readexactly", 2, b)
		var ie *weft.IncompleteReadError
		if _, err := c.ReadExactly(5); errors.As(err, &ie) {
			ct.Emit("readexactly", 5, err, "partial", ie.Partial, "expected", ie.Expected)
		} else {
			return errors.Join(errors.New("readexactly(5) did not fail incomplete"), err)
		}
		rest, err := io.ReadAll(c) // read(): to EOF
		if err != nil {
			return err
		}
		n, err := c.Read(make([]byte, 1))
		ct.Emit("read", rest, "at_eof", n == 0 && err == io.EOF)
		if err := c.Close(); err != nil {
			return err
		}
		return ln.Close()
	})
}
