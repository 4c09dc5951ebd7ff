package weft

import (
	"context"
	"errors"
	"runtime/cgo"
	"testing"
	"time"

	"weft.dev/weft/internal/raw"
)

// isExpiry reports whether err is an Await's deadline: ErrTimeout and DeadlineExceeded.
func isExpiry(err error) bool {
	return errors.Is(err, ErrTimeout) && errors.Is(err, context.DeadlineExceeded)
}

// newPendingFuture is a pending future of the core's own on l, as Go sees it too. Loop
// goroutine only (inside l.call).
func newPendingFuture(l *Loop) (p futPtr, f *Future, err error) {
	if rc := raw.Weft_future_new(l.ptr, &p); rc != 0 {
		return p, nil, codeError(rc)
	}
	return p, l.adopt(p, resultOf), nil
}

func TestAwaitDeadlineBeforeFuture(t *testing.T) {
	l := newLoop(t)
	f := sleepFuture(t, l, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	_, err := f.Await(ctx)
	// The expiry cancelled the future, as asyncio.wait_for's does.
	if !isExpiry(err) || !errors.Is(err, ErrCancelled) || errors.Is(err, context.Canceled) {
		t.Fatalf("expired await: %v", err)
	}
	if _, err := f.Await(context.Background()); !errors.Is(err, ErrCancelled) || isExpiry(err) {
		t.Fatalf("the future after the expiry: %v", err)
	}
}

func TestAwaitFutureBeforeDeadline(t *testing.T) {
	l := newLoop(t)
	f := sleepFuture(t, l, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if _, err := f.Await(ctx); err != nil {
		t.Fatal(err)
	}
	// The deadline's timer went with the delivery: no timer is left on the loop.
	var left int
	if err := l.call(func() error { left = len(f.st.deadlines); return nil }); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d deadline timers left armed", left)
	}
}

func TestAwaitDeadlinePassed(t *testing.T) {
	l := newLoop(t)
	past, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	f := sleepFuture(t, l, time.Hour)
	if _, err := f.Await(past); !isExpiry(err) || !errors.Is(err, ErrCancelled) {
		t.Fatalf("pending future, passed deadline: %v", err)
	}
	// asyncio.wait_for(fut, 0) returns the outcome of a future already done, even one
	// whose done callbacks have not run yet.
	var g *Future
	err := l.call(func() error {
		p, f, err := newPendingFuture(l)
		if err != nil {
			return err
		}
		g = f
		v := newHandleValue("done")
		defer raw.DeleteWeft_value_t(v)
		return codeError(raw.Weft_future_set_result(p, v))
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := g.Await(past); err != nil || v != "done" {
		t.Fatalf("done future, passed deadline: %v %v", v, err)
	}
}

func TestAwaitContextCancelledWithDeadline(t *testing.T) {
	l := newLoop(t)
	f := sleepFuture(t, l, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	res := make(chan error, 1)
	go func() { _, err := f.Await(ctx); res <- err }()
	cancel()
	err := <-res
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrCancelled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("cancelled await: %v", err)
	}
}

// The deadline and the completion in one iteration: asyncio (3.12 on) lets the deadline
// win whenever its timer runs before the waiter is woken, even when the future got its
// result earlier in that iteration; the future keeps the result. CPython 3.13:
//
//	fut = loop.create_future(); when = loop.time() + 0.05
//	loop.call_at(when, fut.set_result, "A")
//	await asyncio.wait_for(fut, when - loop.time())  # TimeoutError; fut.result() == "A"
func TestAwaitDeadlineRacesCompletion(t *testing.T) {
	l := newLoop(t)
	for _, completionFirst := range []bool{true, false} {
		var f *Future
		d := newAwaitDeadline()
		err := l.call(func() error {
			p, g, err := newPendingFuture(l)
			if err != nil {
				return err
			}
			f = g
			var h cgo.Handle
			h = cgo.NewHandle(func() {
				h.Delete()
				v := newHandleValue("A")
				raw.Weft_future_set_result(p, v)
				raw.DeleteWeft_value_t(v)
			})
			// The same delay from the same loop time: one deadline, ties in scheduling order.
			complete := func() error {
				var th raw.SwigcptrStruct_SS_weft_handle_s
				rc := raw.Weft_call_later(l.ptr, 0.002, raw.WeftgoCallback, uintptr(h), &th)
				raw.Weft_handle_release(th)
				return codeError(rc)
			}
			if completionFirst {
				if err := complete(); err != nil {
					return err
				}
			}
			d.arm(f.st, 0.002)
			if !completionFirst {
				return complete()
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.wait(context.Background(), d)
		if !isExpiry(err) {
			t.Fatalf("completion first %v: %v", completionFirst, err)
		}
		v, err := f.Await(context.Background())
		if completionFirst && (err != nil || v != "A") {
			t.Fatalf("the future keeps its result: %v %v", v, err)
		}
		if !completionFirst && !errors.Is(err, ErrCancelled) {
			t.Fatalf("the deadline cancelled the future first: %v %v", v, err)
		}
	}
}

// An Await whose deadline is armed still ends with ErrClosed when the loop closes first,
// and its timer goes with the loop.
func TestAwaitDeadlineAcrossClose(t *testing.T) {
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	f := sleepFuture(t, l, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	d := newAwaitDeadline()
	if err := l.call(func() error { d.arm(f.st, 3600); return nil }); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() { _, err := f.wait(ctx, d); res <- err }()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-res; !errors.Is(err, ErrClosed) || isExpiry(err) {
		t.Fatalf("await across Close: %v", err)
	}
	if d.handle != 0 {
		t.Fatal("the deadline's timer handle outlived the loop")
	}
}
