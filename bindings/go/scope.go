package weft

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"

	"weft.dev/weft/internal/raw"
)

// taskKey is the context key under which a Go task's function finds its task.
type taskKey struct{}

// scope is one block of a task's function that a cancellation can reach: the function
// itself, a TaskGroup's body or a Timeout's. Loop goroutine only.
type scope struct {
	cancel context.CancelCauseFunc
	// onCancel, when set, is told of a cancellation delivered to the scope (a TaskGroup
	// waiting for its children passes it on to the core's exit future).
	onCancel func()
	// delivered counts the cancellations delivered, so that a block can tell those that
	// came after its body returned (read from the body's goroutine too).
	delivered atomic.Int32
}

// taskOf is the Go task whose function ctx was derived from, or nil.
func taskOf(ctx context.Context) *taskState {
	if ctx == nil {
		return nil
	}
	ts, _ := ctx.Value(taskKey{}).(*taskState)
	return ts
}

// deliverCancel hands a cancellation of the task to its innermost block.
func (ts *taskState) deliverCancel() {
	if len(ts.scopes) == 0 {
		return
	}
	sc := ts.scopes[len(ts.scopes)-1]
	sc.delivered.Add(1)
	sc.cancel(ts.cancelCause())
	if sc.onCancel != nil {
		sc.onCancel()
	}
}

// pushScope opens a block inside the task's function whose context derives from parent.
func (ts *taskState) pushScope(parent context.Context) (context.Context, *scope) {
	ctx, cancel := context.WithCancelCause(parent)
	sc := &scope{cancel: cancel}
	ts.scopes = append(ts.scopes, sc)
	return ctx, sc
}

// popScope closes the block; propagate passes a cancellation that leaves it on to the
// block around it, as a CancelledError that goes through the end of an asyncio block.
func (ts *taskState) popScope(sc *scope, propagate bool) {
	sc.cancel(nil)
	for i := len(ts.scopes) - 1; i >= 0; i-- {
		if ts.scopes[i] == sc {
			ts.scopes = append(ts.scopes[:i], ts.scopes[i+1:]...)
			break
		}
	}
	if propagate {
		ts.deliverCancel()
	}
}

// errorCode is the core's code for the outcome of a block or function: 0, the code of a
// core error, WEFT_ECANCELLED for a context's cancellation, else WEFT_EUNKNOWN.
func errorCode(err error) int {
	var we *Error
	switch {
	case err == nil:
		return 0
	case errors.Is(err, context.Canceled):
		return int(raw.WEFT_ECANCELLED)
	case errors.As(err, &we):
		return we.Code
	}
	return int(raw.WEFT_EUNKNOWN)
}

// CurrentTask is the task whose function ctx belongs to (asyncio.current_task), or nil.
func CurrentTask(ctx context.Context) *Task {
	if ts := taskOf(ctx); ts != nil {
		return ts.task
	}
	return nil
}

// AllTasks is the loop's unfinished tasks (asyncio.all_tasks): the Go tasks among them as
// Spawn returned them, any other (a task the core or another binding made) as a new Task.
func (l *Loop) AllTasks() ([]*Task, error) {
	if l == nil {
		return nil, ErrInval
	}
	var out []*Task
	err := l.call(func() error {
		byPtr := make(map[uintptr]*Task, len(l.tasks))
		for ts := range l.tasks {
			byPtr[ts.ptr.Swigcptr()] = ts.task
		}
		ptrs := make([]taskPtr, 64)
		for {
			n := int(raw.Weftgo_all_tasks(l.ptr, ptrs))
			if n <= len(ptrs) {
				ptrs = ptrs[:n]
				break
			}
			ptrs = make([]taskPtr, n)
		}
		for _, p := range ptrs {
			if t, ok := byPtr[p.Swigcptr()]; ok {
				out = append(out, t)
				continue
			}
			out = append(out, l.wrapTask(p))
		}
		return nil
	})
	return out, err
}

// wrapTask gives a task that Go did not make a Go form, holding a reference of its own.
// Loop goroutine.
func (l *Loop) wrapTask(p taskPtr) *Task {
	raw.Weft_task_retain(p)
	st := &futureState{l: l, take: resultOf, done: make(chan struct{})}
	l.attach(st, raw.SwigcptrStruct_SS_weft_future_s(raw.Weft_task_future(p).Swigcptr()))
	f := &Future{l: l, st: st}
	runtime.AddCleanup(f, func(st *futureState) { _ = st.l.post(st.release) }, st)
	return &Task{Future: f, ptr: p}
}

// errNotInTask is what a block (RunTaskGroup, Timeout) whose context does not belong to a
// task's function returns: asyncio's "no running task" RuntimeError. It is ErrNotInTask.
var errNotInTask = &Error{Code: int(raw.WEFT_ENOTINTASK), Message: "the context is not a task function's (Loop.Spawn makes one)"}
