package weft

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestLockFromManyGoroutines(t *testing.T) {
	l := newLoop(t)
	k, err := l.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const goroutines, rounds = 8, 50
	inside, count := 0, 0
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				if err := k.Lock(ctx); err != nil {
					t.Error(err)
					return
				}
				// The core's lock is what excludes here: the race detector would see two
				// goroutines inside at once.
				inside++
				if inside != 1 {
					t.Error("two holders")
				}
				count++
				inside--
				if err := k.Unlock(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if count != goroutines*rounds {
		t.Fatalf("count %d", count)
	}
	if err := k.Unlock(); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("unlock of an unlocked lock: %v", err)
	}
}

func TestLockCancelledWaiter(t *testing.T) {
	l := newLoop(t)
	k, _ := l.NewLock()
	if err := k.Lock(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := k.Lock(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled acquire: %v", err)
	}
	// The withdrawn request left nothing behind: one unlock frees the lock.
	if err := k.Unlock(); err != nil {
		t.Fatal(err)
	}
	if locked, err := k.Locked(); err != nil || locked {
		t.Fatalf("locked after unlock: %v %v", locked, err)
	}
}

func TestEvent(t *testing.T) {
	l := newLoop(t)
	e, err := l.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { res <- e.Wait(context.Background()) }()
	}
	if err := e.Set(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := <-res; err != nil {
			t.Fatal(err)
		}
	}
	if set, _ := e.IsSet(); !set {
		t.Fatal("not set")
	}
	_ = e.Clear()
	if set, _ := e.IsSet(); set {
		t.Fatal("set after clear")
	}
}

func TestSemaphores(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	s, err := l.NewSemaphore(2)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Acquire(ctx)
	_ = s.Acquire(ctx)
	if locked, _ := s.Locked(); !locked {
		t.Fatal("two permits taken, not locked")
	}
	got := make(chan error, 1)
	go func() { got <- s.Acquire(ctx) }()
	_ = s.Release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if _, err := l.NewSemaphore(-1); !errors.Is(err, ErrInval) {
		t.Fatalf("negative semaphore: %v", err)
	}
	b, _ := l.NewBoundedSemaphore(1)
	if err := b.Release(); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("bounded release above its value: %v", err)
	}
	if v, _ := b.Value(); v != 1 {
		t.Fatalf("value %d", v)
	}
}

func TestCondition(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	c, err := l.NewCondition(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(ctx); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("wait without the lock: %v", err)
	}
	const waiters = 3
	ready := make(chan struct{}, waiters)
	done := make(chan error, waiters)
	state := 0
	for i := 0; i < waiters; i++ {
		go func() {
			if err := c.Lock(ctx); err != nil {
				done <- err
				return
			}
			ready <- struct{}{}
			for state == 0 {
				if err := c.Wait(ctx); err != nil {
					done <- err
					return
				}
			}
			done <- c.Unlock()
		}()
	}
	for i := 0; i < waiters; i++ {
		<-ready
	}
	if err := c.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	state = 1
	if err := c.NotifyAll(); err != nil {
		t.Fatal(err)
	}
	if err := c.Unlock(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < waiters; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	other := newLoop(t)
	k, _ := other.NewLock()
	if _, err := l.NewCondition(k); !errors.Is(err, ErrInval) {
		t.Fatalf("a lock of another loop: %v", err)
	}
}

func TestBarrier(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	b, err := l.NewBarrier(3)
	if err != nil {
		t.Fatal(err)
	}
	idx := make(chan int, 3)
	for i := 0; i < 3; i++ {
		go func() {
			n, err := b.Wait(ctx)
			if err != nil {
				t.Error(err)
			}
			idx <- n
		}()
	}
	seen := map[int]bool{}
	for i := 0; i < 3; i++ {
		seen[<-idx] = true
	}
	if len(seen) != 3 || !seen[0] || !seen[2] {
		t.Fatalf("arrival indexes %v", seen)
	}
	if err := b.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Wait(ctx); !errors.Is(err, ErrBrokenBarrier) {
		t.Fatalf("wait on a broken barrier: %v", err)
	}
	if _, err := l.NewBarrier(0); !errors.Is(err, ErrInval) {
		t.Fatal(err)
	}
}

func TestNilObjects(t *testing.T) {
	ctx := context.Background()
	var k *Lock
	var e *Event
	var s *Semaphore
	var c *Condition
	var b *Barrier
	var q *Queue[int]
	for _, err := range []error{k.Lock(ctx), k.Unlock(), e.Wait(ctx), e.Set(), s.Acquire(ctx),
		s.Release(), c.Wait(ctx), c.Notify(1), b.Abort(ctx), q.Put(ctx, 1), q.Shutdown(false)} {
		if !errors.Is(err, ErrInval) {
			t.Fatalf("nil receiver: %v", err)
		}
	}
	if _, err := q.Get(ctx); !errors.Is(err, ErrInval) {
		t.Fatal(err)
	}
}

// Objects of a closed loop answer with an error.
func TestObjectsAfterClose(t *testing.T) {
	l, _ := NewLoop()
	k, _ := l.NewLock()
	q, _ := NewQueue[string](l, 0)
	_ = l.Close()
	ctx := context.Background()
	if err := k.Lock(ctx); !errors.Is(err, ErrLoopClosed) {
		t.Fatal(err)
	}
	if err := q.Put(ctx, "x"); !errors.Is(err, ErrLoopClosed) {
		t.Fatal(err)
	}
	if err := q.PutNowait("x"); !errors.Is(err, ErrLoopClosed) {
		t.Fatal(err)
	}
}

func TestConditionWaitFor(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	c, _ := l.NewCondition(nil)
	n := 0 // touched by the predicate on the loop goroutine, and under the lock here
	done := make(chan error, 1)
	go func() {
		if err := c.Lock(ctx); err != nil {
			done <- err
			return
		}
		err := c.WaitFor(ctx, func() bool { return n >= 3 })
		if err == nil && n < 3 {
			err = errors.New("woken before the predicate held")
		}
		_ = c.Unlock()
		done <- err
	}()
	for i := 0; i < 3; i++ {
		if err := c.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		n++
		_ = c.Notify(1)
		_ = c.Unlock()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := c.WaitFor(ctx, nil); !errors.Is(err, ErrInval) {
		t.Fatal(err)
	}
}
