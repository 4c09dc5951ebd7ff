// unix_stream_echo in Go (case.py). The client's half-close is CloseWrite.
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		tmp, err := os.MkdirTemp("", "weft-case")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		ln, err := l.Listen("unix", filepath.Join(tmp, "echo.sock"))
		if err != nil {
			return err
		}
		go func() {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c := nc.(*weft.Conn)
			for {
				line, err := c.ReadLine()
				if err != nil || len(line) == 0 {
					break
				}
				if _, err := c.Write([]byte(strings.ToUpper(string(line)))); err != nil {
					break
				}
			}
			ct.Emit("server", "eof")
			_ = c.Close()
		}()
		c, err := l.DialContext(ctx, "unix", filepath.Join(tmp, "echo.sock"))
		if err != nil {
			return err
		}
		for _, line := range []string{"one\n", "two\n"} {
			if _, err := c.Write([]byte(line)); err != nil {
				return err
			}
			reply, err := c.ReadLine()
			if err != nil {
				return err
			}
			ct.Emit("reply", reply)
		}
		if err := c.CloseWrite(); err != nil {
			return err
		}
		rest, err := io.ReadAll(c)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		ct.Emit("after-eof", rest)
		if err := c.Close(); err != nil {
			return err
		}
		return ln.Close()
	})
}
