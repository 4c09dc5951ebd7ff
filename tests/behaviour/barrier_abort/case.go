// barrier_abort in Go (case.py). The parties join one after another (the case waits for
// each to be counted by NWaiting, where asyncio starts them in order), and the parties
// woken together print in asyncio's order (ct.Turns).
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		barrier, err := l.NewBarrier(3)
		if err != nil {
			return err
		}
		party := func(ctx context.Context, name string, turns ct.Turns, turn int) {
			ct.Emit("arrives", name)
			index, err := barrier.Wait(ctx)
			if turns != nil {
				turns.Wait(turn)
				defer turns.Done(turn)
			}
			if err != nil {
				ct.Emit("broken", name, err)
			} else {
				ct.Emit("passes", name, index)
			}
		}
		// spawn starts the parties in order, each counted before the next arrives.
		spawn := func(names []string, turns ct.Turns, order []int) ([]*weft.Future, error) {
			var fs []*weft.Future
			for i, name := range names {
				t, err := l.Spawn("", func(ctx context.Context) (any, error) {
					party(ctx, name, turns, order[i])
					return nil, nil
				})
				if err != nil {
					return nil, err
				}
				fs = append(fs, t.Future)
				if i == len(names)-1 {
					break
				}
				if err := ct.Until(ctx, l, func() (bool, error) {
					n, err := barrier.NWaiting()
					return n == i+1, err
				}); err != nil {
					return nil, err
				}
			}
			return fs, nil
		}
		// asyncio: the last to arrive passes first, then the others in arrival order.
		fs, err := spawn([]string{"a", "b", "c"}, ct.NewTurns(3), []int{1, 2, 0})
		if err != nil {
			return err
		}
		if _, err := l.Gather(ctx, false, fs...); err != nil {
			return err
		}
		n, _ := barrier.NWaiting()
		broken, _ := barrier.Broken()
		ct.Emit("n_waiting", n, "broken", broken)

		turns := ct.NewTurns(2)
		fs, err = spawn([]string{"x", "y"}, turns, []int{0, 1})
		if err != nil {
			return err
		}
		if err := ct.Until(ctx, l, func() (bool, error) {
			n, err := barrier.NWaiting()
			return n == 2, err
		}); err != nil {
			return err
		}
		n, _ = barrier.NWaiting()
		ct.Emit("n_waiting", n)
		if err := barrier.Abort(ctx); err != nil {
			return err
		}
		if _, err := l.Gather(ctx, false, fs...); err != nil {
			return err
		}
		broken, _ = barrier.Broken()
		ct.Emit("broken", broken)
		party(ctx, "late", nil, 0)
		return nil
	})
}
