// cancel_catch_continue in Go (case.py). A Go context cannot be uncancelled: having caught
// the cancellation and uncancelled its task, the function waits on under
// context.WithoutCancel (bindings/go/README.md).
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
		running := make(chan struct{})
		t, err := l.Spawn("", func(ctx context.Context) (any, error) {
			close(running)
			if err := l.Sleep(ctx, 10*time.Second); err != nil {
				if !errors.Is(err, weft.ErrCancelled) {
					return nil, err
				}
				me := weft.CurrentTask(ctx)
				n, _ := me.Cancelling()
				ct.Emit("worker", "caught", err, n)
				if _, err := me.Uncancel(); err != nil {
					return nil, err
				}
				ctx = context.WithoutCancel(ctx)
			}
			if err := l.Sleep(ctx, 0); err != nil {
				return nil, err
			}
			ct.Emit("worker", "continues")
			if err := l.Sleep(ctx, 10*time.Millisecond); err != nil {
				return nil, err
			}
			return 42, nil
		})
		if err != nil {
			return err
		}
		<-running
		if _, err := t.Cancel(); err != nil {
			return err
		}
		v, err := t.Await(ctx)
		if err != nil {
			return err // asyncio's await raises: no line
		}
		ct.Emit("result", v, "cancelled", ct.Cancelled(t.Future))
		return nil
	})
}
