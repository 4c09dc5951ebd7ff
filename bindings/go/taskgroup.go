package weft

import (
	"context"
	"errors"
	"runtime/cgo"

	"weft.dev/weft/internal/raw"
)

type groupPtr = raw.SwigcptrStruct_SS_weft_taskgroup_s

// TaskGroup is asyncio.TaskGroup on the core's taskgroup: children spawned in it cannot
// outlive the block (RunTaskGroup's body), and the first child to fail cancels its
// siblings and the body.
type TaskGroup struct {
	l   *Loop
	ts  *taskState
	ptr groupPtr // loop goroutine only; 0 once the group is done
}

// RunTaskGroup runs body as the block of a TaskGroup of the task ctx belongs to (ctx is
// a task function's context, or one derived from it), then waits for every child. It
// returns nil when the body and every child succeeded; the errors of the failed children
// and the body's own, joined with errors.Join, in the order they failed; or, when the
// task was cancelled from outside, that cancellation (ErrCancelled and context.Canceled),
// which then also reaches the block around this one. The body's ctx is cancelled when a
// child fails or the group is cancelled.
func RunTaskGroup(ctx context.Context, body func(ctx context.Context, g *TaskGroup) error) error {
	ts := taskOf(ctx)
	if ts == nil {
		return errNotInTask
	}
	if body == nil {
		return ErrInval
	}
	l := ts.l
	g := &TaskGroup{l: l, ts: ts}
	var bodyCtx context.Context
	var sc *scope
	err := l.call(func() error {
		if ts.ptr.Swigcptr() == 0 || ts.finished {
			return ErrInvalidState
		}
		var p groupPtr
		if rc := raw.Weft_taskgroup_enter(ts.ptr, &p); rc != 0 {
			return codeError(rc)
		}
		g.ptr = p
		bodyCtx, sc = ts.pushScope(ctx)
		return nil
	})
	if err != nil {
		return err
	}
	bodyErr, panicked, value := callBody(bodyCtx, g, body)
	// A body that ends with a cancellation has taken those delivered so far. One that ends
	// otherwise while its context was cancelled (it did not look, or returned first) leaves
	// them to the exit: asyncio delivers a cancellation that comes while the coroutine runs
	// at its next await, which is __aexit__'s, and the group then cancels its children.
	var seen int32
	if errorCode(bodyErr) == int(raw.WEFT_ECANCELLED) {
		seen = sc.delivered.Load()
	}
	err = g.exit(sc, bodyErr, seen)
	if panicked {
		panic(value)
	}
	return err
}

// callBody runs the body; a panic in it is reported as panicked, so that the group can
// still cancel and wait for its children before the panic goes on.
func callBody(ctx context.Context, g *TaskGroup, body func(context.Context, *TaskGroup) error) (err error, panicked bool, value any) {
	defer func() {
		if r := recover(); r != nil {
			err, panicked, value = errBodyPanicked, true, r
		}
	}()
	return body(ctx, g), false, nil
}

var errBodyPanicked = errors.New("weft: the TaskGroup's body panicked")

// exit waits for the children through the core's exit future. A cancellation of the task
// while it waits reaches the group's scope, which cancels that future: to the core that is
// the parent's cancellation while it waits (asyncio's __aexit__ catching CancelledError),
// so it cancels the children, and the future still completes only once they are done.
// seen is how many cancellations the body took: any other reached the scope while the
// group was exiting, or before without the body ending on it.
func (g *TaskGroup) exit(sc *scope, bodyErr error, seen int32) error {
	l, ts := g.l, g.ts
	bodyRC := errorCode(bodyErr)
	done := make(chan struct{})
	var result error
	var exitFut futPtr // loop goroutine only; 0 once done
	var handle cgo.Handle

	finish := func(rc int) {
		sc.onCancel = nil
		switch rc {
		case int(raw.WEFT_EGROUP):
			result = g.errors(bodyErr)
		case int(raw.WEFT_ECANCELLED):
			result = &cancelError{ctxErr: context.Canceled, core: &Error{Code: rc}}
		default:
			result = codeError(rc)
		}
		raw.Weft_taskgroup_free(g.ptr)
		g.ptr = 0
		// A cancellation that goes through the group, or one from outside that the core
		// keeps requested under the group's errors, reaches the block around it.
		propagate := rc == int(raw.WEFT_ECANCELLED) ||
			(rc == int(raw.WEFT_EGROUP) && raw.Weft_task_cancelling(ts.ptr) > 0)
		ts.popScope(sc, propagate)
		close(done)
	}
	onDone := func(f futPtr) {
		handle.Delete()
		handle = 0
		rc := int(raw.WEFT_ECANCELLED)
		if raw.Weft_future_cancelled(f) == 0 {
			rc = raw.Weft_future_error(f)
		}
		raw.Weft_future_release(f)
		exitFut = 0
		finish(rc)
	}
	err := l.call(func() error {
		var f futPtr
		if rc := raw.Weft_taskgroup_exit(g.ptr, bodyRC, &f); rc != 0 {
			finish(rc)
			return nil
		}
		handle = cgo.NewHandle(onDone)
		if rc := raw.Weft_future_add_done_callback(f, raw.WeftgoFutureDone, uintptr(handle)); rc != 0 {
			handle.Delete()
			handle = 0
			raw.Weft_future_cancel(f, "") // the children are cancelled; nobody waits for them
			raw.Weft_future_release(f)
			finish(rc)
			return nil
		}
		exitFut = f
		sc.onCancel = func() {
			if exitFut != 0 {
				raw.Weft_future_cancel(exitFut, "")
			}
		}
		if sc.delivered.Load() > seen {
			sc.onCancel()
		}
		return nil
	})
	if err != nil {
		return err
	}
	select {
	case <-done:
		return result
	case <-l.done:
		// The loop closed under the group: its children were ended with it.
		return ErrLoopClosed
	}
}

// errors is the group's errors as Go errors, joined; loop goroutine. The body's own error
// is the one the body returned (the core holds its code only).
func (g *TaskGroup) errors(bodyErr error) error {
	futs := make([]futPtr, 8)
	for {
		n := int(raw.Weftgo_taskgroup_errors(g.ptr, futs))
		if n <= len(futs) {
			futs = futs[:n]
			break
		}
		futs = make([]futPtr, n)
	}
	errs := make([]error, 0, len(futs))
	for _, f := range futs {
		if raw.Weft_task_from_future(f).Swigcptr() == 0 && bodyErr != nil {
			errs = append(errs, bodyErr)
			continue
		}
		_, err := taskOutcome(f)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Spawn starts fn as a child task of the group (asyncio's TaskGroup.create_task).
// ErrInvalidState once the group is shutting down or done.
func (g *TaskGroup) Spawn(name string, fn func(ctx context.Context) (any, error)) (*Task, error) {
	if g == nil || g.l == nil {
		return nil, ErrInval
	}
	return g.l.spawn(name, fn, func(p taskPtr) error {
		if g.ptr == 0 {
			return ErrInvalidState
		}
		return codeError(raw.Weft_taskgroup_add(g.ptr, p))
	})
}

// Cancel cancels the children and the body; the group then ends without an error
// (asyncio 3.14's TaskGroup.cancel).
func (g *TaskGroup) Cancel() error {
	if g == nil || g.l == nil {
		return ErrInval
	}
	return g.l.call(func() error {
		if g.ptr == 0 {
			return nil
		}
		return codeError(raw.Weft_taskgroup_cancel(g.ptr))
	})
}
