// subprocess_communicate_1mb in Go (case.py): os/exec's shape, Stdin a reader and Stdout
// a buffer, each copied through a pipe while the other is; stderr is not captured
// (Cmd.Stderr nil: the null device), asyncio's None.
package main

import (
	"bytes"
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

const size = 1024 * 1024

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i % 251)
		}
		proc := l.Command("cat")
		proc.Stdin = bytes.NewReader(data)
		var stdout bytes.Buffer
		proc.Stdout = &stdout
		if err := proc.Run(); err != nil {
			return err
		}
		var stderr any
		if proc.Stderr != nil {
			stderr = proc.Stderr
		}
		out := stdout.Bytes()
		ct.Emit("stdout", len(out), "same", bytes.Equal(out, data), "stderr", stderr)
		ct.Emit("returncode", proc.ProcessState.ReturnCode())
		return nil
	})
}
