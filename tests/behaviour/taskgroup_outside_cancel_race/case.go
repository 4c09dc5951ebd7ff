// taskgroup_outside_cancel_race in Go (case.py). The gate is set, and the parent cancelled,
// before the child's function has gone on from its wait: the child then fails while the
// group is already being cancelled, and its error is not lost. The parent runs once the
// child is in the group and waiting (asyncio's two steps).
package main

import (
	"context"
	"errors"
	"time"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		gate, err := l.NewEvent()
		if err != nil {
			return err
		}
		waiting, release := make(chan struct{}), make(chan struct{})
		p, err := l.Spawn("", func(ctx context.Context) (any, error) {
			err := weft.RunTaskGroup(ctx, func(ctx context.Context, tg *weft.TaskGroup) error {
				if _, err := tg.Spawn("", func(ctx context.Context) (any, error) {
					close(waiting)
					err := gate.Wait(ctx)
					<-release // the parent's cancellation is requested first
					if err != nil {
						return nil, err
					}
					ct.Emit("child", "raises")
					return nil, weft.ErrIO
				}); err != nil {
					return err
				}
				return l.Sleep(ctx, 10*time.Second)
			})
			if errors.Is(err, weft.ErrCancelled) {
				ct.Emit("parent", "cancelled", err)
			} else if err != nil {
				n, _ := weft.CurrentTask(ctx).Cancelling()
				ct.Emit("parent", "group", err, "cancelling", n)
			}
			return nil, err
		})
		if err != nil {
			return err
		}
		<-waiting
		if err := gate.Set(); err != nil {
			return err
		}
		if _, err := p.Cancel(); err != nil {
			return err
		}
		close(release)
		_, err = p.Await(ctx)
		if errors.Is(err, weft.ErrCancelled) {
			ct.Emit("main", "cancelled", err)
		} else {
			ct.Emit("main", "group", err)
		}
		ct.Emit("parent-task", "cancelled", ct.Cancelled(p.Future))
		return nil
	})
}
