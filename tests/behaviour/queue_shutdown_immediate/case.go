// queue_shutdown_immediate in Go (case.py).
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		q, err := weft.NewQueue[int](l, 0)
		if err != nil {
			return err
		}
		empty, err := weft.NewQueue[int](l, 0)
		if err != nil {
			return err
		}
		g, err := l.Spawn("", func(ctx context.Context) (any, error) {
			if item, err := empty.Get(ctx); err != nil {
				ct.Emit("getter", err)
			} else {
				ct.Emit("getter", item)
			}
			return nil, nil
		})
		if err != nil {
			return err
		}
		for _, item := range []int{1, 2, 3} {
			if err := q.PutNowait(item); err != nil {
				return err
			}
		}
		joiner, err := l.Spawn("", func(ctx context.Context) (any, error) { return nil, q.Join(ctx) })
		if err != nil {
			return err
		}
		if err := l.Sleep(ctx, 0); err != nil {
			return err
		}
		if err := q.Shutdown(true); err != nil {
			return err
		}
		if err := empty.Shutdown(true); err != nil {
			return err
		}
		if _, err := g.Await(ctx); err != nil {
			return err
		}
		if _, err := joiner.Await(ctx); err != nil {
			return err
		}
		n, _ := q.Len()
		ct.Emit("joined", "qsize", n)
		if _, err := q.Get(ctx); err != nil {
			ct.Emit("get", err)
		}
		return nil
	})
}
