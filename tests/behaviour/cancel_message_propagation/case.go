// cancel_message_propagation in Go (case.py): Task.CancelWithMessage; each level's
// function learns of it through its context, whose cause carries the message, and what it
// awaits is cancelled with that message.
package main

import (
	"context"
	"errors"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

// msg is the cancellation's message, quoted, or none.
func msg(err error) string {
	var we *weft.Error
	if errors.As(err, &we) && we.Message != "" {
		return ct.Q([]byte(we.Message))
	}
	return "none"
}

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		innerRuns := make(chan struct{})
		inner := func(ctx context.Context) (any, error) {
			close(innerRuns)
			err := l.Sleep(ctx, 10e9)
			if errors.Is(err, weft.ErrCancelled) {
				ct.Emit("inner", err, msg(err))
			}
			return nil, err
		}
		outer := func(ctx context.Context) (any, error) {
			t, err := l.Spawn("", inner)
			if err != nil {
				return nil, err
			}
			_, err = t.Await(ctx)
			if errors.Is(err, weft.ErrCancelled) {
				ct.Emit("outer", err, msg(err))
			}
			return nil, err
		}
		t, err := l.Spawn("", outer)
		if err != nil {
			return err
		}
		// asyncio's two sleep(0)s let both functions start; goroutines say so instead (a
		// cancellation before a function starts would keep it from running at all). Where
		// each then is does not matter: a cancelled context cancels what it awaits next.
		<-innerRuns
		if _, err := t.CancelWithMessage("shutting down"); err != nil {
			return err
		}
		if _, err := t.Await(ctx); errors.Is(err, weft.ErrCancelled) {
			ct.Emit("main", err, msg(err))
		}
		return nil
	})
}
