package weft

import (
	"context"

	"weft.dev/weft/internal/raw"
)

// Queue is asyncio's Queue, LifoQueue or PriorityQueue (with Python 3.13's Shutdown), the
// core's weft_queue_t, carrying Go values of type T. Its methods may be called from any
// goroutine.
type Queue[T any] struct {
	l   *Loop
	ptr raw.SwigcptrStruct_SS_weft_queue_s
}

// NewQueue creates a FIFO queue holding at most maxsize items (0: unbounded).
func NewQueue[T any](l *Loop, maxsize int) (*Queue[T], error) {
	return newQueue[T](l, raw.WEFT_QUEUE_FIFO, maxsize)
}

// NewLifoQueue creates a LIFO queue.
func NewLifoQueue[T any](l *Loop, maxsize int) (*Queue[T], error) {
	return newQueue[T](l, raw.WEFT_QUEUE_LIFO, maxsize)
}

// NewPriorityQueue creates a queue that hands out the lowest priority first (FIFO among
// equal priorities); put with PutPriority.
func NewPriorityQueue[T any](l *Loop, maxsize int) (*Queue[T], error) {
	return newQueue[T](l, raw.WEFT_QUEUE_PRIORITY, maxsize)
}

func newQueue[T any](l *Loop, kind raw.Enum_SS_weft_queue_kind, maxsize int) (*Queue[T], error) {
	if l == nil || maxsize < 0 {
		return nil, ErrInval
	}
	var p raw.SwigcptrStruct_SS_weft_queue_s
	return newObject(l, func() int { return raw.Weft_queue_new(l.ptr, int(kind), int64(maxsize), &p) },
		func() *Queue[T] { return &Queue[T]{l: l, ptr: p} },
		func() { raw.Weft_queue_release(p) })
}

func (q *Queue[T]) loop() (*Loop, error) {
	if q == nil || q.l == nil {
		return nil, ErrInval
	}
	return q.l, nil
}

// put moves item into the core with op (which owns it from then on, even when it fails).
func (q *Queue[T]) put(ctx context.Context, item T, wait bool,
	op func(v raw.Weft_value_t, out *futPtr) int) error {
	l, err := q.loop()
	if err != nil {
		return err
	}
	v := newHandleValue(item)
	if !wait {
		ran := false
		err = l.call(func() error { ran = true; return codeError(op(v, nil)) })
		if !ran {
			_, _ = valueOf(v, true) // never reached the core: drop the handle here
		}
		raw.DeleteWeft_value_t(v)
		return err
	}
	f, err := l.start(func() (futPtr, int) {
		var p futPtr
		rc := op(v, &p)
		raw.DeleteWeft_value_t(v)
		return p, rc
	}, resultOf)
	if err != nil {
		_, _ = valueOf(v, true)
		raw.DeleteWeft_value_t(v)
		return err
	}
	_, err = f.Await(ctx)
	return err
}

// Put puts item, waiting while the queue is full. ErrQueueShutDown once shut down.
func (q *Queue[T]) Put(ctx context.Context, item T) error {
	return q.put(ctx, item, true, func(v raw.Weft_value_t, out *futPtr) int {
		return raw.Weft_queue_put(q.ptr, v, out)
	})
}

// PutNowait puts item at once, or fails with ErrQueueFull or ErrQueueShutDown.
func (q *Queue[T]) PutNowait(item T) error {
	return q.put(context.Background(), item, false, func(v raw.Weft_value_t, _ *futPtr) int {
		return raw.Weft_queue_put_nowait(q.ptr, v)
	})
}

// PutPriority puts item with a priority (used by priority queues, ignored by others).
func (q *Queue[T]) PutPriority(ctx context.Context, priority int64, item T) error {
	return q.put(ctx, item, true, func(v raw.Weft_value_t, out *futPtr) int {
		return raw.Weft_queue_put_priority(q.ptr, priority, v, out)
	})
}

// takeItem moves a got item out of v (owned) into a T.
func takeItem[T any](v raw.Weft_value_t) (T, error) {
	var zero T
	x, err := valueOf(v, true)
	if err != nil {
		raw.Weft_value_clear(v)
		return zero, err
	}
	t, _ := x.(T)
	return t, nil
}

// Get takes the next item, waiting while the queue is empty. ErrQueueShutDown once the
// queue is shut down and empty. If ctx ends after an item was already taken for the
// caller, the item is returned (nothing is lost).
func (q *Queue[T]) Get(ctx context.Context) (T, error) {
	item, _, err := q.GetPriority(ctx)
	return item, err
}

// GetPriority is Get that also returns the item's priority.
func (q *Queue[T]) GetPriority(ctx context.Context) (T, int64, error) {
	var zero T
	l, err := q.loop()
	if err != nil {
		return zero, 0, err
	}
	type got struct {
		item     T
		priority int64
	}
	f, err := l.start(func() (futPtr, int) {
		var p futPtr
		return p, raw.Weft_queue_get(q.ptr, &p)
	}, func(f futPtr) (any, error) {
		v := raw.NewWeft_value_t()
		defer raw.DeleteWeft_value_t(v)
		var prio int64
		if rc := raw.Weft_queue_take(f, v, &prio); rc != 0 {
			return nil, futureError(f, rc)
		}
		item, err := takeItem[T](v)
		return got{item, prio}, err
	})
	if err != nil {
		return zero, 0, err
	}
	x, err := f.Await(ctx)
	if err != nil {
		return zero, 0, err
	}
	g := x.(got)
	return g.item, g.priority, nil
}

// GetNowait takes an item at once, or fails with ErrQueueEmpty or ErrQueueShutDown.
func (q *Queue[T]) GetNowait() (T, error) {
	var item T
	l, err := q.loop()
	if err != nil {
		return item, err
	}
	err = l.call(func() error {
		v := raw.NewWeft_value_t()
		defer raw.DeleteWeft_value_t(v)
		if rc := raw.Weft_queue_get_nowait(q.ptr, v, nil); rc != 0 {
			return codeError(rc)
		}
		var err error
		item, err = takeItem[T](v)
		return err
	})
	return item, err
}

// TaskDone marks one got item as processed (ErrInvalidState when called too often).
func (q *Queue[T]) TaskDone() error {
	l, err := q.loop()
	if err != nil {
		return err
	}
	return l.call(func() error { return codeError(raw.Weft_queue_task_done(q.ptr)) })
}

// Join waits until every item put has been marked done.
func (q *Queue[T]) Join(ctx context.Context) error {
	l, err := q.loop()
	if err != nil {
		return err
	}
	_, err = l.await(ctx, func(out *futPtr) int { return raw.Weft_queue_join(q.ptr, out) })
	return err
}

// Shutdown shuts the queue down (Python 3.13's Queue.shutdown): puts fail with
// ErrQueueShutDown, gets go on until the queue is empty; with immediate the items left are
// dropped and waiting getters fail at once.
func (q *Queue[T]) Shutdown(immediate bool) error {
	l, err := q.loop()
	if err != nil {
		return err
	}
	imm := 0
	if immediate {
		imm = 1
	}
	return l.call(func() error { return codeError(raw.Weft_queue_shutdown(q.ptr, imm)) })
}

// Len is the number of items held (asyncio's qsize()).
func (q *Queue[T]) Len() (int, error) {
	l, err := q.loop()
	if err != nil {
		return 0, err
	}
	var n int
	err = l.call(func() error { n = int(raw.Weft_queue_qsize(q.ptr)); return nil })
	return n, err
}
