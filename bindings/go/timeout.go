package weft

import (
	"context"
	"math"
	"time"

	"weft.dev/weft/internal/raw"
)

type timeoutPtr = raw.SwigcptrStruct_SS_weft_timeout_s

// TimeoutScope is the running block of Timeout or TimeoutAt (asyncio.Timeout): its
// deadline can be read and moved while the block runs.
type TimeoutScope struct {
	l   *Loop
	ptr timeoutPtr // loop goroutine only; 0 once the block is left
	// What the block ended with, for When and Expired afterwards.
	when    float64
	expired bool
}

// Timeout runs body with a deadline delay from now (asyncio.timeout), in the task ctx
// belongs to. On expiry the body's ctx is cancelled; if the body then ends with that
// cancellation (it returns ctx.Err() or ErrCancelled), Timeout returns an error that is
// ErrTimeout and context.DeadlineExceeded. Any other outcome, a cancellation from outside
// included, is the body's. A negative delay expires at once, from the loop.
func Timeout(ctx context.Context, delay time.Duration, body func(ctx context.Context, t *TimeoutScope) error) error {
	return runTimeout(ctx, func(l *Loop) float64 {
		return raw.Weft_loop_time(l.ptr) + delay.Seconds()
	}, body)
}

// TimeoutAt is Timeout with a deadline in the loop's time (Loop.Time); +Inf is none
// (asyncio.timeout_at).
func TimeoutAt(ctx context.Context, when float64, body func(ctx context.Context, t *TimeoutScope) error) error {
	return runTimeout(ctx, func(*Loop) float64 { return when }, body)
}

func runTimeout(ctx context.Context, deadline func(*Loop) float64, body func(context.Context, *TimeoutScope) error) error {
	ts := taskOf(ctx)
	if ts == nil {
		return errNotInTask
	}
	if body == nil {
		return ErrInval
	}
	l := ts.l
	t := &TimeoutScope{l: l}
	var bodyCtx context.Context
	var sc *scope
	err := l.call(func() error {
		if ts.finished {
			return ErrInvalidState
		}
		when := deadline(l)
		if math.IsNaN(when) {
			return ErrInval
		}
		var p timeoutPtr
		if rc := raw.Weft_timeout_enter_at(ts.ptr, when, &p); rc != 0 {
			return codeError(rc)
		}
		t.ptr = p
		bodyCtx, sc = ts.pushScope(ctx)
		return nil
	})
	if err != nil {
		return err
	}
	bodyErr, panicked, value := callTimeoutBody(bodyCtx, t, body)
	var rc int
	err = l.call(func() error {
		t.when, t.expired = raw.Weft_timeout_when(t.ptr), raw.Weft_timeout_expired(t.ptr) == 1
		rc = raw.Weft_timeout_exit(t.ptr, errorCode(bodyErr))
		t.ptr = 0
		ts.popScope(sc, rc == int(raw.WEFT_ECANCELLED))
		return nil
	})
	if panicked {
		panic(value)
	}
	if err != nil {
		return err
	}
	if rc == int(raw.WEFT_ETIMEDOUT) {
		return &timeoutError{}
	}
	return bodyErr
}

func callTimeoutBody(ctx context.Context, t *TimeoutScope, body func(context.Context, *TimeoutScope) error) (err error, panicked bool, value any) {
	defer func() {
		if r := recover(); r != nil {
			err, panicked, value = errBodyPanicked, true, r
		}
	}()
	return body(ctx, t), false, nil
}

// timeoutError is a Timeout's expiry: ErrTimeout and context.DeadlineExceeded. Not the
// body's cancellation, which the timeout consumed (asyncio raises TimeoutError from it).
type timeoutError struct{}

func (e *timeoutError) Error() string { return ErrTimeout.Error() }
func (e *timeoutError) Unwrap() []error {
	return []error{ErrTimeout, context.DeadlineExceeded}
}

// Reschedule moves the deadline to when, in the loop's time (+Inf: none).
// ErrInvalidState once the timeout expired or its block was left.
func (t *TimeoutScope) Reschedule(when float64) error {
	if t == nil || t.l == nil {
		return ErrInval
	}
	return t.l.call(func() error {
		if t.ptr == 0 {
			return ErrInvalidState
		}
		return codeError(raw.Weft_timeout_reschedule(t.ptr, when))
	})
}

// When is the deadline in the loop's time (+Inf: none), also once the block is left.
func (t *TimeoutScope) When() (float64, error) {
	if t == nil || t.l == nil {
		return 0, ErrInval
	}
	var when float64
	err := t.l.call(func() error {
		when = t.when
		if t.ptr != 0 {
			when = raw.Weft_timeout_when(t.ptr)
		}
		return nil
	})
	return when, err
}

// Expired reports whether the deadline passed (the block's ctx was then cancelled), also
// once the block is left.
func (t *TimeoutScope) Expired() (bool, error) {
	if t == nil || t.l == nil {
		return false, ErrInval
	}
	var expired bool
	err := t.l.call(func() error {
		expired = t.expired
		if t.ptr != 0 {
			expired = raw.Weft_timeout_expired(t.ptr) == 1
		}
		return nil
	})
	return expired, err
}
