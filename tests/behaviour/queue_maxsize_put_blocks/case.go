// queue_maxsize_put_blocks in Go (case.py). The main task goes on once the producer has
// printed the line asyncio prints before main's next step (a put that returned, or the
// one that blocks); full() is a qsize() equal to maxsize (Go's Queue has Len only).
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		const maxsize = 2
		q, err := weft.NewQueue[int](l, maxsize)
		if err != nil {
			return err
		}
		printed := make(chan struct{}, 4)
		p, err := l.Spawn("", func(ctx context.Context) (any, error) {
			for _, item := range []int{1, 2, 3, 4} {
				if err := q.Put(ctx, item); err != nil {
					return nil, err
				}
				n, _ := q.Len()
				ct.Emit("put", item, "qsize", n)
				printed <- struct{}{}
			}
			return nil, nil
		})
		if err != nil {
			return err
		}
		<-printed
		<-printed
		n, _ := q.Len()
		ct.Emit("full", n == maxsize, "producer-done", ct.IsDone(p.Future))
		for i := 0; i < 4; i++ {
			item, err := q.Get(ctx)
			if err != nil {
				return err
			}
			ct.Emit("get", item)
			if i < 2 { // the producer's put 3, then 4, goes in
				<-printed
			}
			if err := l.Sleep(ctx, 0); err != nil {
				return err
			}
		}
		if _, err := p.Await(ctx); err != nil {
			return err
		}
		n, _ = q.Len()
		ct.Emit("empty", n == 0)
		return nil
	})
}
