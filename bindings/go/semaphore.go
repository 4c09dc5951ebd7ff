package weft

import (
	"context"

	"weft.dev/weft/internal/raw"
)

// Semaphore is asyncio's Semaphore or BoundedSemaphore, the core's weft_semaphore_t.
type Semaphore struct {
	l   *Loop
	ptr raw.SwigcptrStruct_SS_weft_semaphore_s
}

// NewSemaphore creates a semaphore holding value permits (ErrInval if negative).
func (l *Loop) NewSemaphore(value int64) (*Semaphore, error) {
	return l.newSemaphore(value, raw.Weft_semaphore_new)
}

// NewBoundedSemaphore creates a semaphore whose Release above value fails with
// ErrInvalidState.
func (l *Loop) NewBoundedSemaphore(value int64) (*Semaphore, error) {
	return l.newSemaphore(value, raw.Weft_bounded_semaphore_new)
}

func (l *Loop) newSemaphore(value int64,
	create func(raw.Struct_SS_weft_loop_s, int64, *raw.SwigcptrStruct_SS_weft_semaphore_s) int) (*Semaphore, error) {
	var p raw.SwigcptrStruct_SS_weft_semaphore_s
	return newObject(l, func() int { return create(l.ptr, value, &p) },
		func() *Semaphore { return &Semaphore{l: l, ptr: p} },
		func() { raw.Weft_semaphore_release(p) })
}

func (s *Semaphore) loop() (*Loop, error) {
	if s == nil || s.l == nil {
		return nil, ErrInval
	}
	return s.l, nil
}

// Acquire takes a permit, waiting (FIFO) while none is free.
func (s *Semaphore) Acquire(ctx context.Context) error {
	l, err := s.loop()
	if err != nil {
		return err
	}
	_, err = l.await(ctx, func(out *futPtr) int { return raw.Weft_semaphore_acquire(s.ptr, out) })
	return err
}

// Release gives a permit back (asyncio's release(), the core's weft_semaphore_unlock).
func (s *Semaphore) Release() error {
	l, err := s.loop()
	if err != nil {
		return err
	}
	return l.call(func() error { return codeError(raw.Weft_semaphore_unlock(s.ptr)) })
}

// Locked reports whether an Acquire would wait now.
func (s *Semaphore) Locked() (bool, error) {
	l, err := s.loop()
	if err != nil {
		return false, err
	}
	var locked bool
	err = l.call(func() error { locked = raw.Weft_semaphore_locked(s.ptr) == 1; return nil })
	return locked, err
}

// Value is the number of free permits.
func (s *Semaphore) Value() (int64, error) {
	l, err := s.loop()
	if err != nil {
		return 0, err
	}
	var v int64
	err = l.call(func() error { v = raw.Weft_semaphore_value(s.ptr); return nil })
	return v, err
}
