// subprocess_sigkill in Go (case.py).
package main

import (
	"context"
	"errors"
	"syscall"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

// returncode is asyncio's Process.returncode: none while the child runs.
func returncode(c *weft.Cmd) any {
	if c.ProcessState == nil {
		return nil
	}
	return c.ProcessState.ReturnCode()
}

// wait is Cmd.Wait with an exit status other than 0 read as the return code, not an error.
func wait(c *weft.Cmd) (any, error) {
	err := c.Wait()
	var ee *weft.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, err
	}
	return returncode(c), nil
}

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		proc := l.Command("sleep", "30")
		if err := proc.Start(); err != nil {
			return err
		}
		ct.Emit("returncode-running", returncode(proc))
		if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
			return err
		}
		rc, err := wait(proc)
		if err != nil {
			return err
		}
		ct.Emit("killed", "returncode", rc)
		for _, step := range []struct{ name, script string }{
			{"self-killed", "kill -9 $$"},
			{"exit", "exit 3"},
		} {
			proc = l.Command("/bin/sh", "-c", step.script)
			if err := proc.Start(); err != nil {
				return err
			}
			rc, err := wait(proc)
			if err != nil {
				return err
			}
			ct.Emit(step.name, "returncode", rc)
		}
		return nil
	})
}
