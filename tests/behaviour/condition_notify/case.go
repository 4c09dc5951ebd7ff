// condition_notify in Go (case.py). The waiters start one after another: the main task
// takes the lock after each has printed, which it can only once that waiter's Wait has
// released it, so the waiters queue in asyncio's order. The waiters woken together print
// in that order (ct.Turns).
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		cond, err := l.NewCondition(nil)
		if err != nil {
			return err
		}
		names := []string{"a", "b", "c", "d", "e"}
		turns := ct.NewTurns(len(names))
		var tasks []*weft.Future
		for i, name := range names {
			waiting := make(chan struct{})
			t, err := l.Spawn("", func(ctx context.Context) (any, error) {
				if err := cond.Lock(ctx); err != nil {
					return nil, err
				}
				ct.Emit("waits", name)
				close(waiting)
				err := cond.Wait(ctx)
				turns.Wait(i)
				defer turns.Done(i)
				if err != nil {
					return nil, err
				}
				locked, _ := cond.Locker().Locked()
				ct.Emit("woken", name, "holds-lock", locked)
				err = l.Sleep(ctx, 0)
				if uerr := cond.Unlock(); err == nil {
					err = uerr
				}
				return nil, err
			})
			if err != nil {
				return err
			}
			tasks = append(tasks, t.Future)
			<-waiting
			if err := cond.Lock(ctx); err != nil {
				return err
			}
			if err := cond.Unlock(); err != nil {
				return err
			}
		}
		if err := cond.Lock(ctx); err != nil {
			return err
		}
		ct.Emit("notify", 2)
		if err := cond.Notify(2); err != nil {
			return err
		}
		if err := cond.Unlock(); err != nil {
			return err
		}
		if _, err := l.Gather(ctx, false, tasks[:2]...); err != nil {
			return err
		}
		if err := cond.Lock(ctx); err != nil {
			return err
		}
		ct.Emit("notify_all")
		if err := cond.NotifyAll(); err != nil {
			return err
		}
		if err := cond.Unlock(); err != nil {
			return err
		}
		if _, err := l.Gather(ctx, false, tasks...); err != nil {
			return err
		}
		if err := cond.Notify(1); err != nil {
			ct.Emit("notify-unlocked", err)
		}
		return nil
	})
}
