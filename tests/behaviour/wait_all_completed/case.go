// wait_all_completed in Go (case.py). The tasks finish in asyncio's order (ct.Turns: b,
// c, a); wait returns once every one has.
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		turns := ct.NewTurns(3)
		var fs []*weft.Future
		for _, c := range []struct {
			name string
			turn int
			fail error
		}{{"a", 2, nil}, {"b", 0, weft.ErrPerm}, {"c", 1, nil}} {
			t, err := l.Spawn("", func(ctx context.Context) (any, error) {
				turns.Wait(c.turn)
				defer turns.Done(c.turn)
				if err := l.Sleep(ctx, 0); err != nil {
					return nil, err
				}
				ct.Emit("finished", c.name)
				if c.fail != nil {
					return nil, c.fail
				}
				return c.name, nil
			})
			if err != nil {
				return err
			}
			fs = append(fs, t.Future)
		}
		done, pending, err := l.Wait(ctx, fs, weft.AllCompleted, -1)
		if err != nil {
			return err
		}
		ct.Emit("done", len(done), "pending", len(pending))
		out := []any{"outcomes"}
		for _, f := range fs {
			v, err := f.Await(ctx)
			if err != nil {
				out = append(out, err)
			} else {
				out = append(out, v)
			}
		}
		ct.Emit(out...)
		return nil
	})
}
