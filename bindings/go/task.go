package weft

import (
	"context"
	"errors"
	"runtime"
	"runtime/cgo"

	"weft.dev/weft/internal/raw"
)

// Task is a core task (asyncio.Task) whose coroutine is a Go function running on a
// goroutine of its own. To the core the task waits on a gate future while the function
// runs; the function's end completes the gate and the next step ends the task with its
// outcome. Cancelling the task (Cancel, a TaskGroup, a cancelled gather...) cancels the
// gate, and the step that follows cancels the function's context: a function that then
// returns context.Canceled (or ErrCancelled) ends the task cancelled, as a coroutine that
// lets CancelledError through.
type Task struct {
	*Future
	ptr raw.SwigcptrStruct_SS_weft_task_s
}

type taskPtr = raw.SwigcptrStruct_SS_weft_task_s

// taskState is the loop goroutine's side of a task.
type taskState struct {
	l      *Loop
	body   func(ctx context.Context) (any, error)
	handle cgo.Handle
	gate   futPtr // the future the core sees the task wait on; one reference held
	cancel context.CancelCauseFunc
	ptr    taskPtr // borrowed: the task outlives its steps
	// The message of the latest cancellation delivered (asyncio's cancel(msg)), which the
	// function's context carries as its cause. Loop goroutine only.
	cancelMsg string
	task      *Task
	// The blocks the function is inside (TaskGroup, Timeout), innermost last, each with
	// its own context; [0] is the function's. A cancellation reaches the innermost, as
	// asyncio's reaches the await inside the innermost block. Loop goroutine only.
	scopes []*scope

	started  bool
	finished bool
	val      any
	err      error
}

// Spawn starts body as a task named name ("" gives the core's "Task-N").
func (l *Loop) Spawn(name string, body func(ctx context.Context) (any, error)) (*Task, error) {
	return l.spawn(name, body, nil)
}

// spawn is Spawn, with then run on the loop goroutine once the core's task exists.
func (l *Loop) spawn(name string, body func(ctx context.Context) (any, error), then func(taskPtr) error) (*Task, error) {
	if l == nil || body == nil {
		return nil, ErrInval
	}
	ts := &taskState{l: l, body: body}
	var task *Task
	err := l.call(func() error {
		ts.handle = cgo.NewHandle(ts.step)
		var p taskPtr
		if rc := raw.Weft_task_new_stepped(l.ptr, raw.WeftgoStep, uintptr(ts.handle), nil, nil, &p); rc != 0 {
			ts.handle.Delete()
			return codeError(rc)
		}
		if name != "" {
			raw.Weft_task_set_name(p, name)
		}
		// The task is a future: its Go Future holds the reference new_stepped gave.
		st := &futureState{l: l, take: ts.outcome, done: make(chan struct{})}
		l.attach(st, raw.SwigcptrStruct_SS_weft_future_s(raw.Weft_task_future(p).Swigcptr()))
		f := &Future{l: l, st: st}
		runtime.AddCleanup(f, func(st *futureState) { _ = st.l.post(st.release) }, st)
		task = &Task{Future: f, ptr: p}
		ts.ptr, ts.task = p, task
		l.tasks[ts] = struct{}{}
		if then != nil {
			if err := then(p); err != nil {
				raw.Weft_task_cancel(p, "")
				return err
			}
		}
		return nil
	})
	return task, err
}

// step is the core's call: start the function, or follow it.
func (ts *taskState) step(task taskPtr, throwCode int) {
	l := ts.l
	if !ts.started && throwCode == int(raw.WEFT_ECANCELLED) {
		// Cancelled before its first step: as a coroutine thrown into before it started,
		// the function never runs.
		ts.started = true
		ts.end()
		raw.Weftgo_task_fail_cancelled(task)
		return
	}
	if !ts.started {
		ts.started = true
		ctx, cancel := context.WithCancelCause(context.WithValue(context.Background(), taskKey{}, ts))
		ts.cancel = cancel
		ts.scopes = []*scope{{cancel: cancel}}
		go func() {
			v, err := ts.body(ctx)
			_ = l.post(func() {
				ts.finished, ts.val, ts.err = true, v, err
				if ts.handle == 0 || ts.gate == 0 {
					return // the task ended already, or its step runs now and ends it
				}
				// Between its steps: the task ends now, in the iteration where the
				// function stopped, as a coroutine that returns inside its step.
				rc := ts.finish(task)
				if rc == 0 {
					ts.end()
					return
				}
				// The core could not (no memory): the step the gate wakes ends the task
				// with that error, the outcome having gone with the call.
				ts.val, ts.err = nil, codeError(rc)
				none := raw.NewWeft_value_t() // zeroed: WEFT_VALUE_NONE
				raw.Weft_future_set_result(ts.gate, none)
				raw.DeleteWeft_value_t(none)
			})
		}()
	}
	// Cancellation comes as a throw, or as the gate's own cancellation (the outcome the
	// coroutine is sent): either way the function learns it through its context.
	// A request withdrawn meanwhile (a Timeout's, by its exit, while the function ran on)
	// is not delivered.
	if throwCode == int(raw.WEFT_ECANCELLED) || (ts.gate != 0 && raw.Weft_future_cancelled(ts.gate) == 1) {
		if ts.gate != 0 && raw.Weft_future_cancelled(ts.gate) == 1 {
			// The task's cancel(msg) cancelled the gate with the message.
			ts.cancelMsg = raw.Weft_future_error_message(ts.gate)
		}
		if raw.Weft_task_cancelling(task) > 0 {
			ts.deliverCancel()
		}
	}
	if ts.gate != 0 {
		raw.Weft_future_release(ts.gate)
		ts.gate = 0
	}
	if ts.finished {
		ts.end()
		ts.finish(task)
		return
	}
	var g futPtr
	if rc := raw.Weft_future_new(l.ptr, &g); rc != 0 {
		ts.end()
		raw.Weft_task_fail(task, rc, "weft: no gate future for a Go task", 0, nil)
		return
	}
	ts.gate = g
	raw.Weft_task_suspend(task, g)
}

