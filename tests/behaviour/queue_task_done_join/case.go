// queue_task_done_join in Go (case.py).
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		q, err := weft.NewQueue[string](l, 0)
		if err != nil {
			return err
		}
		for _, item := range []string{"a", "b", "c"} {
			if err := q.PutNowait(item); err != nil {
				return err
			}
		}
		c, err := l.Spawn("", func(ctx context.Context) (any, error) {
			for {
				item, err := q.Get(ctx)
				if err != nil {
					return nil, err
				}
				if err := l.Sleep(ctx, 0); err != nil {
					return nil, err
				}
				ct.Emit("processed", item)
				if err := q.TaskDone(); err != nil {
					return nil, err
				}
			}
		})
		if err != nil {
			return err
		}
		if err := q.Join(ctx); err != nil {
			return err
		}
		n, _ := q.Len()
		ct.Emit("joined", "qsize", n)
		ct.Emit("join-again", q.Join(ctx))
		if _, err := c.Cancel(); err != nil {
			return err
		}
		if err := q.TaskDone(); err != nil {
			ct.Emit("task_done-too-often", err)
		}
		return nil
	})
}
