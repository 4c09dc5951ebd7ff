// udp_echo in Go (case.py). The server echoes in upper case from a goroutine; the client
// reads each reply. A read deadline of 10 s ends the case if a datagram is lost, as
// case.py's timeout does.
package main

import (
	"bytes"
	"context"
	"time"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		server, err := l.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		go func() {
			buf := make([]byte, 2048)
			for {
				n, addr, err := server.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = server.WriteTo(bytes.ToUpper(buf[:n]), addr)
			}
		}()
		client, err := l.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		if err := client.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			return err
		}
		buf := make([]byte, 2048)
		for _, payload := range [][]byte{[]byte("one"), []byte("two"), bytes.Repeat([]byte("x"), 40), []byte("3")} {
			if _, err := client.WriteTo(payload, server.LocalAddr()); err != nil {
				return err
			}
			n, _, err := client.ReadFrom(buf)
			if err != nil {
				ct.Emit("client", "error", err)
				return err
			}
			ct.Emit("client", "received", buf[:n])
		}
		if err := client.Close(); err != nil {
			return err
		}
		return server.Close()
	})
}
