// subprocess_read_10mb in Go (case.py): StdoutPipe read to EOF in 64 KiB reads, then Wait.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

const size = 10 * 1024 * 1024

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		proc := l.Command("/bin/sh", "-c", fmt.Sprintf("yes 0123456789abcdef | head -c %d", size))
		stdout, err := proc.StdoutPipe()
		if err != nil {
			return err
		}
		if err := proc.Start(); err != nil {
			return err
		}
		total, lines := 0, 0
		chunk := make([]byte, 65536)
		for {
			n, err := stdout.Read(chunk)
			total += n
			lines += bytes.Count(chunk[:n], []byte("\n"))
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		ct.Emit("read", total, "lines", lines)
		if err := proc.Wait(); err != nil {
			return err
		}
		ct.Emit("returncode", proc.ProcessState.ReturnCode())
		return nil
	})
}
