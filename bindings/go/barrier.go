package weft

import (
	"context"

	"weft.dev/weft/internal/raw"
)

// Barrier is asyncio's Barrier, the core's weft_barrier_t.
type Barrier struct {
	l   *Loop
	ptr raw.SwigcptrStruct_SS_weft_barrier_s
}

// NewBarrier creates a barrier for parties goroutines (ErrInval for 0 or less).
func (l *Loop) NewBarrier(parties int) (*Barrier, error) {
	if parties <= 0 {
		return nil, ErrInval
	}
	var p raw.SwigcptrStruct_SS_weft_barrier_s
	return newObject(l, func() int { return raw.Weft_barrier_new(l.ptr, int64(parties), &p) },
		func() *Barrier { return &Barrier{l: l, ptr: p} },
		func() { raw.Weft_barrier_release(p) })
}

func (b *Barrier) loop() (*Loop, error) {
	if b == nil || b.l == nil {
		return nil, ErrInval
	}
	return b.l, nil
}

// Wait waits until parties callers wait, and returns this caller's arrival index.
// ErrBrokenBarrier when the barrier is broken, reset or aborted.
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	l, err := b.loop()
	if err != nil {
		return 0, err
	}
	v, err := l.await(ctx, func(out *futPtr) int { return raw.Weft_barrier_wait(b.ptr, out) })
	if err != nil {
		return 0, err
	}
	i, _ := v.(int64)
	return int(i), nil
}

// Reset returns the barrier to its empty state; current waiters get ErrBrokenBarrier.
func (b *Barrier) Reset(ctx context.Context) error {
	l, err := b.loop()
	if err != nil {
		return err
	}
	_, err = l.await(ctx, func(out *futPtr) int { return raw.Weft_barrier_reset(b.ptr, out) })
	return err
}

// Abort breaks the barrier until a Reset.
func (b *Barrier) Abort(ctx context.Context) error {
	l, err := b.loop()
	if err != nil {
		return err
	}
	_, err = l.await(ctx, func(out *futPtr) int { return raw.Weft_barrier_abort(b.ptr, out) })
	return err
}

// Parties, NWaiting and Broken are asyncio's parties, n_waiting and broken.
func (b *Barrier) Parties() (int, error) {
	return b.query(func() int { return int(raw.Weft_barrier_parties(b.ptr)) })
}

func (b *Barrier) NWaiting() (int, error) {
	return b.query(func() int { return int(raw.Weft_barrier_n_waiting(b.ptr)) })
}

func (b *Barrier) Broken() (bool, error) {
	n, err := b.query(func() int { return raw.Weft_barrier_broken(b.ptr) })
	return n == 1, err
}

func (b *Barrier) query(q func() int) (int, error) {
	l, err := b.loop()
	if err != nil {
		return 0, err
	}
	var n int
	err = l.call(func() error { n = q(); return nil })
	return n, err
}
