package weft

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// inTask runs fn as a task's function and returns its error.
func inTask(t *testing.T, l *Loop, fn func(ctx context.Context) error) error {
	t.Helper()
	task, err := l.Spawn("parent", func(ctx context.Context) (any, error) { return nil, fn(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	_, err = task.Await(context.Background())
	return err
}

func TestTaskGroupAllChildrenSucceed(t *testing.T) {
	l := newLoop(t)
	var tasks []*Task
	err := inTask(t, l, func(ctx context.Context) error {
		return RunTaskGroup(ctx, func(ctx context.Context, g *TaskGroup) error {
			for i := 0; i < 3; i++ {
				i := i
				task, err := g.Spawn("", func(ctx context.Context) (any, error) {
					if err := l.Sleep(ctx, time.Millisecond); err != nil {
						return nil, err
					}
					return i * 10, nil
				})
				if err != nil {
					return err
				}
				tasks = append(tasks, task)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, task := range tasks {
		// Every child is done when the group's block is left.
		select {
		case <-task.Done():
		default:
			t.Fatalf("child %d still running after the group", i)
		}
		if v, err := task.Await(context.Background()); err != nil || v != i*10 {
			t.Fatalf("child %d: %v %v", i, v, err)
		}
	}
}

// The first failure cancels the siblings and the body; the errors come back joined, and
// the parent is not left cancelled: it goes on as before.
func TestTaskGroupChildFailureCancelsSiblingsAndBody(t *testing.T) {
	l := newLoop(t)
	boom := errors.New("boom")
	var siblingErr, bodyErr error
	var cancellingAfter int
	var after error
	err := inTask(t, l, func(ctx context.Context) error {
		err := RunTaskGroup(ctx, func(ctx context.Context, g *TaskGroup) error {
			started := make(chan struct{})
			if _, err := g.Spawn("sibling", func(ctx context.Context) (any, error) {
				close(started)
				siblingErr = l.Sleep(ctx, time.Hour)
				return nil, siblingErr
			}); err != nil {
				return err
			}
			if _, err := g.Spawn("failing", func(ctx context.Context) (any, error) {
				<-started
				return nil, boom
			}); err != nil {
				return err
			}
			bodyErr = l.Sleep(ctx, time.Hour)
			return bodyErr
		})
		cancellingAfter, _ = CurrentTask(ctx).Cancelling()
		after = l.Sleep(ctx, time.Millisecond)
		return err
	})
	if !errors.Is(err, boom) {
		t.Fatalf("group error %v", err)
	}
	if u, ok := err.(interface{ Unwrap() []error }); !ok || len(u.Unwrap()) != 1 {
		t.Fatalf("joined errors: %#v", err)
	}
	if !errors.Is(siblingErr, context.Canceled) || !errors.Is(bodyErr, context.Canceled) {
		t.Fatalf("sibling %v, body %v", siblingErr, bodyErr)
	}
	if cancellingAfter != 0 || after != nil {
		t.Fatalf("the parent after the group: cancelling %d, sleep %v", cancellingAfter, after)
	}
}

// A child fails while the body has already returned and the group waits in its exit.
func TestTaskGroupChildFailureDuringExit(t *testing.T) {
	l := newLoop(t)
	boom := errors.New("boom")
	var siblingErr error
	release := make(chan struct{})
	err := inTask(t, l, func(ctx context.Context) error {
		return RunTaskGroup(ctx, func(ctx context.Context, g *TaskGroup) error {
			started := make(chan struct{})
			g.Spawn("sibling", func(ctx context.Context) (any, error) {
				close(started)
				siblingErr = l.Sleep(ctx, time.Hour)
				return nil, siblingErr
			})
			g.Spawn("failing", func(ctx context.Context) (any, error) {
				<-started
				<-release
				return nil, boom
			})
			close(release) // fails once the body is on its way out
			return nil
		})
	})
	if !errors.Is(err, boom) || !errors.Is(siblingErr, context.Canceled) {
		t.Fatalf("group %v, sibling %v", err, siblingErr)
	}
}

// The body's error and a child's error (the one it fails with when cancelled) are both in
// the group's error.
func TestTaskGroupBodyAndChildErrors(t *testing.T) {
	l := newLoop(t)
	bodyErr := errors.New("body")
	childErr := errors.New("child cleanup")
	err := inTask(t, l, func(ctx context.Context) error {
		return RunTaskGroup(ctx, func(ctx context.Context, g *TaskGroup) error {
			started := make(chan struct{})
			g.Spawn("", func(ctx context.Context) (any, error) {
				close(started)
				l.Sleep(ctx, time.Hour)
				return nil, childErr
			})
			<-started
			return bodyErr
		})
	})
	if !errors.Is(err, bodyErr) || !errors.Is(err, childErr) {
		t.Fatalf("group error %v", err)
	}
}

// A cancellation from outside cancels the children and goes through the group: the task
// ends cancelled.
func TestTaskGroupCancelledFromOutside(t *testing.T) {
	l := newLoop(t)
	var childErr, groupErr error
	inBody := make(chan struct{})
	task, _ := l.Spawn("parent", func(ctx context.Context) (any, error) {
		groupErr = RunTaskGroup(ctx, func(ctx context.Context, g *TaskGroup) error {
			started := make(chan struct{})
			g.Spawn("", func(ctx context.Context) (any, error) {
				close(started)
				childErr = l.Sleep(ctx, time.Hour)
				return nil, childErr
			})
			<-started
			close(inBody)
			return l.Sleep(ctx, time.Hour)
		})
		return nil, groupErr
	})
	<-inBody
	task.Cancel()
	_, err := task.Await(context.Background())
	if !errors.Is(err, ErrCancelled) || !errors.Is(groupErr, context.Canceled) || !errors.Is(childErr, context.Canceled) {
		t.Fatalf("task %v, group %v, child %v", err, groupErr, childErr)
	}
}

// The same while the group waits for its children in exit.
func TestTaskGroupCancelledWhileWaiting(t *testing.T) {
	l := newLoop(t)
	var childErr, groupErr error
	started := make(chan struct{})
	task, _ := l.Spawn("parent", func(ctx context.Context) (any, error) {
		groupErr = RunTaskGroup(ctx, func(ctx context.Context, g *TaskGroup) error {
			_, err := g.Spawn("", func(ctx context.Context) (any, error) {
				close(started)
				childErr = l.Sleep(ctx, time.Hour)
				return nil, childErr
			})
			return err
		})
		return nil, groupErr
	})
	<-started
	task.Cancel()
	_, err := task.Await(context.Background())
	if !errors.Is(err, ErrCancelled) || !errors.Is(groupErr, ErrCancelled) || !errors.Is(childErr, context.Canceled) {
		t.Fatalf("task %v, group %v, child %v", err, groupErr, childErr)
	}
}

// A cancellation that reaches the body while it runs and that the body does not end with
// (it returns nil) cancels the children at the group's exit, as asyncio delivers one that
// comes while the coroutine runs at __aexit__'s await.
func TestTaskGroupCancelledDuringTheBodyWhichReturnsNil(t *testing.T) {
	l := newLoop(t)
	var childErr, groupErr error
	started := make(chan struct{})
	task, _ := l.Spawn("parent", func(ctx context.Context) (any, error) {
		groupErr = RunTaskGroup(ctx, func(ctx context.Context, g *TaskGroup) error {
			_, err := g.Spawn("", func(ctx context.Context) (any, error) {
				childErr = l.Sleep(ctx, time.Hour)
				return nil, childErr
			})
			close(started)
			<-ctx.Done()
			return err
		})
		return nil, groupErr
	})
	<-started
	task.Cancel()
	awaited := make(chan error, 1)
	go func() {
		_, err := task.Await(context.Background())
		awaited <- err
	}()
	var err error
	select {
	case err = <-awaited:
	case <-time.After(time.Minute): // a bound, so that the failure is not a hang
		t.Fatal("the group still waits for its child")
	}
	if !errors.Is(err, ErrCancelled) || !errors.Is(groupErr, ErrCancelled) || !errors.Is(childErr, context.Canceled) {
		t.Fatalf("task %v, group %v, child %v", err, groupErr, childErr)
	}
}

// TaskGroup.Cancel stops the children and the body; the group ends without an error.
func TestTaskGroupCancel(t *testing.T) {
	l := newLoop(t)
	var childErr, bodyErr error
	var late error
	var g0 *TaskGroup
	err := inTask(t, l, func(ctx context.Context) error {
		err := RunTaskGroup(ctx, func(ctx context.Context, g *TaskGroup) error {
			g0 = g
			started := make(chan struct{})
			g.Spawn("", func(ctx context.Context) (any, error) {
				close(started)
				childErr = l.Sleep(ctx, time.Hour)
				return nil, childErr
			})
			<-started
			if err := g.Cancel(); err != nil {
				return err
			}
			bodyErr = l.Sleep(ctx, time.Hour)
			return bodyErr
		})
		_, late = g0.Spawn("", func(context.Context) (any, error) { return nil, nil })
		return err
	})
	if err != nil || !errors.Is(childErr, context.Canceled) || !errors.Is(bodyErr, context.Canceled) {
		t.Fatalf("group %v, child %v, body %v", err, childErr, bodyErr)
	}
	if !errors.Is(late, ErrInvalidState) {
		t.Fatalf("spawn after the group: %v", late)
	}
}

func TestBlocksNeedATask(t *testing.T) {
	ctx := context.Background()
	if err := RunTaskGroup(ctx, func(context.Context, *TaskGroup) error { return nil }); !errors.Is(err, ErrNotInTask) {
		t.Fatal(err)
	}
	if err := Timeout(ctx, time.Second, func(context.Context, *TimeoutScope) error { return nil }); !errors.Is(err, ErrNotInTask) {
		t.Fatal(err)
	}
	if CurrentTask(ctx) != nil {
		t.Fatal("a current task outside any")
	}
}

func TestCurrentAndAllTasks(t *testing.T) {
	l := newLoop(t)
	var self *Task
	var seen []*Task
	release := make(chan struct{})
	other, _ := l.Spawn("other", func(ctx context.Context) (any, error) { <-release; return nil, nil })
	task, _ := l.Spawn("me", func(ctx context.Context) (any, error) {
		self = CurrentTask(ctx)
		var err error
		seen, err = l.AllTasks()
		close(release)
		return nil, err
	})
	if _, err := task.Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	if self != task {
		t.Fatal("CurrentTask is not the task")
	}
	found := map[*Task]bool{}
	for _, s := range seen {
		found[s] = true
	}
	if !found[task] || !found[other] {
		t.Fatalf("all tasks: %v", seen)
	}
	other.Await(context.Background())
}

func TestTimeoutExpires(t *testing.T) {
	l := newLoop(t)
	var scope *TimeoutScope
	var bodyErr, after error
	err := inTask(t, l, func(ctx context.Context) error {
		err := Timeout(ctx, time.Millisecond, func(ctx context.Context, ts *TimeoutScope) error {
			scope = ts
			bodyErr = l.Sleep(ctx, time.Hour)
			return bodyErr
		})
		after = l.Sleep(ctx, time.Millisecond) // the task itself is not cancelled
		return err
	})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout error %v", err)
	}
	if !errors.Is(bodyErr, context.Canceled) || after != nil {
		t.Fatalf("body %v, after %v", bodyErr, after)
	}
	if expired, _ := scope.Expired(); !expired {
		t.Fatal("not expired")
	}
}

// Rescheduled to never, the block outlives its first deadline; a block that ends in time
// returns its own outcome. The body runs beside the loop, which may reach the first
// deadline before the body reschedules it: then Reschedule is refused and the block
// expires, and the case is tried again with a later first deadline.
func TestTimeoutRescheduleAndInTime(t *testing.T) {
	l := newLoop(t)
	mine := errors.New("mine")
	err := inTask(t, l, func(ctx context.Context) error {
		var err error
		for first := time.Millisecond; first <= 10*time.Second; first *= 10 {
			rescheduled := false
			err = Timeout(ctx, first, func(ctx context.Context, ts *TimeoutScope) error {
				if err := ts.Reschedule(math.Inf(1)); err != nil {
					return err
				}
				rescheduled = true
				if when, _ := ts.When(); !math.IsInf(when, 1) {
					t.Errorf("when %v", when)
				}
				if err := l.Sleep(ctx, first+20*time.Millisecond); err != nil {
					return err
				}
				return mine
			})
			if rescheduled || !errors.Is(err, ErrInvalidState) && !errors.Is(err, ErrTimeout) {
				break
			}
		}
		if !errors.Is(err, mine) {
			return err
		}
		now, _ := l.Time()
		return TimeoutAt(ctx, now+3600, func(ctx context.Context, ts *TimeoutScope) error { return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A cancellation from outside inside a Timeout is not a timeout: it goes through.
func TestTimeoutOutsideCancellation(t *testing.T) {
	l := newLoop(t)
	inside := make(chan struct{})
	var blockErr error
	task, _ := l.Spawn("", func(ctx context.Context) (any, error) {
		blockErr = Timeout(ctx, time.Hour, func(ctx context.Context, ts *TimeoutScope) error {
			close(inside)
			return l.Sleep(ctx, time.Hour)
		})
		return nil, blockErr
	})
	<-inside
	task.Cancel()
	_, err := task.Await(context.Background())
	if !errors.Is(err, ErrCancelled) || errors.Is(blockErr, ErrTimeout) {
		t.Fatalf("task %v, block %v", err, blockErr)
	}
}

// Nested: the inner deadline expires; only the inner block times out.
func TestTimeoutNested(t *testing.T) {
	l := newLoop(t)
	var inner error
	err := inTask(t, l, func(ctx context.Context) error {
		return Timeout(ctx, time.Hour, func(ctx context.Context, _ *TimeoutScope) error {
			inner = Timeout(ctx, time.Millisecond, func(ctx context.Context, _ *TimeoutScope) error {
				return l.Sleep(ctx, time.Hour)
			})
			return l.Sleep(ctx, time.Millisecond)
		})
	})
	if err != nil || !errors.Is(inner, ErrTimeout) {
		t.Fatalf("outer %v, inner %v", err, inner)
	}
}

// A group shutting down refuses new children, whose functions never run (the task made for
// one is cancelled before its first step).
func TestCancelledBeforeStartNeverRuns(t *testing.T) {
	l := newLoop(t)
	ran := make(chan struct{}, 2)
	err := inTask(t, l, func(ctx context.Context) error {
		return RunTaskGroup(ctx, func(ctx context.Context, g *TaskGroup) error {
			g.Spawn("", func(context.Context) (any, error) { return nil, ErrIO })
			l.Sleep(ctx, time.Hour)
			_, err := g.Spawn("", func(context.Context) (any, error) { ran <- struct{}{}; return nil, nil })
			if !errors.Is(err, ErrInvalidState) {
				t.Errorf("spawn in a failing group: %v", err)
			}
			return nil
		})
	})
	if !errors.Is(err, ErrIO) {
		t.Fatal(err)
	}
	l.Sleep(context.Background(), time.Millisecond)
	if len(ran) != 0 {
		t.Fatal("a function ran")
	}
}

// A Timeout around a TaskGroup: the expiry cancels the body, the group cancels its
// children and lets the cancellation through, and the Timeout turns it into ErrTimeout.
func TestTimeoutAroundTaskGroup(t *testing.T) {
	l := newLoop(t)
	var childErr, groupErr error
	err := inTask(t, l, func(ctx context.Context) error {
		err := Timeout(ctx, time.Millisecond, func(ctx context.Context, _ *TimeoutScope) error {
			groupErr = RunTaskGroup(ctx, func(ctx context.Context, g *TaskGroup) error {
				started := make(chan struct{})
				g.Spawn("", func(ctx context.Context) (any, error) {
					close(started)
					childErr = l.Sleep(ctx, time.Hour)
					return nil, childErr
				})
				<-started // the child runs before the expiry can reach the group
				return l.Sleep(ctx, time.Hour)
			})
			return groupErr
		})
		if n, _ := CurrentTask(ctx).Cancelling(); n != 0 {
			t.Errorf("cancelling %d after the timeout", n)
		}
		return err
	})
	if !errors.Is(err, ErrTimeout) || !errors.Is(groupErr, ErrCancelled) || !errors.Is(childErr, context.Canceled) {
		t.Fatalf("timeout %v, group %v, child %v", err, groupErr, childErr)
	}
}
