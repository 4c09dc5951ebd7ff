// event_set_clear in Go (case.py). The waiters print "waits" one after another, as asyncio
// starts them, and the waiters woken together print in asyncio's order, after the main
// task's line (ct.Turns).
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		ev, err := l.NewEvent()
		if err != nil {
			return err
		}
		waiter := func(name string, turns ct.Turns, turn int) (*weft.Task, error) {
			waiting := make(chan struct{})
			t, err := l.Spawn("", func(ctx context.Context) (any, error) {
				ct.Emit("waits", name)
				close(waiting)
				err := ev.Wait(ctx)
				turns.Wait(turn)
				defer turns.Done(turn)
				if err != nil {
					return nil, err
				}
				ct.Emit("woken", name)
				return nil, nil
			})
			if err == nil {
				<-waiting
			}
			return t, err
		}
		turns := ct.NewTurns(4) // main's is_set, then a, b, c
		var tasks []*weft.Future
		for i, name := range []string{"a", "b", "c"} {
			t, err := waiter(name, turns, i+1)
			if err != nil {
				return err
			}
			tasks = append(tasks, t.Future)
		}
		ct.Emit("set")
		if err := ev.Set(); err != nil {
			return err
		}
		set, _ := ev.IsSet()
		ct.Emit("is_set", set)
		turns.Done(0)
		if _, err := l.Gather(ctx, false, tasks...); err != nil {
			return err
		}
		err = ev.Wait(ctx)
		ct.Emit("wait-on-set", err == nil)
		if err := ev.Clear(); err != nil {
			return err
		}
		late, err := waiter("late", ct.NewTurns(1), 0)
		if err != nil {
			return err
		}
		ct.Emit("late", "done", ct.IsDone(late.Future))
		if err := ev.Set(); err != nil {
			return err
		}
		_, err = late.Await(ctx)
		return err
	})
}
