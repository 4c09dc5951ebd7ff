// queue_nowait_errors in Go (case.py).
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		q, err := weft.NewQueue[string](l, 1)
		if err != nil {
			return err
		}
		if _, err := q.GetNowait(); err != nil {
			ct.Emit("get_nowait-empty", err)
		}
		if err := q.PutNowait("x"); err != nil {
			return err
		}
		if err := q.PutNowait("y"); err != nil {
			ct.Emit("put_nowait-full", err)
		}
		n, _ := q.Len()
		item, err := q.GetNowait()
		if err != nil {
			return err
		}
		ct.Emit("qsize", n, "get", item)
		return nil
	})
}
