package weft

import (
	"context"
	"errors"
	"sync"
	"testing"
)

type item struct {
	n    int
	name string
}

func TestQueueProducersConsumers(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	q, err := NewQueue[item](l, 4)
	if err != nil {
		t.Fatal(err)
	}
	const producers, each = 4, 100
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := q.Put(ctx, item{p*each + i, "x"}); err != nil {
					t.Error(err)
					return
				}
			}
		}(p)
	}
	got := make(chan int, producers*each)
	var cg sync.WaitGroup
	for c := 0; c < 3; c++ {
		cg.Add(1)
		go func() {
			defer cg.Done()
			for {
				it, err := q.Get(ctx)
				if errors.Is(err, ErrQueueShutDown) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				got <- it.n
				_ = q.TaskDone()
			}
		}()
	}
	wg.Wait()
	if err := q.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.Shutdown(false); err != nil {
		t.Fatal(err)
	}
	cg.Wait()
	close(got)
	seen := make(map[int]bool)
	for n := range got {
		if seen[n] {
			t.Fatalf("item %d twice", n)
		}
		seen[n] = true
	}
	if len(seen) != producers*each {
		t.Fatalf("got %d items", len(seen))
	}
	if err := q.Put(ctx, item{}); !errors.Is(err, ErrQueueShutDown) {
		t.Fatalf("put after shutdown: %v", err)
	}
}

func TestQueueKinds(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	lifo, _ := NewLifoQueue[string](l, 0)
	for _, s := range []string{"a", "b", "c"} {
		if err := lifo.PutNowait(s); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"c", "b", "a"} {
		if got, err := lifo.GetNowait(); err != nil || got != want {
			t.Fatalf("lifo: %q %v, want %q", got, err, want)
		}
	}
	if _, err := lifo.GetNowait(); !errors.Is(err, ErrQueueEmpty) {
		t.Fatalf("empty: %v", err)
	}
	pq, _ := NewPriorityQueue[string](l, 0)
	_ = pq.PutPriority(ctx, 5, "five")
	_ = pq.PutPriority(ctx, 1, "one")
	_ = pq.PutPriority(ctx, 5, "five again")
	for _, want := range []string{"one", "five", "five again"} {
		got, prio, err := pq.GetPriority(ctx)
		if err != nil || got != want {
			t.Fatalf("priority: %q (%d) %v, want %q", got, prio, err, want)
		}
	}
	full, _ := NewQueue[int](l, 1)
	_ = full.PutNowait(1)
	if err := full.PutNowait(2); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("full: %v", err)
	}
	if _, err := NewQueue[int](l, -1); !errors.Is(err, ErrInval) {
		t.Fatal(err)
	}
}

// A getter cancelled by its context withdraws; the item goes to the next getter.
func TestQueueGetCancelled(t *testing.T) {
	l := newLoop(t)
	q, _ := NewQueue[int](l, 0)
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { _, err := q.Get(ctx); res <- err }()
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled get: %v", err)
	}
	_ = q.PutNowait(7)
	if n, err := q.Get(context.Background()); err != nil || n != 7 {
		t.Fatalf("%d %v", n, err)
	}
}

// Items left in a queue are freed with it: their handles go through the core's destructor.
func TestQueueShutdownImmediateDropsItems(t *testing.T) {
	l := newLoop(t)
	q, _ := NewQueue[[]byte](l, 0)
	for i := 0; i < 10; i++ {
		_ = q.PutNowait(make([]byte, 100))
	}
	if err := q.Shutdown(true); err != nil {
		t.Fatal(err)
	}
	if n, _ := q.Len(); n != 0 {
		t.Fatalf("%d items after an immediate shutdown", n)
	}
	if _, err := q.Get(context.Background()); !errors.Is(err, ErrQueueShutDown) {
		t.Fatal(err)
	}
}
