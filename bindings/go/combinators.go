package weft

import (
	"context"
	"time"

	"weft.dev/weft/internal/raw"
)

// The combinators are the core's (weft/combinators.h): Go only hands them the futures and
// reads the outcome.

// ptrs collects the core futures of fs, on the loop goroutine. Every future must belong to
// l and still hold its core reference.
func (l *Loop) ptrs(fs []*Future) ([]futPtr, error) {
	out := make([]futPtr, len(fs))
	for i, f := range fs {
		if f == nil || f.st == nil || f.l != l {
			return nil, ErrInval
		}
		if f.st.ptr == 0 {
			if f.st.err != nil {
				return nil, f.st.err // it failed to start
			}
			return nil, ErrClosed
		}
		out[i] = f.st.ptr
	}
	return out, nil
}

// Gather waits for every future and returns their results in order. Without
// returnExceptions the first failure (or cancellation) of an input ends it with that
// error; cancelling it (ctx) cancels every input still pending. With returnExceptions
// every input runs to its end and each failed one's slot holds its error.
func (l *Loop) Gather(ctx context.Context, returnExceptions bool, fs ...*Future) ([]any, error) {
	re := 0
	if returnExceptions {
		re = 1
	}
	g, err := l.startCombinator(fs, func(ps []futPtr, out *futPtr) int {
		return raw.Weft_gather(l.ptr, ps, re, out)
	}, func(f futPtr) (any, error) {
		if rc := raw.Weft_future_error(f); rc != 0 {
			return nil, futureError(f, rc)
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := g.Await(ctx); err != nil {
		return nil, err
	}
	out := make([]any, len(fs))
	for i, f := range fs {
		<-f.st.done // the inputs are done; their Go outcome follows at once
		if f.st.err != nil {
			out[i] = f.st.err
		} else {
			out[i] = f.st.val
		}
	}
	return out, nil
}

// startCombinator starts a combinator over fs on the loop goroutine. A bad input (nil, of
// another loop) fails the combinator's future with ErrInval.
func (l *Loop) startCombinator(fs []*Future, op func(ps []futPtr, out *futPtr) int, take takeFn) (*Future, error) {
	if l == nil {
		return nil, ErrInval
	}
	return l.start(func() (futPtr, int) {
		ps, err := l.ptrs(fs)
		if err != nil {
			if e, ok := err.(*Error); ok {
				return 0, e.Code
			}
			return 0, int(raw.WEFT_EINVAL)
		}
		var p futPtr
		return p, op(ps, &p)
	}, take)
}

// WaitFor is asyncio's wait_for: f's outcome, or after timeout (negative: none) f is
// cancelled and, once it is done, WaitFor fails with ErrTimeout.
func (l *Loop) WaitFor(ctx context.Context, f *Future, timeout time.Duration) (any, error) {
	w, err := l.startCombinator([]*Future{f}, func(ps []futPtr, out *futPtr) int {
		return raw.Weft_wait_for(l.ptr, ps[0], seconds(timeout), out)
	}, resultOf)
	if err != nil {
		return nil, err
	}
	return w.Await(ctx)
}

// Shield is asyncio's shield: a future with f's outcome whose cancellation leaves f
// running. A bad input makes the returned future fail with ErrInval.
func (l *Loop) Shield(f *Future) (*Future, error) {
	return l.startCombinator([]*Future{f}, func(ps []futPtr, out *futPtr) int {
		return raw.Weft_shield(ps[0], out)
	}, resultOf)
}

// ReturnWhen is asyncio.wait's return_when.
type ReturnWhen int

// Variables, not constants: SWIG hands the core's enum over as values.
var (
	FirstCompleted = ReturnWhen(raw.WEFT_FIRST_COMPLETED)
	FirstException = ReturnWhen(raw.WEFT_FIRST_EXCEPTION)
	AllCompleted   = ReturnWhen(raw.WEFT_ALL_COMPLETED)
)

// Wait is asyncio's wait: it returns once when holds or after timeout (negative: none),
// with the inputs split into done and pending. Inputs are never cancelled.
func (l *Loop) Wait(ctx context.Context, fs []*Future, when ReturnWhen, timeout time.Duration) (done, pending []*Future, err error) {
	secs := -1.0
	if timeout >= 0 {
		secs = seconds(timeout)
	}
	w, err := l.startCombinator(fs, func(ps []futPtr, out *futPtr) int {
		return raw.Weft_wait(l.ptr, ps, int(when), secs, out)
	}, func(f futPtr) (any, error) {
		if rc := raw.Weft_future_error(f); rc != 0 {
			return nil, futureError(f, rc)
		}
		// Split here, on the loop goroutine, where the inputs' states are exact.
		isDone := make([]bool, len(fs))
		for i, in := range fs {
			isDone[i] = raw.Weft_future_done(in.st.ptr) == 1
		}
		return isDone, nil
	})
	if err != nil {
		return nil, nil, err
	}
	x, err := w.Await(ctx)
	if err != nil {
		return nil, nil, err
	}
	for i, d := range x.([]bool) {
		if d {
			done = append(done, fs[i])
		} else {
			pending = append(pending, fs[i])
		}
	}
	return done, pending, nil
}
