// taskgroup_one_fails in Go (case.py). The body reports its cancellation once the
// sibling has reported its own: goroutines run side by side, where asyncio runs the
// sibling first in one iteration.
package main

import (
	"context"
	"time"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		err := weft.RunTaskGroup(ctx, func(ctx context.Context, tg *weft.TaskGroup) error {
			sibling, _ := tg.Spawn("", func(ctx context.Context) (any, error) {
				err := l.Sleep(ctx, 10*time.Second)
				ct.Emit("sibling", "a", err)
				return nil, err
			})
			tg.Spawn("", func(ctx context.Context) (any, error) {
				if err := l.Sleep(ctx, 0); err != nil {
					return nil, err
				}
				ct.Emit("failing", "raises")
				return nil, weft.ErrIO
			})
			err := l.Sleep(ctx, 10*time.Second)
			<-sibling.Done()
			ct.Emit("body", err)
			return err
		})
		ct.Emit("group", err)
		n, _ := weft.CurrentTask(ctx).Cancelling()
		ct.Emit("cancelling", n)
		return nil
	})
}
