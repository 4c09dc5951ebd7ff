package weft

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"weft.dev/weft/internal/raw"
)

func TestTaskResultAndError(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	task, err := l.Spawn("adder", func(ctx context.Context) (any, error) {
		if err := l.Sleep(ctx, time.Millisecond); err != nil {
			return nil, err
		}
		return 42, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := task.Name(); name != "adder" {
		t.Fatalf("name %q", name)
	}
	v, err := task.Await(ctx)
	if err != nil || v != 42 {
		t.Fatalf("result %v %v", v, err)
	}
	mine := errors.New("mine")
	failing, _ := l.Spawn("", func(context.Context) (any, error) { return nil, mine })
	if _, err := failing.Await(ctx); err != mine {
		t.Fatalf("the function's own error: %v", err)
	}
	coded, _ := l.Spawn("", func(context.Context) (any, error) { return nil, ErrQueueFull })
	if _, err := coded.Await(ctx); !errors.Is(err, ErrQueueFull) {
		t.Fatal(err)
	}
	if _, err := l.Spawn("", nil); !errors.Is(err, ErrInval) {
		t.Fatal(err)
	}
}

// Cancelling the task cancels the function's context; letting that through ends the task
// cancelled, and gather over it sees the cancellation.
func TestTaskCancel(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	started := make(chan struct{})
	task, _ := l.Spawn("sleeper", func(ctx context.Context) (any, error) {
		close(started)
		return nil, l.Sleep(ctx, time.Hour)
	})
	<-started
	if ok, err := task.Cancel(); !ok || err != nil {
		t.Fatalf("cancel: %v %v", ok, err)
	}
	if _, err := task.Await(ctx); !errors.Is(err, ErrCancelled) {
		t.Fatalf("cancelled task: %v", err)
	}
	// A function that handles the cancellation and returns a value: the task finishes.
	stubborn, _ := l.Spawn("", func(ctx context.Context) (any, error) {
		<-ctx.Done()
		return "handled", nil
	})
	_, _ = stubborn.Cancel()
	if v, err := stubborn.Await(ctx); err != nil || v != "handled" {
		t.Fatalf("handled cancellation: %v %v", v, err)
	}
	// Tasks go into the core's combinators like any future.
	a, _ := l.Spawn("", func(context.Context) (any, error) { return 1, nil })
	b, _ := l.Spawn("", func(context.Context) (any, error) { return 2, nil })
	res, err := l.Gather(ctx, false, a.Future, b.Future)
	if err != nil || res[0] != 1 || res[1] != 2 {
		t.Fatalf("gather of tasks: %v %v", res, err)
	}
}

// A task still running when its loop closes sees its context cancelled.
func TestTaskLoopClosed(t *testing.T) {
	l, _ := NewLoop()
	ended := make(chan error, 1)
	started := make(chan struct{})
	task, _ := l.Spawn("", func(ctx context.Context) (any, error) {
		close(started)
		<-ctx.Done()
		ended <- ctx.Err()
		return nil, ctx.Err()
	})
	<-started
	_ = l.Close()
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if _, err := task.Await(context.Background()); err == nil {
		t.Fatal("a task of a closed loop finished")
	}
}

// A task ends in the loop callback that learns its function returned, as an asyncio task
// ends in the step where its coroutine returns, not on a later iteration.
func TestTaskEndsWhereItsFunctionReturns(t *testing.T) {
	l := newLoop(t)
	for _, fail := range []bool{false, true} {
		started, release := make(chan struct{}), make(chan struct{})
		task, _ := l.Spawn("", func(context.Context) (any, error) {
			close(started)
			<-release
			if fail {
				return nil, ErrQueueFull
			}
			return 7, nil
		})
		<-started
		doneThen := make(chan bool, 1)
		err := l.call(func() error {
			close(release)
			// The loop waits here for the function's end to be posted, so that the
			// check posted next runs right after it, with no iteration between.
			deadline := time.Now().Add(time.Minute)
			for {
				l.mu.Lock()
				n := len(l.queue)
				l.mu.Unlock()
				if n > 0 {
					break
				}
				if time.Now().After(deadline) {
					return errors.New("the function's end never reached the loop")
				}
				runtime.Gosched()
			}
			return l.post(func() { doneThen <- raw.Weft_future_done(raw.Weft_task_future(task.ptr)) == 1 })
		})
		if err != nil {
			t.Fatal(err)
		}
		if !<-doneThen {
			t.Fatal("the task was still pending after its function's end was handled")
		}
		v, err := task.Await(context.Background())
		if fail && !errors.Is(err, ErrQueueFull) || !fail && (err != nil || v != 7) {
			t.Fatalf("outcome %v %v", v, err)
		}
	}
}
