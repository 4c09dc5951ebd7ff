package weft

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"

	"weft.dev/weft/internal/raw"
)

type processPtr = raw.SwigcptrStruct_SS_weft_process_s

// Cmd is a command to run as a subprocess of the loop (asyncio's create_subprocess_exec),
// in the shape of os/exec's Cmd: set its fields, then Run, Output or Start and Wait.
type Cmd struct {
	// Path and Args as os/exec's: Args[0] is the program's name, searched in PATH
	// (Shell: Path is empty and Args holds the one command line).
	Path string
	Args []string
	Env  []string // "NAME=value"; nil: the parent's environment
	Dir  string   // "": the parent's working directory

	// Where the child's stdin, stdout and stderr go: nil is the null device; an *os.File
	// is handed to the child as it is; any other reader or writer gets a pipe that a
	// goroutine copies through, as os/exec does. StdinPipe/StdoutPipe/StderrPipe instead.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	Process      *Process      // once started
	ProcessState *ProcessState // once Wait is done

	l        *Loop
	ctx      context.Context
	shell    bool    // Args[0] is a command line for /bin/sh -c (Shell)
	pipes    [3]bool // StdinPipe / StdoutPipe / StderrPipe were asked for
	stdin    *processWriter
	stdout   *processReader
	stderr   *processReader
	copying  sync.WaitGroup
	copyErrs []error
	copyMu   sync.Mutex
	waitDone chan struct{}
	waited   bool
}

// Shell is Command for a command line that /bin/sh -c runs (asyncio's
// create_subprocess_shell, the core's weft_create_subprocess_shell): Args holds the line.
func (l *Loop) Shell(command string) *Cmd {
	return &Cmd{Args: []string{command}, l: l, shell: true}
}

// ShellContext is Shell whose child is killed (Process.Kill) if ctx ends before the child
// exits.
func (l *Loop) ShellContext(ctx context.Context, command string) *Cmd {
	c := l.Shell(command)
	c.ctx = ctx
	return c
}

// Command is os/exec's Command, on the loop.
func (l *Loop) Command(name string, arg ...string) *Cmd {
	return &Cmd{Path: name, Args: append([]string{name}, arg...), l: l}
}

// CommandContext is Command whose child is killed (Process.Kill) if ctx ends before the
// child exits.
func (l *Loop) CommandContext(ctx context.Context, name string, arg ...string) *Cmd {
	c := l.Command(name, arg...)
	c.ctx = ctx
	return c
}

// Process is a running child: asyncio's Process.
type Process struct {
	Pid int
	l   *Loop
	ptr processPtr // the Go object's reference, given back when it is garbage
}

// ProcessState is a child's exit: asyncio's returncode, read as os.ProcessState.
type ProcessState struct {
	pid        int
	returncode int // the exit status, or minus the signal that ended the child
}

// ExitCode is the exit status, or -1 when a signal ended the child (as os.ProcessState).
func (s *ProcessState) ExitCode() int {
	if s == nil || s.returncode < 0 {
		return -1
	}
	return s.returncode
}

// Exited reports whether the child called exit (rather than being ended by a signal).
func (s *ProcessState) Exited() bool { return s != nil && s.returncode >= 0 }

// Success reports an exit with status 0.
func (s *ProcessState) Success() bool { return s != nil && s.returncode == 0 }

// Signal is the signal that ended the child, or -1.
func (s *ProcessState) Signal() syscall.Signal {
	if s == nil || s.returncode >= 0 {
		return -1
	}
	return syscall.Signal(-s.returncode)
}

// ReturnCode is asyncio's Process.returncode: the exit status, or minus the signal.
func (s *ProcessState) ReturnCode() int { return s.returncode }

// Pid is the child's process id.
func (s *ProcessState) Pid() int { return s.pid }

func (s *ProcessState) String() string {
	if s.returncode < 0 {
		return "signal: " + syscall.Signal(-s.returncode).String()
	}
	return fmt.Sprintf("exit status %d", s.returncode)
}

// ExitError is Wait's error for a child that did not exit with status 0.
type ExitError struct {
	*ProcessState
	Stderr []byte // what Output collected from stderr, when Cmd.Stderr was nil
}

func (e *ExitError) Error() string { return e.ProcessState.String() }

