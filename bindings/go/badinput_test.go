package weft

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// Every exported call on a nil or zero value, or on an object of a closed loop, returns an
// error and never panics (issue 15, "Bad input"). Each call runs under recover, so one
// test names every call that panics.
func TestBadInputNeverPanics(t *testing.T) {
	ctx := context.Background()
	closed, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	cmdOfClosed := closed.Command("true")
	_ = closed.Close()
	var (
		l   *Loop
		f   *Future
		tk  *Task
		tg  *TaskGroup
		ts  *TimeoutScope
		cmd *Cmd
		p   *Process
		c   *Conn
		ln  *Listener
		pc  *PacketConn
		srv *Server
		ac  *AsCompleted
		tr  *Transport
	)
	calls := map[string]func() error{
		"Loop.Close":           func() error { return l.Close() },
		"Loop.Time":            func() error { _, err := l.Time(); return err },
		"Loop.Spawn":           func() error { _, err := l.Spawn("", nil); return err },
		"Loop.NewLock":         func() error { _, err := l.NewLock(); return err },
		"Loop.NewEvent":        func() error { _, err := l.NewEvent(); return err },
		"Loop.NewCondition":    func() error { _, err := l.NewCondition(nil); return err },
		"Loop.NewSemaphore":    func() error { _, err := l.NewSemaphore(1); return err },
		"Loop.NewBarrier":      func() error { _, err := l.NewBarrier(1); return err },
		"NewQueue":             func() error { _, err := NewQueue[int](l, 0); return err },
		"Loop.Sleep":           func() error { return l.Sleep(ctx, 0) },
		"Loop.SleepFuture":     func() error { _, err := l.SleepFuture(0); return err },
		"Loop.Gather":          func() error { _, err := l.Gather(ctx, false); return err },
		"Loop.Wait":            func() error { _, _, err := l.Wait(ctx, nil, AllCompleted, -1); return err },
		"Loop.WaitFor":         func() error { _, err := l.WaitFor(ctx, nil, 0); return err },
		"Loop.Shield":          func() error { _, err := l.Shield(nil); return err },
		"Loop.AsCompleted":     func() error { _, err := l.AsCompleted(nil, -1); return err },
		"Loop.AllTasks":        func() error { _, err := l.AllTasks(); return err },
		"Loop.Dial":            func() error { _, err := l.Dial("tcp", "127.0.0.1:1"); return err },
		"Loop.DialTLS":         func() error { _, err := l.DialTLS(ctx, "tcp", "127.0.0.1:1", nil); return err },
		"Loop.Listen":          func() error { _, err := l.Listen("tcp", "127.0.0.1:0"); return err },
		"Loop.ListenTLS":       func() error { _, err := l.ListenTLS("tcp", "127.0.0.1:0", nil); return err },
		"Loop.ListenPacket":    func() error { _, err := l.ListenPacket("udp", "127.0.0.1:0"); return err },
		"Loop.ListenTCP":       func() error { _, err := l.ListenTCP(ctx, "127.0.0.1", 0, nil); return err },
		"Loop.ListenUnix":      func() error { _, err := l.ListenUnix(ctx, "", nil); return err },
		"Loop.Command.Start":   func() error { return l.Command("true").Start() },
		"Loop.Shell.Run":       func() error { return l.Shell("true").Run() },
		"Future.Await":         func() error { _, err := f.Await(ctx); return err },
		"Future.Cancel":        func() error { _, err := f.Cancel(); return err },
		"Future.Done":          func() error { f.Done(); return ErrInval },
		"Task.Cancel":          func() error { _, err := tk.Cancel(); return err },
		"Task.Cancelling":      func() error { _, err := tk.Cancelling(); return err },
		"Task.Uncancel":        func() error { _, err := tk.Uncancel(); return err },
		"Task.Name":            func() error { _, err := tk.Name(); return err },
		"Task.Await":           func() error { _, err := tk.Await(ctx); return err },
		"TaskGroup.Spawn":      func() error { _, err := tg.Spawn("", nil); return err },
		"TaskGroup.Cancel":     func() error { return tg.Cancel() },
		"RunTaskGroup":         func() error { return RunTaskGroup(ctx, nil) },
		"Timeout":              func() error { return Timeout(ctx, time.Second, nil) },
		"TimeoutScope.When":    func() error { _, err := ts.When(); return err },
		"TimeoutScope.Expired": func() error { _, err := ts.Expired(); return err },
		"CurrentTask":          func() error { CurrentTask(ctx).Name(); return ErrInval },
		"Cmd.Start":            func() error { return cmd.Start() },
		"Cmd.Wait":             func() error { return cmd.Wait() },
		"Cmd.Run":              func() error { return cmd.Run() },
		"Cmd.Output":           func() error { _, err := cmd.Output(); return err },
		"Cmd.CombinedOutput":   func() error { _, err := cmd.CombinedOutput(); return err },
		"Cmd.StdinPipe":        func() error { _, err := cmd.StdinPipe(); return err },
		"Cmd.StdoutPipe":       func() error { _, err := cmd.StdoutPipe(); return err },
		"Cmd.StderrPipe":       func() error { _, err := cmd.StderrPipe(); return err },
		"zero Cmd.Output":      func() error { _, err := new(Cmd).Output(); return err },
		"zero Cmd pipes": func() error {
			var z Cmd
			out, err := z.StdoutPipe()
			if err != nil {
				return err
			}
			_, err = out.Read(make([]byte, 1))
			return err
		},
		"closed loop Cmd.Start": func() error { return cmdOfClosed.Start() },
		"Process.Kill":          func() error { return p.Kill() },
		"Process.Signal":        func() error { return p.Signal(nil) },
		"Conn.Read":             func() error { _, err := c.Read(nil); return err },
		"Conn.Write":            func() error { _, err := c.Write(nil); return err },
		"Conn.Close":            func() error { return c.Close() },
		"Conn.ReadLine":         func() error { _, err := c.ReadLine(); return err },
		"zero Conn.Read":        func() error { _, err := new(Conn).Read(nil); return err },
		"zero Conn.Close":       func() error { return new(Conn).Close() },
		"Listener.Accept":       func() error { _, err := ln.Accept(); return err },
		"Listener.Close":        func() error { return ln.Close() },
		"zero Listener.Accept":  func() error { _, err := new(Listener).Accept(); return err },
		"PacketConn.ReadFrom":   func() error { _, _, err := pc.ReadFrom(nil); return err },
		"PacketConn.WriteTo":    func() error { _, err := pc.WriteTo(nil, nil); return err },
		"PacketConn.Close":      func() error { return pc.Close() },
		"zero PacketConn.Close": func() error { return new(PacketConn).Close() },
		"Server.Port":           func() error { _, err := srv.Port(); return err },
		"Server.Close":          func() error { return srv.Close() },
		"AsCompleted.Next":      func() error { _, err := ac.Next(ctx); return err },
		"Transport.Write":       func() error { return tr.Write(nil) },
	}
	var panicked []string
	for name, call := range calls {
		func() {
			defer func() {
				if r := recover(); r != nil {
					panicked = append(panicked, fmt.Sprintf("%s: %v", name, r))
				}
			}()
			if err := call(); err == nil {
				panicked = append(panicked, name+": no error")
			} else if errors.Is(err, io.EOF) {
				panicked = append(panicked, name+": io.EOF")
			}
		}()
	}
	if len(panicked) > 0 {
		t.Fatalf("%d calls panicked or did not fail:\n%s", len(panicked), joinLines(panicked))
	}
}

