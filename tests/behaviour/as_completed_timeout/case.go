// as_completed_timeout in Go (case.py). The gate is a long sleep's future; b then a finish
// (ct.Sequence) before the timeout.
package main

import (
	"context"
	"time"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		gate, err := l.SleepFuture(time.Hour)
		if err != nil {
			return err
		}
		seq := ct.NewSequence(3)
		quick := func(name string, i int) (*weft.Future, error) {
			t, err := l.Spawn("", func(ctx context.Context) (any, error) {
				<-seq.Go(i)
				return name, l.Sleep(ctx, 0)
			})
			if err != nil {
				return nil, err
			}
			return t.Future, nil
		}
		a, err := quick("a", 0)
		if err != nil {
			return err
		}
		b, err := quick("b", 2)
		if err != nil {
			return err
		}
		fs := []*weft.Future{a, gate, b}
		it, err := l.AsCompleted(fs, 500*time.Millisecond)
		if err != nil {
			return err
		}
		seq.Start(fs, 2, 0)
		for range fs {
			f, err := it.Next(ctx)
			if err != nil {
				ct.Emit("timeout", err)
				continue
			}
			v, err := f.Await(ctx)
			if err != nil {
				ct.Emit("timeout", err)
				continue
			}
			ct.Emit("completed", v)
		}
		ct.Emit("gate", "cancelled", ct.Cancelled(gate))
		return nil
	})
}