// Kill sends SIGKILL. ErrProcessDone once the child was reaped.
func (p *Process) Kill() error { return p.Signal(syscall.SIGKILL) }

// ErrProcessDone is returned for a signal sent to a child already reaped (asyncio's
// ProcessLookupError): it is also os.ErrProcessDone.
var ErrProcessDone = &processDoneError{}

type processDoneError struct{}

func (*processDoneError) Error() string   { return os.ErrProcessDone.Error() }
func (*processDoneError) Unwrap() []error { return []error{os.ErrProcessDone, ErrSrch} }

// Signal sends sig (a syscall.Signal) to the child.
func (p *Process) Signal(sig os.Signal) error {
	if p == nil || p.l == nil {
		return ErrInval
	}
	s, ok := sig.(syscall.Signal)
	if !ok {
		return ErrInval
	}
	return p.l.call(func() error {
		if p.ptr == 0 {
			return ErrClosed
		}
		rc := raw.Weft_process_send_signal(p.ptr, int(s))
		if rc == int(raw.WEFT_ESRCH) {
			return ErrProcessDone
		}
		return codeError(rc)
	})
}

var errAlreadyStarted = errors.New("weft: the command was already started")

// StdinPipe is a pipe to the child's stdin: closing it gives the child EOF. Wait closes it
// too. Call before Start.
func (c *Cmd) StdinPipe() (io.WriteCloser, error) {
	if c == nil {
		return nil, ErrInval
	}
	if c.Process != nil {
		return nil, errAlreadyStarted
	}
	if c.Stdin != nil || c.pipes[0] {
		return nil, errors.New("weft: Stdin already set")
	}
	c.pipes[0] = true
	c.stdin = &processWriter{cmd: c}
	return c.stdin, nil
}

// StdoutPipe is a pipe from the child's stdout; Wait closes it, so read it to EOF first.
func (c *Cmd) StdoutPipe() (io.ReadCloser, error) {
	if c == nil {
		return nil, ErrInval
	}
	if c.Process != nil {
		return nil, errAlreadyStarted
	}
	if c.Stdout != nil || c.pipes[1] {
		return nil, errors.New("weft: Stdout already set")
	}
	c.pipes[1] = true
	c.stdout = &processReader{cmd: c, fd: 1}
	return c.stdout, nil
}

// StderrPipe is StdoutPipe for stderr.
func (c *Cmd) StderrPipe() (io.ReadCloser, error) {
	if c == nil {
		return nil, ErrInval
	}
	if c.Process != nil {
		return nil, errAlreadyStarted
	}
	if c.Stderr != nil || c.pipes[2] {
		return nil, errors.New("weft: Stderr already set")
	}
	c.pipes[2] = true
	c.stderr = &processReader{cmd: c, fd: 2}
	return c.stderr, nil
}

// stdio is how one of the child's descriptors is set up, and what copies for it.
func stdio(x any, pipe bool) (mode, fd int, copyPipe bool) {
	switch {
	case pipe:
		return int(raw.WEFT_STDIO_PIPE), 0, false
	case x == nil:
		return int(raw.WEFT_STDIO_DEVNULL), 0, false
	}
	if f, ok := x.(*os.File); ok && f != nil {
		return int(raw.WEFT_STDIO_FD), int(f.Fd()), false
	}
	return int(raw.WEFT_STDIO_PIPE), 0, true
}

func zeroJoined(items []string) ([]byte, error) {
	var b bytes.Buffer
	for _, s := range items {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, ErrInval
		}
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.Bytes(), nil
}

