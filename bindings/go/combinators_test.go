package weft

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestGather(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	a, _ := l.SleepFuture(time.Millisecond)
	b, _ := l.SleepFuture(2 * time.Millisecond)
	res, err := l.Gather(ctx, false, a, b)
	if err != nil || len(res) != 2 || res[0] != nil || res[1] != nil {
		t.Fatalf("gather: %v %v", res, err)
	}
	// Cancelling the gather cancels its pending inputs.
	c, _ := l.SleepFuture(time.Hour)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Gather(cctx, false, c); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled gather: %v", err)
	}
	if _, err := c.Await(ctx); !errors.Is(err, ErrCancelled) {
		t.Fatalf("input of a cancelled gather: %v", err)
	}
	// With return_exceptions the cancelled input's slot holds its error.
	d, _ := l.SleepFuture(time.Hour)
	e, _ := l.SleepFuture(time.Millisecond)
	_, _ = d.Cancel()
	res, err = l.Gather(ctx, true, d, e)
	if err != nil || !errors.Is(res[0].(error), ErrCancelled) || res[1] != nil {
		t.Fatalf("return_exceptions: %v %v", res, err)
	}
	other := newLoop(t)
	f, _ := other.SleepFuture(time.Millisecond)
	if _, err := l.Gather(ctx, false, f); !errors.Is(err, ErrInval) {
		t.Fatalf("a future of another loop: %v", err)
	}
	if _, err := l.Gather(ctx, false, nil); !errors.Is(err, ErrInval) {
		t.Fatalf("nil future: %v", err)
	}
}

func TestWaitForAndShield(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	slow, _ := l.SleepFuture(time.Hour)
	if _, err := l.WaitFor(ctx, slow, time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("wait_for: %v", err)
	}
	if _, err := slow.Await(ctx); !errors.Is(err, ErrCancelled) {
		t.Fatalf("wait_for's input after the timeout: %v", err)
	}
	fast, _ := l.SleepFuture(time.Millisecond)
	if _, err := l.WaitFor(ctx, fast, time.Hour); err != nil {
		t.Fatal(err)
	}
	inner, _ := l.SleepFuture(5 * time.Millisecond)
	outer, err := l.Shield(inner)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := outer.Cancel(); !ok {
		t.Fatal("shield not cancelled")
	}
	if _, err := inner.Await(ctx); err != nil {
		t.Fatalf("shielded future: %v", err)
	}
}

func TestWait(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	a, _ := l.SleepFuture(time.Millisecond)
	b, _ := l.SleepFuture(time.Hour)
	done, pending, err := l.Wait(ctx, []*Future{a, b}, FirstCompleted, -1)
	if err != nil || len(done) != 1 || done[0] != a || len(pending) != 1 || pending[0] != b {
		t.Fatalf("wait: %v %v %v", done, pending, err)
	}
	done, pending, err = l.Wait(ctx, []*Future{b}, AllCompleted, time.Millisecond)
	if err != nil || len(done) != 0 || len(pending) != 1 {
		t.Fatalf("wait with a timeout: %v %v %v", done, pending, err)
	}
	if _, _, err := l.Wait(ctx, nil, AllCompleted, -1); !errors.Is(err, ErrInval) {
		t.Fatalf("wait on nothing: %v", err)
	}
}

func TestAsCompleted(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	slow, _ := l.SleepFuture(20 * time.Millisecond)
	fast, _ := l.SleepFuture(time.Millisecond)
	it, err := l.AsCompleted([]*Future{slow, fast}, -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []*Future{fast, slow} {
		got, err := it.Next(ctx)
		if err != nil || got != want {
			t.Fatalf("next: %v %v", got, err)
		}
	}
	if _, err := it.Next(ctx); !errors.Is(err, ErrEOF) {
		t.Fatalf("after the last input: %v", err)
	}
	never, _ := l.SleepFuture(time.Hour)
	it, _ = l.AsCompleted([]*Future{never}, time.Millisecond)
	if _, err := it.Next(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("timeout: %v", err)
	}
	var nilIt *AsCompleted
	if _, err := nilIt.Next(ctx); !errors.Is(err, ErrInval) {
		t.Fatal(err)
	}
}
