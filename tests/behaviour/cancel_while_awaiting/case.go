// cancel_while_awaiting in Go (case.py). inner is a long sleep's future, awaited by the
// worker. Cancelling a Go task reaches the future through the function's context, one
// handoff later than asyncio's cancel(), which cancels the awaited future itself: the
// case waits for inner to be done before it asks whether inner is cancelled, and the
// worker prints what it caught once the main task has asked.
package main

import (
	"context"
	"time"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		inner, err := l.SleepFuture(time.Hour)
		if err != nil {
			return err
		}
		running, asked := make(chan struct{}), make(chan struct{})
		t, err := l.Spawn("", func(ctx context.Context) (any, error) {
			ct.Emit("worker", "start")
			close(running)
			_, err := inner.Await(ctx)
			if err == nil {
				ct.Emit("never")
				return nil, nil
			}
			<-asked
			ct.Emit("worker", "caught", err)
			ct.Emit("worker", "finally")
			return nil, err
		})
		if err != nil {
			return err
		}
		<-running
		ok, err := t.Cancel()
		if err != nil {
			return err
		}
		ct.Emit("cancel", ok)
		<-inner.Done()
		ct.Emit("inner-cancelled-yet", ct.Cancelled(inner))
		close(asked)
		if _, err := t.Await(ctx); err != nil {
			ct.Emit("await-task", err)
		}
		ct.Emit("task", ct.IsDone(t.Future), ct.Cancelled(t.Future), "inner", ct.Cancelled(inner))
		return nil
	})
}
