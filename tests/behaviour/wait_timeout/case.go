// wait_timeout in Go (case.py). slow waits on a gate (an Event standing in for the bare
// future); the timeout is 50 ms, as case.py's.
package main

import (
	"context"
	"time"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		fast, err := l.Spawn("", func(ctx context.Context) (any, error) { return "fast", l.Sleep(ctx, 0) })
		if err != nil {
			return err
		}
		gate, err := l.NewEvent()
		if err != nil {
			return err
		}
		slow, err := l.Spawn("", func(ctx context.Context) (any, error) { return "slow", gate.Wait(ctx) })
		if err != nil {
			return err
		}
		done, pending, err := l.Wait(ctx, []*weft.Future{fast.Future, slow.Future}, weft.AllCompleted, 50*time.Millisecond)
		if err != nil {
			return err
		}
		in := func(fs []*weft.Future, f *weft.Future) bool {
			for _, x := range fs {
				if x == f {
					return true
				}
			}
			return false
		}
		ct.Emit("done", len(done), in(done, fast.Future), "pending", len(pending), in(pending, slow.Future))
		ct.Emit("slow-cancelled", ct.Cancelled(slow.Future))
		if err := gate.Set(); err != nil {
			return err
		}
		v, err := slow.Await(ctx)
		if err != nil {
			return err
		}
		ct.Emit("slow", v)
		return nil
	})
}