// Start starts the child without waiting for it.
func (c *Cmd) Start() error {
	if c == nil || c.l == nil {
		return ErrInval
	}
	if c.Process != nil {
		return errAlreadyStarted
	}
	args := c.Args
	if len(args) == 0 {
		args = []string{c.Path}
	}
	if c.Path != "" && !c.shell {
		args = append([]string{c.Path}, args[1:]...)
	}
	if c.shell && len(args) != 1 {
		return ErrInval
	}
	argz, err := zeroJoined(args)
	if err != nil {
		return err
	}
	envz, err := zeroJoined(c.Env)
	if err != nil {
		return err
	}
	var cwdz []byte
	if c.Dir != "" {
		cwdz = append([]byte(c.Dir), 0)
	}
	inMode, inFd, copyIn := stdio(c.Stdin, c.pipes[0])
	outMode, outFd, copyOut := stdio(c.Stdout, c.pipes[1])
	errMode, errFd, copyErr := stdio(c.Stderr, c.pipes[2])
	// The same writer for both: one pipe, as os/exec does, stderr going where stdout goes.
	sameWriter := copyOut && copyErr && interfaceEqual(c.Stdout, c.Stderr)
	if sameWriter {
		errMode, copyErr = int(raw.WEFT_STDIO_STDOUT), false
	}
	if c.stdin == nil && copyIn {
		c.stdin = &processWriter{cmd: c}
	}
	if c.stdout == nil && copyOut {
		c.stdout = &processReader{cmd: c, fd: 1}
	}
	if c.stderr == nil && copyErr {
		c.stderr = &processReader{cmd: c, fd: 2}
	}
	useEnv := 0
	if c.Env != nil {
		useEnv = 1
	}
	p := &Process{l: c.l}
	err = c.l.call(func() error {
		var ptr processPtr
		shell := 0
		if c.shell {
			shell = 1
		}
		rc := raw.Weftgo_process_start(c.l.ptr, shell, argz, envz, useEnv, cwdz, inMode, inFd, outMode, outFd, errMode, errFd, &ptr)
		if rc != 0 {
			return &Error{Code: rc, Message: fmt.Sprintf("cannot run %q: %s", args[0], (&Error{Code: rc}).Error())}
		}
		p.ptr = ptr
		p.Pid = raw.Weft_process_pid(ptr)
		for _, r := range []*processReader{c.stdout, c.stderr} {
			if r != nil {
				r.start(c.l, ptr)
			}
		}
		if c.stdin != nil {
			c.stdin.start(c.l, ptr)
		}
		own(c.l, p, func() {
			raw.Weft_process_release(p.ptr)
			p.ptr = 0
		})
		return nil
	})
	if err != nil {
		return err
	}
	c.Process = p
	c.waitDone = make(chan struct{})
	if copyIn {
		c.copy(func() error {
			_, err := io.Copy(c.stdin, c.Stdin)
			if cerr := c.stdin.Close(); err == nil {
				err = cerr
			}
			if errors.Is(err, ErrPipe) || errors.Is(err, ErrConnReset) {
				err = nil // the child did not read all of it: not an error (os/exec ignores EPIPE)
			}
			return err
		})
	}
	if copyOut {
		c.copy(func() error { _, err := io.Copy(c.Stdout, c.stdout); return err })
	}
	if copyErr {
		c.copy(func() error { _, err := io.Copy(c.Stderr, c.stderr); return err })
	}
	if c.ctx != nil {
		go func() {
			select {
			case <-c.ctx.Done():
				_ = p.Kill()
			case <-c.waitDone:
			}
		}()
	}
	return nil
}

func interfaceEqual(a, b any) (eq bool) {
	defer func() { recover() }() // an uncomparable writer is simply not the same one
	return a == b
}

func (c *Cmd) copy(fn func() error) {
	c.copying.Add(1)
	go func() {
		defer c.copying.Done()
		if err := fn(); err != nil {
			c.copyMu.Lock()
			c.copyErrs = append(c.copyErrs, err)
			c.copyMu.Unlock()
		}
	}()
}

// Wait waits for the child to exit and for the copying to and from it to end, then closes
// the pipes. An exit status other than 0 is an *ExitError.
func (c *Cmd) Wait() error {
	if c == nil || c.Process == nil {
		return errors.New("weft: the command was not started")
	}
	if c.waited {
		return errors.New("weft: Wait was already called")
	}
	c.waited = true
	p := c.Process
	f, err := c.l.start(func() (futPtr, int) {
		if p.ptr == 0 {
			return 0, int(raw.WEFT_ECLOSED)
		}
		var w futPtr
		rc := raw.Weft_process_wait(p.ptr, &w)
		return w, rc
	}, resultOf)
	var v any
	if err == nil {
		v, err = f.Await(context.Background())
	}
	close(c.waitDone)
	c.copying.Wait()
	if c.stdin != nil {
		_ = c.stdin.Close()
	}
	if err != nil {
		return err
	}
	code, _ := v.(int64)
	c.ProcessState = &ProcessState{pid: p.Pid, returncode: int(code)}
	if code != 0 {
		return &ExitError{ProcessState: c.ProcessState}
	}
	if len(c.copyErrs) > 0 {
		return errors.Join(c.copyErrs...)
	}
	return nil
}

