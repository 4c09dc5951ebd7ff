// subprocess_missing_program in Go (case.py).
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		for _, program := range []string{"/nonexistent/weft-no-such-program", "weft-no-such-program"} {
			if err := l.Command(program).Start(); err != nil {
				ct.Emit("exec", err)
			} else {
				ct.Emit("started")
			}
		}
		return nil
	})
}
