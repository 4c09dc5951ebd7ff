// taskgroup_spawn_after_failure in Go (case.py).
package main

import (
	"context"
	"time"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func late(context.Context) (any, error) {
	ct.Emit("late", "runs")
	return nil, nil
}

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		var group *weft.TaskGroup
		err := weft.RunTaskGroup(ctx, func(ctx context.Context, tg *weft.TaskGroup) error {
			group = tg
			tg.Spawn("", func(context.Context) (any, error) { return nil, weft.ErrIO })
			if err := l.Sleep(ctx, 10*time.Second); err != nil {
				ct.Emit("body", err)
			}
			if _, err := tg.Spawn("", late); err != nil {
				ct.Emit("spawn-after-failure", err)
			} else {
				ct.Emit("spawned")
			}
			return nil
		})
		ct.Emit("group", err)
		if _, err := group.Spawn("", late); err != nil {
			ct.Emit("spawn-after-exit", err)
		}
		return nil
	})
}
