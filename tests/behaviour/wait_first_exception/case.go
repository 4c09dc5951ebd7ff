// wait_first_exception in Go (case.py). a finishes, then b fails once a is done, and c
// waits until the main task has seen the first wait return (asyncio's step counts).
package main

import (
	"context"
	"sort"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func names(ts map[*weft.Future]*weft.Task, fs []*weft.Future) []any {
	var ns []string
	for _, f := range fs {
		n, _ := ts[f].Name()
		ns = append(ns, n)
	}
	sort.Strings(ns)
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = n
	}
	return out
}

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		ts := map[*weft.Future]*weft.Task{}
		spawn := func(name string, after <-chan struct{}, fail error) (*weft.Task, error) {
			t, err := l.Spawn(name, func(ctx context.Context) (any, error) {
				if after != nil {
					<-after
				}
				if err := l.Sleep(ctx, 0); err != nil {
					return nil, err
				}
				return name, fail
			})
			if err == nil {
				ts[t.Future] = t
			}
			return t, err
		}
		later := make(chan struct{})
		a, err := spawn("a", nil, nil)
		if err != nil {
			return err
		}
		b, err := spawn("b", a.Done(), weft.ErrIO)
		if err != nil {
			return err
		}
		c, err := spawn("c", later, nil)
		if err != nil {
			return err
		}
		done, pending, err := l.Wait(ctx, []*weft.Future{a.Future, b.Future, c.Future}, weft.FirstException, -1)
		if err != nil {
			return err
		}
		_, berr := b.Await(ctx)
		ct.Emit(append(append(append([]any{"done"}, names(ts, done)...), "pending"),
			append(names(ts, pending), "error", berr)...)...)
		close(later)
		if _, _, err := l.Wait(ctx, pending, weft.AllCompleted, -1); err != nil {
			return err
		}
		x, err := spawn("x", nil, nil)
		if err != nil {
			return err
		}
		y, err := spawn("y", nil, nil)
		if err != nil {
			return err
		}
		done, pending, err = l.Wait(ctx, []*weft.Future{x.Future, y.Future}, weft.FirstException, -1)
		if err != nil {
			return err
		}
		ct.Emit(append(append([]any{"no-error", "done"}, names(ts, done)...), "pending", len(pending))...)
		return nil
	})
}