// end lets go of what the task held on the Go side: its step is not called again. Also
// called for tasks still pending when their loop closes.
func (ts *taskState) end() {
	if ts.cancel != nil {
		ts.cancel(nil)
	}
	for _, sc := range ts.scopes {
		sc.cancel(nil)
	}
	if ts.handle != 0 {
		ts.handle.Delete()
		ts.handle = 0
	}
	if ts.gate != 0 {
		raw.Weft_future_release(ts.gate)
		ts.gate = 0
	}
	delete(ts.l.tasks, ts)
}

// finish ends the task with the function's outcome, in its step or between its steps,
// and returns 0 or the code with which the core refused it. A Go result or error crosses as a handle the core
// frees with the task; errors keep their code when they have one.
func (ts *taskState) finish(task taskPtr) int {
	if ts.err == nil {
		v := newHandleValue(ts.val)
		rc := raw.Weft_task_return(task, v)
		raw.DeleteWeft_value_t(v)
		return rc
	}
	code := errorCode(ts.err)
	msg := ts.err.Error()
	if code == int(raw.WEFT_ECANCELLED) {
		// A cancellation let through keeps its message, as a CancelledError re-raised does;
		// a bare context.Canceled is the one its context was cancelled with.
		msg = ts.cancelMsg
		var we *Error
		if errors.As(ts.err, &we) && we.Code == code {
			msg = we.Message
		}
	}
	h := cgo.NewHandle(ts.err)
	if rc := raw.Weft_task_fail(task, code, msg, uintptr(h), raw.WeftgoFreeHandle); rc != code {
		return rc
	}
	return 0
}

// outcome reads a finished task: the function's own result, or its own error.
func (ts *taskState) outcome(f futPtr) (any, error) { return taskOutcome(f) }

// taskOutcome reads a finished task's future: a Go function's own error comes back as
// itself.
func taskOutcome(f futPtr) (any, error) {
	var v raw.SwigcptrWeft_value_t
	rc := raw.Weft_future_result(f, &v)
	if rc == 0 {
		return valueOf(v, false)
	}
	if p := raw.Weft_future_error_payload(f); p != 0 && rc != int(raw.WEFT_ECANCELLED) {
		if err, ok := cgo.Handle(p).Value().(error); ok {
			return nil, err
		}
	}
	return nil, futureError(f, rc)
}

func (t *Task) loop() (*Loop, error) {
	if t == nil || t.Future == nil || t.l == nil {
		return nil, ErrInval
	}
	return t.l, nil
}

// Await and Done are the task's Future's; a nil *Task answers as a nil Future does
// (ErrInval; a closed channel) instead of dereferencing nil.
func (t *Task) Await(ctx context.Context) (any, error) { return t.future().Await(ctx) }
func (t *Task) Done() <-chan struct{}                  { return t.future().Done() }

func (t *Task) future() *Future {
	if t == nil {
		return nil
	}
	return t.Future
}

// cancelCause is what the task's contexts are cancelled with: ErrCancelled with the
// cancellation's message (context.Cause gives it to the function).
func (ts *taskState) cancelCause() error {
	return &Error{Code: int(raw.WEFT_ECANCELLED), Message: ts.cancelMsg}
}

// Cancel requests the task's cancellation (asyncio's Task.cancel): true if requested,
// false if the task is already done.
func (t *Task) Cancel() (bool, error) { return t.CancelWithMessage("") }

// CancelWithMessage is asyncio's Task.cancel(msg): the function's context is cancelled with
// an ErrCancelled cause carrying msg (context.Cause), and the task's ErrCancelled carries it
// too, unless the function ends with a cancellation of its own.
func (t *Task) CancelWithMessage(msg string) (bool, error) {
	l, err := t.loop()
	if err != nil {
		return false, err
	}
	var ok bool
	err = l.call(func() error { ok = raw.Weft_task_cancel(t.ptr, msg) == 1; return nil })
	return ok, err
}

// Name is the task's name.
func (t *Task) Name() (string, error) {
	l, err := t.loop()
	if err != nil {
		return "", err
	}
	var name string
	err = l.call(func() error { name = raw.Weft_task_name(t.ptr); return nil })
	return name, err
}

// Cancelling is the number of pending cancellation requests.
func (t *Task) Cancelling() (int, error) {
	l, err := t.loop()
	if err != nil {
		return 0, err
	}
	var n int
	err = l.call(func() error { n = raw.Weft_task_cancelling(t.ptr); return nil })
	return n, err
}

// Uncancel withdraws one cancellation request and returns how many are left.
func (t *Task) Uncancel() (int, error) {
	l, err := t.loop()
	if err != nil {
		return 0, err
	}
	var n int
	err = l.call(func() error { n = raw.Weft_task_uncancel(t.ptr); return nil })
	return n, err
}
