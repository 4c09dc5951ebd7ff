// timeout_reschedule in Go (case.py).
package main

import (
	"context"
	"errors"
	"math"
	"time"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func when(t *weft.TimeoutScope) any {
	w, _ := t.When()
	if math.IsInf(w, 1) {
		return nil
	}
	return w
}

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		var cm *weft.TimeoutScope
		err := weft.Timeout(ctx, 20*time.Millisecond, func(ctx context.Context, t *weft.TimeoutScope) error {
			cm = t
			now, _ := l.Time()
			t.Reschedule(now + 10)
			if err := l.Sleep(ctx, 50*time.Millisecond); err != nil {
				return err
			}
			ct.Emit("later", "body-finished")
			return nil
		})
		if err != nil {
			return err
		}
		expired, _ := cm.Expired()
		ct.Emit("later", "expired", expired)

		err = weft.Timeout(ctx, 20*time.Millisecond, func(ctx context.Context, t *weft.TimeoutScope) error {
			cm = t
			t.Reschedule(math.Inf(1))
			ct.Emit("disarmed", "when", when(t))
			return l.Sleep(ctx, 50*time.Millisecond)
		})
		if err != nil {
			return err
		}
		expired, _ = cm.Expired()
		ct.Emit("disarmed", "expired", expired)

		err = weft.Timeout(ctx, 10*time.Second, func(ctx context.Context, t *weft.TimeoutScope) error {
			cm = t
			if err := l.Sleep(ctx, 0); err != nil {
				return err
			}
			now, _ := l.Time()
			t.Reschedule(now - 1)
			ct.Emit("past", "rescheduled")
			return l.Sleep(ctx, 10*time.Second)
		})
		if !errors.Is(err, weft.ErrTimeout) {
			return err
		}
		expired, _ = cm.Expired()
		ct.Emit("past", err, "expired", expired)
		now, _ := l.Time()
		if err := cm.Reschedule(now + 10); err != nil {
			ct.Emit("reschedule-after-expiry", err)
		}
		return nil
	})
}