func joinLines(ss []string) string {
	out := ""
	for _, s := range ss {
		out += "  " + s + "\n"
	}
	return out
}

// A future of another loop given to a combinator makes it fail with ErrInval; the future
// itself is left as it was.
func TestFuturesOfAnotherLoop(t *testing.T) {
	l, other := newLoop(t), newLoop(t)
	ctx := context.Background()
	f, err := other.SleepFuture(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Shield(f)
	if err == nil {
		_, err = s.Await(ctx)
	}
	if !errors.Is(err, ErrInval) {
		t.Fatalf("Shield: %v", err)
	}
	if _, err := l.WaitFor(ctx, f, time.Second); !errors.Is(err, ErrInval) {
		t.Fatalf("WaitFor: %v", err)
	}
	if _, _, err := l.Wait(ctx, []*Future{f}, AllCompleted, -1); !errors.Is(err, ErrInval) {
		t.Fatalf("Wait: %v", err)
	}
	it, err := l.AsCompleted([]*Future{f}, -1)
	if err == nil {
		_, err = it.Next(ctx)
	}
	if !errors.Is(err, ErrInval) {
		t.Fatalf("AsCompleted: %v", err)
	}
	if ok, err := f.Cancel(); !ok || err != nil {
		t.Fatalf("the future after: %v %v", ok, err)
	}
}

// panicProtocol panics in DataReceived, after telling the test it got there.
type panicProtocol struct{ got chan struct{} }

func (p *panicProtocol) ConnectionMade(*Transport) {}
func (p *panicProtocol) DataReceived([]byte) {
	close(p.got)
	panic("a protocol's bug")
}
func (p *panicProtocol) EOFReceived() bool    { return false }
func (p *panicProtocol) ConnectionLost(error) {}

// A panic in Go code the core calls (a Protocol method, a WaitFor predicate) is reported
// and goes no further: it never unwinds through C, and the loop runs on.
func TestPanicInCallbackDoesNotUnwindThroughC(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	p := &panicProtocol{got: make(chan struct{})}
	srv, err := l.ListenTCP(ctx, "127.0.0.1", 0, func() Protocol { return p })
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	port, err := srv.Port()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	<-p.got
	// The predicate is asked at once, on the loop goroutine: a panic there counts as
	// false, so WaitFor waits for a notify.
	cond, _ := l.NewCondition(nil)
	if err := cond.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- cond.WaitFor(ctx, func() bool {
			if calls.Add(1) == 1 {
				panic("a predicate's bug")
			}
			return true
		})
	}()
	// WaitFor asks the predicate where it releases the lock and waits: then Notify may come.
	for i := 0; calls.Load() == 0; i++ {
		if err := l.Sleep(ctx, 0); err != nil || i == 1000000 {
			t.Fatalf("the predicate was never asked: %v", err)
		}
	}
	if err := cond.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cond.Notify(1); err != nil {
		t.Fatal(err)
	}
	_ = cond.Unlock()
	if err := <-done; err != nil || calls.Load() != 2 {
		t.Fatalf("WaitFor after its predicate panicked: %v, %d calls", err, calls.Load())
	}
	_ = cond.Unlock()
	if err := l.Sleep(ctx, 0); err != nil {
		t.Fatalf("the loop after the panics: %v", err)
	}
}
