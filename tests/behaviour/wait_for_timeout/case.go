// wait_for_timeout in Go (case.py). The inner task's cleanup waits under
// context.WithoutCancel: its own context stays cancelled.
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
		t, err := l.Spawn("", func(ctx context.Context) (any, error) {
			err := l.Sleep(ctx, 10*time.Second)
			if err == nil {
				return nil, nil
			}
			ct.Emit("inner", err)
			if err := l.Sleep(context.WithoutCancel(ctx), 0); err != nil {
				return nil, err
			}
			ct.Emit("inner", "cleanup-done")
			return nil, err
		})
		if err != nil {
			return err
		}
		if _, err := l.WaitFor(ctx, t.Future, 50*time.Millisecond); err != nil {
			ct.Emit("wait_for", err)
		}
		done := false
		select {
		case <-t.Done(): // wait_for has waited for the inner task to end
			done = true
		default:
		}
		_, terr := t.Await(ctx)
		ct.Emit("inner-task", done, errors.Is(terr, weft.ErrCancelled))
		quick, err := l.Spawn("", func(context.Context) (any, error) { return "quick", nil })
		if err != nil {
			return err
		}
		v, err := l.WaitFor(ctx, quick.Future, time.Second)
		if err != nil {
			return err
		}
		ct.Emit("in-time", v)
		return nil
	})
}
