// runner_cancels_leftovers in Go (case.py): casetrace's Run awaits main and then closes
// the loop; Loop.Close cancels the tasks still unfinished and waits for their clean-up,
// which may itself wait for the loop (here under context.WithoutCancel: the function's
// own context stays cancelled).
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
		waiting := make(chan struct{})
		_, err := l.Spawn("", func(ctx context.Context) (any, error) {
			f, err := l.SleepFuture(10 * time.Second)
			if err != nil {
				return nil, err
			}
			close(waiting)
			_, err = f.Await(ctx)
			if errors.Is(err, weft.ErrCancelled) {
				ct.Emit("leftover", "a", err)
				if err := l.Sleep(context.WithoutCancel(ctx), 0); err != nil {
					return nil, err
				}
				ct.Emit("leftover", "a", "cleanup-done")
			}
			return nil, err
		})
		if err != nil {
			return err
		}
		<-waiting // asyncio's sleep(0): the leftover task has started
		ct.Emit("main", "returns")
		return nil
	})
}
