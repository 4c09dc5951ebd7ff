// wait_first_completed in Go (case.py). b finishes first; a and c wait until the main task
// has seen the first wait return (asyncio's step counts put them later).
package main

import (
	"context"
	"sort"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		later := make(chan struct{})
		names := map[*weft.Future]string{}
		var fs []*weft.Future
		for _, name := range []string{"a", "b", "c"} {
			t, err := l.Spawn("", func(ctx context.Context) (any, error) {
				if name != "b" {
					<-later
				}
				return name, l.Sleep(ctx, 0)
			})
			if err != nil {
				return err
			}
			names[t.Future] = name
			fs = append(fs, t.Future)
		}
		results := func(fs []*weft.Future) ([]any, error) {
			var rs []string
			for _, f := range fs {
				v, err := f.Await(ctx)
				if err != nil {
					return nil, err
				}
				rs = append(rs, v.(string))
			}
			sort.Strings(rs)
			out := make([]any, len(rs))
			for i, r := range rs {
				out[i] = r
			}
			return out, nil
		}
		done, pending, err := l.Wait(ctx, fs, weft.FirstCompleted, -1)
		if err != nil {
			return err
		}
		rs, err := results(done)
		if err != nil {
			return err
		}
		ct.Emit(append([]any{"done"}, rs...)...)
		var pn []string
		for _, f := range pending {
			pn = append(pn, names[f])
		}
		sort.Strings(pn)
		line := []any{"pending"}
		for _, n := range pn {
			line = append(line, n)
		}
		ct.Emit(line...)
		close(later)
		done, pending, err = l.Wait(ctx, pending, weft.AllCompleted, -1)
		if err != nil {
			return err
		}
		rs, err = results(done)
		if err != nil {
			return err
		}
		ct.Emit(append(append([]any{"then-done"}, rs...), "pending", len(pending))...)
		return nil
	})
}
