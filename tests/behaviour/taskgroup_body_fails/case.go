// taskgroup_body_fails in Go (case.py).
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
			started := make(chan struct{})
			tg.Spawn("", func(ctx context.Context) (any, error) {
				close(started)
				err := l.Sleep(ctx, 10*time.Second)
				ct.Emit("child", "b", err)
				return nil, weft.ErrPerm
			})
			if err := l.Sleep(ctx, 0); err != nil {
				return err
			}
			<-started
			ct.Emit("body", "raises")
			return weft.ErrIO
		})
		ct.Emit("group", err)
		return nil
	})
}
