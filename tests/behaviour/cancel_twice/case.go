// cancel_twice in Go (case.py). The worker prints what it caught once the main task has
// printed its lines (asyncio's worker runs only when main awaits it).
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
		running, printed := make(chan struct{}), make(chan struct{})
		t, err := l.Spawn("", func(ctx context.Context) (any, error) {
			close(running)
			n := 0
			if err := l.Sleep(ctx, 10*time.Second); err != nil {
				if !errors.Is(err, weft.ErrCancelled) {
					return nil, err
				}
				n++
				<-printed
				c, _ := weft.CurrentTask(ctx).Cancelling()
				ct.Emit("worker", "caught", err, "cancelling", c)
				// One CancelledError: the function goes on, as the coroutine does.
				ctx = context.WithoutCancel(ctx)
			}
			if err := l.Sleep(ctx, 0); err != nil {
				ct.Emit("worker", "second", err)
			} else {
				ct.Emit("worker", "second-await-ok")
			}
			return n, nil
		})
		if err != nil {
			return err
		}
		<-running
		ok, err := t.Cancel()
		if err != nil {
			return err
		}
		ct.Emit("cancel-1", ok)
		ok, _ = t.Cancel()
		ct.Emit("cancel-2", ok)
		n, _ := t.Cancelling()
		ct.Emit("cancelling", n)
		close(printed)
		v, err := t.Await(ctx)
		if err != nil {
			ct.Emit("task", err)
		} else {
			ct.Emit("result", v)
		}
		ct.Emit("cancelled", ct.Cancelled(t.Future))
		return nil
	})
}
