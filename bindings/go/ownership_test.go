package weft

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// Go objects that become garbage give their core references back on the loop goroutine.
func TestReferencesGivenBackWhenGarbage(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	func() {
		for i := 0; i < 50; i++ {
			f, err := l.SleepFuture(0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Await(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := l.NewLock(); err != nil {
				t.Fatal(err)
			}
			q, _ := NewQueue[int](l, 0)
			_ = q.PutNowait(i) // left in the queue: freed with it, handle and all
		}
	}()
	live := func() (int, int) {
		var futures, refs int
		_ = l.call(func() error { futures, refs = len(l.futures), len(l.refs); return nil })
		return futures, refs
	}
	// Cleanups run after a GC, on their own goroutine, then post; bounded in count.
	for i := 0; i < 200; i++ {
		runtime.GC()
		if f, r := live(); f == 0 && r == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	f, r := live()
	t.Fatalf("%d futures and %d objects still held after their Go objects went", f, r)
}
