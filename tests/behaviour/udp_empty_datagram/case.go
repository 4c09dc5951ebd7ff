// udp_empty_datagram in Go (case.py). A read deadline of 10 s ends the case if a
// datagram is lost, as case.py's timeout does.
package main

import (
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
		client, err := l.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		for _, payload := range []string{"before", "", "after"} {
			if _, err := client.WriteTo([]byte(payload), server.LocalAddr()); err != nil {
				return err
			}
		}
		if err := server.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			return err
		}
		buf := make([]byte, 2048)
		for i := 0; i < 3; i++ {
			n, _, err := server.ReadFrom(buf)
			if err != nil {
				return err
			}
			ct.Emit("received", buf[:n])
		}
		if err := client.Close(); err != nil {
			return err
		}
		return server.Close()
	})
}
