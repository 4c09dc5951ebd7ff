package weft

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Close is asyncio.run's end: the unfinished tasks are cancelled and waited for, their
// clean-up may still use the loop, and only then does the loop close.
func TestCloseCancelsLeftoverTasks(t *testing.T) {
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	running := make(chan struct{})
	var cleanedUp, caught error
	task, err := l.Spawn("leftover", func(ctx context.Context) (any, error) {
		close(running)
		err := l.Sleep(ctx, time.Hour)
		caught = err
		// Clean-up that waits for the loop, as asyncio's `await` in an except block.
		cleanedUp = l.Sleep(context.WithoutCancel(ctx), 0)
		return nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	swallower, _ := l.Spawn("swallower", func(ctx context.Context) (any, error) {
		<-ctx.Done()
		return "kept going", nil
	})
	awaited := make(chan error, 1)
	go func() { _, err := task.Await(context.Background()); awaited <- err }()
	<-running
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Close returned after the functions did: what they recorded is visible.
	if !errors.Is(caught, ErrCancelled) || cleanedUp != nil {
		t.Fatalf("leftover saw %v, its clean-up %v", caught, cleanedUp)
	}
	if err := <-awaited; !errors.Is(err, ErrCancelled) || errors.Is(err, ErrClosed) {
		t.Fatalf("the task's awaiter: %v", err)
	}
	// A task that ignores the cancellation ends with its own outcome (asyncio.run gathers
	// the tasks with return_exceptions).
	if v, err := swallower.Await(context.Background()); v != "kept going" || err != nil {
		t.Fatalf("swallower: %v %v", v, err)
	}
	if _, err := l.Spawn("", func(context.Context) (any, error) { return nil, nil }); !errors.Is(err, ErrLoopClosed) {
		t.Fatalf("spawn after Close: %v", err)
	}
}

// A Close while another waits for the tasks returns once the loop is closed, not before.
func TestCloseTwiceWhileDraining(t *testing.T) {
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	running, cancelled := make(chan struct{}), make(chan struct{})
	_, _ = l.Spawn("", func(ctx context.Context) (any, error) {
		close(running)
		<-ctx.Done()
		close(cancelled)
		<-release
		return nil, ctx.Err()
	})
	<-running
	first := make(chan error, 1)
	go func() { first <- l.Close() }()
	<-cancelled // the first Close is waiting for this task
	second := make(chan error, 1)
	go func() { second <- l.Close() }()
	close(release)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if _, err := l.Spawn("", func(context.Context) (any, error) { return nil, nil }); !errors.Is(err, ErrLoopClosed) {
		t.Fatalf("the second Close returned before the loop closed: %v", err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}
