package weft

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"weft.dev/weft/internal/raw"
)

func newLoop(t *testing.T) *Loop {
	t.Helper()
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// sleepFuture is l.SleepFuture(d), which must start.
func sleepFuture(t *testing.T, l *Loop, d time.Duration) *Future {
	t.Helper()
	f, err := l.SleepFuture(d)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLoopCloseTwiceAndPostAfterClose(t *testing.T) {
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Time(); !errors.Is(err, ErrLoopClosed) {
		t.Fatalf("Time after Close: %v", err)
	}
	if _, err := l.SleepFuture(time.Millisecond); !errors.Is(err, ErrLoopClosed) {
		t.Fatalf("SleepFuture after Close: %v", err)
	}
	var nilLoop *Loop
	if err := nilLoop.Close(); !errors.Is(err, ErrLoopClosed) {
		t.Fatalf("nil loop: %v", err)
	}
}

// Many goroutines post at once; every post runs exactly once, on the loop goroutine.
func TestPostsFromManyGoroutines(t *testing.T) {
	l := newLoop(t)
	const goroutines, each = 8, 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	ran := 0
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				err := l.call(func() error {
					if raw.Weft_loop_is_running(l.ptr) != 1 {
						return errors.New("posted function ran outside the running loop")
					}
					mu.Lock()
					ran++
					mu.Unlock()
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if ran != goroutines*each {
		t.Fatalf("ran %d posts, want %d", ran, goroutines*each)
	}
}

func TestSleepAndContextCancel(t *testing.T) {
	l := newLoop(t)
	if err := l.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := sleepFuture(t, l, time.Hour)
	cancel()
	_, err := f.Await(ctx)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrCancelled) {
		t.Fatalf("cancelled await: %v", err)
	}
	// The core future itself was cancelled, so awaiting it again says so.
	_, err = f.Await(context.Background())
	if !errors.Is(err, ErrCancelled) || errors.Is(err, context.Canceled) {
		t.Fatalf("second await: %v", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer dcancel()
	if err := l.Sleep(dctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) ||
		!errors.Is(err, ErrTimeout) || !errors.Is(err, ErrCancelled) {
		t.Fatalf("deadline: %v", err)
	}
}

// A goroutine still waiting when the loop closes gets ErrClosed, not a hang.
func TestCloseEndsPendingAwaits(t *testing.T) {
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	f := sleepFuture(t, l, time.Hour)
	res := make(chan error, 1)
	go func() { _, err := f.Await(context.Background()); res <- err }()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-res; !errors.Is(err, ErrClosed) {
		t.Fatalf("await across Close: %v", err)
	}
}

func TestNilFuture(t *testing.T) {
	var f *Future
	if _, err := f.Await(context.Background()); !errors.Is(err, ErrInval) {
		t.Fatal(err)
	}
	if _, err := f.Cancel(); !errors.Is(err, ErrInval) {
		t.Fatal(err)
	}
}

// The generated table agrees with the library it runs against.
func TestErrorTableMatchesCore(t *testing.T) {
	for code, info := range errorTable {
		if got := raw.Weft_err_name(code); got != info.name {
			t.Errorf("%d: core names it %s, table %s", code, got, info.name)
		}
		if got := raw.Weft_strerror(code); got != info.description {
			t.Errorf("%d: core describes it %q, table %q", code, got, info.description)
		}
	}
	if !errors.Is(&Error{Code: -3007, Message: "x"}, ErrQueueShutDown) {
		t.Fatal("errors.Is by code")
	}
	if errors.Is(ErrTimeout, ErrCancelled) {
		t.Fatal("different codes matched")
	}
}
