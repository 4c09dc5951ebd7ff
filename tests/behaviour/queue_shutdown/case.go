// queue_shutdown in Go (case.py). Whether the putter's Put is waiting when the queue is
// shut down or comes after, it fails the same way.
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		q, err := weft.NewQueue[int](l, 2)
		if err != nil {
			return err
		}
		for _, item := range []int{1, 2} {
			if err := q.PutNowait(item); err != nil {
				return err
			}
		}
		p, err := l.Spawn("", func(ctx context.Context) (any, error) {
			if err := q.Put(ctx, 3); err != nil {
				ct.Emit("putter", err)
			} else {
				ct.Emit("putter", "put")
			}
			return nil, nil
		})
		if err != nil {
			return err
		}
		if err := l.Sleep(ctx, 0); err != nil {
			return err
		}
		if err := q.Shutdown(false); err != nil {
			return err
		}
		if _, err := p.Await(ctx); err != nil {
			return err
		}
		if err := q.PutNowait(4); err != nil {
			ct.Emit("put_nowait", err)
		}
		for i := 0; i < 3; i++ {
			if item, err := q.Get(ctx); err != nil {
				ct.Emit("get", err)
			} else {
				ct.Emit("get", item)
			}
		}
		return nil
	})
}
