package weft

import (
	"context"
	"time"

	"weft.dev/weft/internal/raw"
)

func seconds(d time.Duration) float64 { return d.Seconds() }

// SleepFuture is the core's sleep: a future done after d.
func (l *Loop) SleepFuture(d time.Duration) (*Future, error) {
	return l.start(func() (futPtr, int) {
		var f futPtr
		rc := raw.Weft_sleep(l.ptr, seconds(d), &f)
		return f, rc
	}, resultOf)
}

// Sleep waits d on the loop's clock, or until ctx ends.
func (l *Loop) Sleep(ctx context.Context, d time.Duration) error {
	f, err := l.SleepFuture(d)
	if err != nil {
		return err
	}
	_, err = f.Await(ctx)
	return err
}