// Run starts the child and waits for it.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Output runs the child and returns what it wrote to stdout; with Stderr unset, an
// *ExitError carries what it wrote to stderr.
func (c *Cmd) Output() ([]byte, error) {
	if c == nil {
		return nil, ErrInval
	}
	if c.Stdout != nil {
		return nil, errors.New("weft: Stdout already set")
	}
	var out, errOut bytes.Buffer
	c.Stdout = &out
	captureErr := c.Stderr == nil
	if captureErr {
		c.Stderr = &errOut
	}
	err := c.Run()
	var ee *ExitError
	if captureErr && errors.As(err, &ee) {
		ee.Stderr = errOut.Bytes()
	}
	return out.Bytes(), err
}

// CombinedOutput runs the child and returns its stdout and stderr, interleaved.
func (c *Cmd) CombinedOutput() ([]byte, error) {
	if c == nil {
		return nil, ErrInval
	}
	if c.Stdout != nil || c.Stderr != nil {
		return nil, errors.New("weft: Stdout or Stderr already set")
	}
	var b bytes.Buffer
	c.Stdout, c.Stderr = &b, &b
	err := c.Run()
	return b.Bytes(), err
}

// processReader reads one of the child's output pipes with a Conn's read-ahead
// (newPipe), set up when the child starts.
type processReader struct {
	cmd    *Cmd
	fd     int
	mu     sync.Mutex
	s      *connState // once started
	closed bool
}

// start gives the reader its read-ahead over the child's stream (loop goroutine).
func (r *processReader) start(l *Loop, p processPtr) {
	s := raw.Weft_process_stdout(p)
	if r.fd == 2 {
		s = raw.Weft_process_stderr(p)
	}
	if s.Swigcptr() == 0 {
		return
	}
	ps := newPipe(l, r, readerPtr(raw.Weft_stream_reader_retain(s).Swigcptr()), 0)
	r.mu.Lock()
	r.s = ps
	r.mu.Unlock()
}

func (r *processReader) Read(b []byte) (int, error) {
	r.mu.Lock()
	s, closed := r.s, r.closed
	r.mu.Unlock()
	switch {
	case closed:
		return 0, io.EOF
	case r.cmd.Process == nil:
		return 0, errors.New("weft: the command was not started")
	case s == nil:
		return 0, ErrInvalidState
	}
	return s.Read(b)
}

// Close stops reading: later reads see EOF. The pipe itself closes with the process.
func (r *processReader) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}

// processWriter writes to the child's stdin with a Conn's write queue (newPipe), set up
// when the child starts: a Write costs no handoff of its own and waits only while the pipe
// is above its write-buffer limits.
type processWriter struct {
	cmd    *Cmd
	mu     sync.Mutex
	s      *connState // once started
	closed bool
}

// start gives the writer its queue over the child's stdin (loop goroutine).
func (w *processWriter) start(l *Loop, p processPtr) {
	sw := raw.Weft_process_stdin(p)
	if sw.Swigcptr() == 0 {
		return
	}
	ps := newPipe(l, w, 0, writerPtr(raw.Weft_stream_writer_retain(sw).Swigcptr()))
	w.mu.Lock()
	w.s = ps
	w.mu.Unlock()
}

func (w *processWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	s, closed := w.s, w.closed
	w.mu.Unlock()
	switch {
	case closed:
		return 0, os.ErrClosed
	case w.cmd.Process == nil:
		return 0, errors.New("weft: the command was not started")
	case s == nil:
		return 0, ErrInvalidState
	}
	return s.Write(b)
}

// Close closes the child's stdin once what is queued is written. Harmless twice.
func (w *processWriter) Close() error {
	w.mu.Lock()
	s, closed := w.s, w.closed
	w.closed = true
	w.mu.Unlock()
	if closed || s == nil {
		return nil
	}
	if err := s.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
