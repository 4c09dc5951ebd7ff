package weft

import (
	"context"
	"runtime/cgo"

	"weft.dev/weft/internal/raw"
)

// Condition is asyncio's Condition, the core's weft_condition_t.
type Condition struct {
	l    *Loop
	ptr  raw.SwigcptrStruct_SS_weft_condition_s
	lock *Lock
}

// NewCondition creates a condition over lock, or over a new lock of its own when lock is
// nil. The lock must belong to the same loop.
func (l *Loop) NewCondition(lock *Lock) (*Condition, error) {
	if lock != nil && lock.l != l {
		return nil, ErrInval
	}
	var p raw.SwigcptrStruct_SS_weft_condition_s
	var lp raw.Struct_SS_weft_lock_s = raw.SwigcptrStruct_SS_weft_lock_s(0)
	if lock != nil {
		lp = lock.ptr
	}
	return newObject(l, func() int { return raw.Weft_condition_new(l.ptr, lp, &p) },
		func() *Condition {
			c := &Condition{l: l, ptr: p, lock: lock}
			if lock == nil {
				// The condition's own lock is borrowed from it; a reference of the Go Lock's
				// own keeps it valid for as long as the Go Lock lives.
				lp := raw.SwigcptrStruct_SS_weft_lock_s(raw.Weft_condition_lock(p).Swigcptr())
				raw.Weft_lock_retain(lp)
				c.lock = &Lock{l: l, ptr: lp}
				own(l, c.lock, func() { raw.Weft_lock_release(lp) })
			}
			return c
		},
		func() { raw.Weft_condition_release(p) })
}

func (c *Condition) loop() (*Loop, error) {
	if c == nil || c.l == nil {
		return nil, ErrInval
	}
	return c.l, nil
}

// Locker is the condition's lock.
func (c *Condition) Locker() *Lock {
	if c == nil {
		return nil
	}
	return c.lock
}

// Lock takes the condition's lock.
func (c *Condition) Lock(ctx context.Context) error { return c.Locker().Lock(ctx) }

// Unlock releases the condition's lock.
func (c *Condition) Unlock() error { return c.Locker().Unlock() }

// Wait releases the lock, waits for a notification and takes the lock again; the lock is
// held again when Wait returns, even when ctx ended it. ErrInvalidState without the lock.
func (c *Condition) Wait(ctx context.Context) error {
	l, err := c.loop()
	if err != nil {
		return err
	}
	_, err = l.await(ctx, func(out *futPtr) int { return raw.Weft_condition_wait(c.ptr, out) })
	return err
}

// WaitFor waits, holding the lock, until pred returns true: pred is checked first and after
// each notification, on the loop goroutine with the lock held, so it must not block. The
// lock is held again when WaitFor returns.
func (c *Condition) WaitFor(ctx context.Context, pred func() bool) error {
	l, err := c.loop()
	if err != nil {
		return err
	}
	if pred == nil {
		return ErrInval
	}
	h := cgo.NewHandle(pred)
	f, err := l.start(func() (futPtr, int) {
		var p futPtr
		rc := raw.Weft_condition_wait_for(c.ptr, raw.WeftgoPredicate, uintptr(h), &p)
		if rc != 0 {
			h.Delete()
		}
		return p, rc
	}, func(f futPtr) (any, error) {
		h.Delete() // the predicate is not called once the wait is over
		return resultOf(f)
	})
	if err != nil {
		h.Delete()
		return err
	}
	_, err = f.Await(ctx)
	return err
}

// Notify wakes up to n waiters; the caller must hold the lock.
func (c *Condition) Notify(n int) error {
	l, err := c.loop()
	if err != nil {
		return err
	}
	if n < 0 {
		return ErrInval
	}
	return l.call(func() error { return codeError(raw.Weft_condition_notify(c.ptr, int64(n))) })
}

// NotifyAll wakes every waiter; the caller must hold the lock.
func (c *Condition) NotifyAll() error {
	l, err := c.loop()
	if err != nil {
		return err
	}
	return l.call(func() error { return codeError(raw.Weft_condition_notify_all(c.ptr)) })
}
