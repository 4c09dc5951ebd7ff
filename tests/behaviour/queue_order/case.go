// queue_order in Go (case.py). A PriorityQueue's items here are their own priorities, as
// asyncio's compares the items themselves.
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		makers := []struct {
			name string
			make func() (*weft.Queue[int], error)
		}{
			{"Queue", func() (*weft.Queue[int], error) { return weft.NewQueue[int](l, 0) }},
			{"LifoQueue", func() (*weft.Queue[int], error) { return weft.NewLifoQueue[int](l, 0) }},
			{"PriorityQueue", func() (*weft.Queue[int], error) { return weft.NewPriorityQueue[int](l, 0) }},
		}
		for _, m := range makers {
			q, err := m.make()
			if err != nil {
				return err
			}
			for _, item := range []int{3, 1, 4, 1, 5, 9, 2, 6} {
				if m.name == "PriorityQueue" {
					err = q.PutPriority(ctx, int64(item), item)
				} else {
					err = q.PutNowait(item)
				}
				if err != nil {
					return err
				}
			}
			tokens := []any{m.name}
			for {
				n, err := q.Len()
				if err != nil {
					return err
				}
				if n == 0 {
					break
				}
				item, err := q.Get(ctx)
				if err != nil {
					return err
				}
				tokens = append(tokens, item)
			}
			ct.Emit(tokens...)
		}
		return nil
	})
}
