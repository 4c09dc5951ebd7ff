package weft

import (
	"context"

	"weft.dev/weft/internal/raw"
)

// Lock is asyncio's Lock, the core's weft_lock_t: not owned by a goroutine, FIFO.
type Lock struct {
	l   *Loop
	ptr raw.SwigcptrStruct_SS_weft_lock_s
}

// newObject creates a core object on the loop goroutine and ties its reference to the Go
// object make returns.
func newObject[T any](l *Loop, create func() int, make func() *T, release func()) (*T, error) {
	var obj *T
	err := l.call(func() error {
		if rc := create(); rc != 0 {
			return codeError(rc)
		}
		obj = make()
		own(l, obj, release)
		return nil
	})
	return obj, err
}

// await starts a core operation that returns a future and waits for its outcome.
func (l *Loop) await(ctx context.Context, op func(out *futPtr) int) (any, error) {
	f, err := l.start(func() (futPtr, int) {
		var p futPtr
		rc := op(&p)
		return p, rc
	}, resultOf)
	if err != nil {
		return nil, err
	}
	return f.Await(ctx)
}

// NewLock creates an unlocked lock.
func (l *Loop) NewLock() (*Lock, error) {
	var p raw.SwigcptrStruct_SS_weft_lock_s
	return newObject(l, func() int { return raw.Weft_lock_new(l.ptr, &p) },
		func() *Lock { return &Lock{l: l, ptr: p} },
		func() { raw.Weft_lock_release(p) })
}

func (k *Lock) loop() (*Loop, error) {
	if k == nil || k.l == nil {
		return nil, ErrInval
	}
	return k.l, nil
}

// Lock waits until the lock is free and takes it. If ctx ends first the request is
// withdrawn; if the lock was handed over meanwhile, Lock returns nil and the caller holds
// it.
func (k *Lock) Lock(ctx context.Context) error {
	l, err := k.loop()
	if err != nil {
		return err
	}
	_, err = l.await(ctx, func(out *futPtr) int { return raw.Weft_lock_acquire(k.ptr, out) })
	return err
}

// Unlock releases the lock (asyncio's release()); ErrInvalidState if it is not locked.
func (k *Lock) Unlock() error {
	l, err := k.loop()
	if err != nil {
		return err
	}
	return l.call(func() error { return codeError(raw.Weft_lock_unlock(k.ptr)) })
}

// Locked reports whether the lock is held.
func (k *Lock) Locked() (bool, error) {
	l, err := k.loop()
	if err != nil {
		return false, err
	}
	var locked bool
	err = l.call(func() error { locked = raw.Weft_lock_locked(k.ptr) == 1; return nil })
	return locked, err
}
