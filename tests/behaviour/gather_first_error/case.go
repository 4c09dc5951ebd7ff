// gather_first_error in Go (case.py). The children finish in asyncio's order: b, then c
// once b's task is done (so b's error is the first), then a once the main task has
// printed the states; the main task prints once c, which asyncio finishes in the iteration
// that wakes main, is done.
package main

import (
	"context"
	"errors"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		printed := make(chan struct{})
		var after []<-chan struct{} // a: the states printed; b: nothing; c: b done
		child := func(name string, fail error) (*weft.Task, error) {
			wait := after[len(after)-1]
			return l.Spawn("", func(ctx context.Context) (any, error) {
				if wait != nil {
					<-wait
				}
				if err := l.Sleep(ctx, 0); err != nil {
					ct.Emit("child", name, err)
					return nil, err
				}
				ct.Emit("child", name, "ends")
				if fail != nil {
					return nil, fail
				}
				return name, nil
			})
		}
		var tasks []*weft.Task
		for _, c := range []struct {
			name string
			fail error
		}{{"a", nil}, {"b", weft.ErrIO}, {"c", weft.ErrPerm}} {
			switch c.name {
			case "a":
				after = append(after, printed)
			case "b":
				after = append(after, nil)
			default:
				after = append(after, tasks[1].Done())
			}
			t, err := child(c.name, c.fail)
			if err != nil {
				return err
			}
			tasks = append(tasks, t)
		}
		_, err := l.Gather(ctx, false, tasks[0].Future, tasks[1].Future, tasks[2].Future)
		<-tasks[2].Done()
		ct.Emit("gather", err)
		states := []any{"states"}
		for _, t := range tasks {
			if ct.IsDone(t.Future) {
				states = append(states, "done")
			} else {
				states = append(states, "pending")
			}
		}
		ct.Emit(states...)
		close(printed)
		a, err := tasks[0].Await(ctx)
		if err != nil {
			return err
		}
		_, cerr := tasks[2].Await(ctx)
		if cerr == nil {
			return errors.New("c did not fail")
		}
		ct.Emit("a", a, "c", cerr)
		return nil
	})
}
