// shield in Go (case.py). The main task cancels the awaiter once it is running (a task
// cancelled before its first step would never run its function).
package main

import (
	"context"
	"errors"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		gate, err := l.NewEvent()
		if err != nil {
			return err
		}
		inner, err := l.Spawn("", func(ctx context.Context) (any, error) {
			if err := gate.Wait(ctx); err != nil {
				return nil, err
			}
			ct.Emit("precious", "finished")
			return "kept", nil
		})
		if err != nil {
			return err
		}
		running := make(chan struct{})
		a, err := l.Spawn("", func(ctx context.Context) (any, error) {
			close(running)
			s, err := l.Shield(inner.Future)
			if err != nil {
				return nil, err
			}
			_, err = s.Await(ctx)
			if err != nil {
				ct.Emit("awaiter", err)
			}
			return nil, err
		})
		if err != nil {
			return err
		}
		<-running
		a.Cancel()
		if _, err := a.Await(ctx); errors.Is(err, weft.ErrCancelled) {
			ct.Emit("main", "awaiter", err)
		}
		done, cancelled := false, false // a pending task is not cancelled
		select {
		case <-inner.Done():
			done = true
			_, err := inner.Await(ctx)
			cancelled = errors.Is(err, weft.ErrCancelled)
		default:
		}
		ct.Emit("inner", "cancelled", cancelled, "done", done)
		if err := gate.Set(); err != nil {
			return err
		}
		v, err := inner.Await(ctx)
		if err != nil {
			return err
		}
		ct.Emit("inner-result", v)
		return nil
	})
}
