package weft

import (
	"context"
	"errors"
	"testing"
	"time"

	"weft.dev/weft/internal/raw"
)

// cancelMessage is the message an ErrCancelled carries ("" for none).
func cancelMessage(t *testing.T, err error) string {
	t.Helper()
	var we *Error
	if !errors.As(err, &we) || we.Code != ErrCancelled.Code {
		t.Fatalf("not a cancellation: %v", err)
	}
	return we.Message
}

// asyncio's fut.cancel(msg): the awaiter's CancelledError carries msg, a second cancel
// is refused and keeps the first message (future_cancel_message in C and Python).
func TestFutureCancelWithMessage(t *testing.T) {
	l := newLoop(t)
	f, err := l.SleepFuture(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := f.CancelWithMessage("stop now"); !ok || err != nil {
		t.Fatalf("cancel: %v %v", ok, err)
	}
	if ok, err := f.CancelWithMessage("other"); ok || err != nil {
		t.Fatalf("cancel again: %v %v", ok, err)
	}
	_, err = f.Await(context.Background())
	if got := cancelMessage(t, err); got != "stop now" {
		t.Fatalf("message %q", got)
	}
	g, _ := l.SleepFuture(time.Hour)
	if ok, _ := g.Cancel(); !ok {
		t.Fatal("plain cancel refused")
	}
	if _, err := g.Await(context.Background()); cancelMessage(t, err) != "" {
		t.Fatalf("a plain cancel has no message: %v", err)
	}
	var nilFuture *Future
	if _, err := nilFuture.CancelWithMessage("x"); !errors.Is(err, ErrInval) {
		t.Fatal(err)
	}
}

// asyncio's task.cancel(msg) travels down the awaits: the function's context has the
// message as its cause, what it awaits is cancelled with it, and the task ends with it.
func TestTaskCancelWithMessage(t *testing.T) {
	l := newLoop(t)
	started := make(chan struct{})
	causes := make(chan error, 2)
	inner, _ := l.Spawn("inner", func(ctx context.Context) (any, error) {
		close(started)
		err := l.Sleep(ctx, time.Hour)
		causes <- context.Cause(ctx)
		return nil, err
	})
	outerStarted := make(chan struct{})
	outer, _ := l.Spawn("outer", func(ctx context.Context) (any, error) {
		close(outerStarted)
		// Whether the cancellation comes before or during this wait, it reaches inner.
		_, err := inner.Await(ctx)
		causes <- err
		return nil, ctx.Err() // a bare context.Canceled: the task's message stands
	})
	<-started
	<-outerStarted
	if ok, err := outer.CancelWithMessage("shutting down"); !ok || err != nil {
		t.Fatalf("cancel: %v %v", ok, err)
	}
	if got := cancelMessage(t, <-causes); got != "shutting down" {
		t.Fatalf("inner's context cause %q", got)
	}
	if got := cancelMessage(t, <-causes); got != "shutting down" {
		t.Fatalf("outer's await of inner %q", got)
	}
	_, err := outer.Await(context.Background())
	if got := cancelMessage(t, err); got != "shutting down" {
		t.Fatalf("outer %q", got)
	}
	_, err = inner.Await(context.Background())
	if got := cancelMessage(t, err); got != "shutting down" {
		t.Fatalf("inner %q", got)
	}
}

// Cancelled before its first step, the function never runs and the task still ends with
// the message (asyncio: a task cancelled before it starts raises CancelledError(msg)).
func TestTaskCancelWithMessageBeforeStart(t *testing.T) {
	l := newLoop(t)
	ran := make(chan struct{}, 1)
	task, err := l.spawn("", func(context.Context) (any, error) { ran <- struct{}{}; return nil, nil }, func(p taskPtr) error {
		raw.Weft_task_cancel(p, "early") // on the loop, before the first step is due
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = task.Await(context.Background())
	if got := cancelMessage(t, err); got != "early" {
		t.Fatalf("message %q", got)
	}
	select {
	case <-ran:
		t.Fatal("the function ran")
	default:
	}
}
