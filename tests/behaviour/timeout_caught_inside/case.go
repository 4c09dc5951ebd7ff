// timeout_caught_inside in Go (case.py). A Go context stays cancelled once it is: the body
// that caught the cancellation goes on waiting under context.WithoutCancel, where the
// coroutine in case.py simply awaits again.
package main

import (
	"context"
	"time"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		var cm *weft.TimeoutScope
		err := weft.Timeout(ctx, 50*time.Millisecond, func(ctx context.Context, t *weft.TimeoutScope) error {
			cm = t
			if err := l.Sleep(ctx, 10*time.Second); err != nil {
				ct.Emit("caught", err)
			}
			if err := l.Sleep(context.WithoutCancel(ctx), 0); err != nil {
				return err
			}
			ct.Emit("body", "continues")
			return nil
		})
		if err != nil {
			return err
		}
		expired, _ := cm.Expired()
		n, _ := weft.CurrentTask(ctx).Cancelling()
		ct.Emit("block-ended", "expired", expired, "cancelling", n)
		return nil
	})
}
