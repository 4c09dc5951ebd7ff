// bounded_semaphore_over_release in Go (case.py).
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		sem, err := l.NewBoundedSemaphore(1)
		if err != nil {
			return err
		}
		if err := sem.Acquire(ctx); err != nil {
			return err
		}
		if err := sem.Release(); err != nil {
			return err
		}
		if err := sem.Release(); err != nil {
			ct.Emit("over-release", err)
		} else {
			ct.Emit("over-release", "accepted")
		}
		err = sem.Acquire(ctx)
		locked, _ := sem.Locked()
		ct.Emit("acquire", err == nil, "locked", locked)
		return sem.Release()
	})
}
