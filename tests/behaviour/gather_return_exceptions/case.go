// gather_return_exceptions in Go (case.py). The children finish in asyncio's order
// (ct.Turns: d, b, c, a); gather's results come in argument order whatever that order.
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		turns := ct.NewTurns(4)
		var fs []*weft.Future
		for _, c := range []struct {
			name string
			turn int
			fail error
		}{{"a", 3, nil}, {"b", 1, weft.ErrIO}, {"c", 2, nil}, {"d", 0, weft.ErrPerm}} {
			t, err := l.Spawn("", func(ctx context.Context) (any, error) {
				turns.Wait(c.turn)
				defer turns.Done(c.turn)
				if err := l.Sleep(ctx, 0); err != nil {
					return nil, err
				}
				ct.Emit("child", c.name, "ends")
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
		results, err := l.Gather(ctx, true, fs...)
		if err != nil {
			return err
		}
		ct.Emit(append([]any{"results"}, results...)...)
		return nil
	})
}
