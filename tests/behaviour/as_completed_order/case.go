// as_completed_order in Go (case.py). The inputs finish in asyncio's order, each once the
// one before is done (ct.Sequence: d, b, c, a); as_completed hands them out in that order,
// not in argument order.
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		names := []string{"a", "b", "c", "d"}
		seq := ct.NewSequence(len(names))
		var fs []*weft.Future
		for i, name := range names {
			t, err := l.Spawn("", func(ctx context.Context) (any, error) {
				<-seq.Go(i)
				return name, l.Sleep(ctx, 0)
			})
			if err != nil {
				return err
			}
			fs = append(fs, t.Future)
		}
		it, err := l.AsCompleted(fs, -1)
		if err != nil {
			return err
		}
		seq.Start(fs, 3, 1, 2, 0)
		for range fs {
			f, err := it.Next(ctx)
			if err != nil {
				return err
			}
			v, err := f.Await(ctx)
			if err != nil {
				return err
			}
			ct.Emit("completed", v)
		}
		return nil
	})
}
