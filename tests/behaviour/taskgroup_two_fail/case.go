// taskgroup_two_fail in Go (case.py). asyncio runs the two failing children in one
// iteration; here the second fails once the first has, and the slow child reports its
// cancellation once both have: the group records the same errors in the same order.
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
			var second *weft.Task
			secondMade := make(chan struct{})
			first, _ := tg.Spawn("", func(ctx context.Context) (any, error) {
				// Not before the second child has its first step queued: a child the
				// group cancels before that step never runs (asyncio makes all three
				// before any runs).
				<-secondMade
				l.Sleep(ctx, 0)
				ct.Emit("failing", "EIO")
				return nil, weft.ErrIO
			})
			tg.Spawn("", func(ctx context.Context) (any, error) {
				err := l.Sleep(ctx, 10*time.Second)
				<-secondMade
				<-second.Done()
				ct.Emit("slow", err)
				return nil, err
			})
			second, _ = tg.Spawn("", func(ctx context.Context) (any, error) {
				<-first.Done()
				ct.Emit("failing", "EPERM")
				return nil, weft.ErrPerm
			})
			close(secondMade)
			return nil
		})
		ct.Emit("group", err)
		return nil
	})
}
