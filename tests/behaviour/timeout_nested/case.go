// timeout_nested in Go (case.py).
package main

import (
	"context"
	"time"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		var outer, inner *weft.TimeoutScope
		err := weft.Timeout(ctx, 50*time.Millisecond, func(ctx context.Context, o *weft.TimeoutScope) error {
			outer = o
			err := weft.Timeout(ctx, 10*time.Second, func(ctx context.Context, i *weft.TimeoutScope) error {
				inner = i
				return l.Sleep(ctx, 10*time.Second)
			})
			expired, _ := inner.Expired()
			ct.Emit("inner-block", err, "inner-expired", expired)
			return err
		})
		expired, _ := outer.Expired()
		ct.Emit("outer-block", err, "outer-expired", expired)
		n, _ := weft.CurrentTask(ctx).Cancelling()
		ct.Emit("cancelling", n)

		err = weft.Timeout(ctx, 10*time.Second, func(ctx context.Context, o *weft.TimeoutScope) error {
			outer = o
			return weft.Timeout(ctx, 50*time.Millisecond, func(ctx context.Context, i *weft.TimeoutScope) error {
				inner = i
				return l.Sleep(ctx, 10*time.Second)
			})
		})
		ct.Emit("inner-first", err)
		oe, _ := outer.Expired()
		ie, _ := inner.Expired()
		ct.Emit("end", "outer", oe, "inner", ie)
		return nil
	})
}
