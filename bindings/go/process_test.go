package weft

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestCommandOutputAndExitCode(t *testing.T) {
	l := newLoop(t)
	out, err := l.Command("echo", "hello", "world").Output()
	if err != nil || string(out) != "hello world\n" {
		t.Fatalf("output %q %v", out, err)
	}
	out, err = l.Command("sh", "-c", "echo partial; echo why >&2; exit 3").Output()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || ee.Exited() == false || string(out) != "partial\n" {
		t.Fatalf("exit error %v, output %q", err, out)
	}
	if string(ee.Stderr) != "why\n" || ee.ProcessState.Success() {
		t.Fatalf("stderr %q", ee.Stderr)
	}
	both, err := l.Command("sh", "-c", "echo a; echo b >&2").CombinedOutput()
	if err != nil || !strings.Contains(string(both), "a\n") || !strings.Contains(string(both), "b\n") {
		t.Fatalf("combined %q %v", both, err)
	}
}

func TestCommandNotFound(t *testing.T) {
	l := newLoop(t)
	err := l.Command("/nonexistent/program").Run()
	if !errors.Is(err, ErrNoent) {
		t.Fatalf("missing program: %v", err)
	}
	var c Cmd
	if err := c.Start(); !errors.Is(err, ErrInval) {
		t.Fatalf("a Cmd not made by Command: %v", err)
	}
}

// Pipes both ways: what goes into cat's stdin comes back from its stdout.
func TestCommandPipes(t *testing.T) {
	l := newLoop(t)
	cmd := l.Command("cat")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("0123456789abcdef"), 64*1024) // 1 MiB: more than a pipe holds
	go func() {
		in.Write(payload)
		in.Close()
	}()
	got, err := io.ReadAll(out)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if err := cmd.Wait(); err != nil || cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("wait %v", err)
	}
}

// Stdin from a reader and stdout into a writer go through copying goroutines.
func TestCommandReaderAndWriter(t *testing.T) {
	l := newLoop(t)
	cmd := l.Command("tr", "a-z", "A-Z")
	cmd.Stdin = strings.NewReader("shout\n")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil || out.String() != "SHOUT\n" {
		t.Fatalf("%q %v", out.String(), err)
	}
}

// A pipeline: one child's stdout pipe is the next one's stdin.
func TestCommandPipeline(t *testing.T) {
	l := newLoop(t)
	first := l.Command("printf", "b\\na\\nc\\n")
	second := l.Command("sort")
	pipe, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	second.Stdin = pipe
	var out bytes.Buffer
	second.Stdout = &out
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "a\nb\nc\n" {
		t.Fatalf("%q", out.String())
	}
}

func TestProcessKillAndSignal(t *testing.T) {
	l := newLoop(t)
	cmd := l.Command("sleep", "3600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if cmd.Process.Pid <= 0 {
		t.Fatalf("pid %d", cmd.Process.Pid)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Signal() != syscall.SIGTERM || ee.ExitCode() != -1 || ee.ReturnCode() != -int(syscall.SIGTERM) {
		t.Fatalf("wait %v", err)
	}
	if err := cmd.Process.Kill(); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("kill after exit: %v", err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
}

func TestCommandContextKills(t *testing.T) {
	l := newLoop(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := l.CommandContext(ctx, "sleep", "3600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cancel()
	err := cmd.Wait()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Signal() != syscall.SIGKILL {
		t.Fatalf("wait %v", err)
	}
}

func TestCommandEnvAndDir(t *testing.T) {
	l := newLoop(t)
	cmd := l.Command("sh", "-c", "echo $WEFT_GO_VAR; pwd")
	cmd.Env = []string{"WEFT_GO_VAR=set", "PATH=" + os.Getenv("PATH")}
	cmd.Dir = "/"
	out, err := cmd.Output()
	if err != nil || string(out) != "set\n/\n" {
		t.Fatalf("%q %v", out, err)
	}
	bad := l.Command("echo", "a\x00b")
	if err := bad.Run(); !errors.Is(err, ErrInval) {
		t.Fatalf("NUL in an argument: %v", err)
	}
}

// The shell form: one command line, run by /bin/sh -c in the core.
func TestShell(t *testing.T) {
	l := newLoop(t)
	cmd := l.Shell("printf 'a b\\n' | tr a-z A-Z; exit 4")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 || string(out) != "A B\n" {
		t.Fatalf("shell output %q, error %v", out, err)
	}
	if out, err := l.Shell(`echo "$0"`).Output(); err != nil || string(out) != "/bin/sh\n" {
		t.Fatalf("the shell: %q %v", out, err)
	}
	bad := l.Shell("true")
	bad.Args = append(bad.Args, "extra")
	if err := bad.Start(); !errors.Is(err, ErrInval) {
		t.Fatalf("a shell Cmd with two lines: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd = l.ShellContext(ctx, "sleep 30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := cmd.Wait(); err == nil || cmd.ProcessState.Signal() != syscall.SIGKILL {
		t.Fatalf("ShellContext's cancellation: %v", err)
	}
}

// StdoutPipe and StderrPipe read through the read-ahead, in reads of every size, both at
// once; bytes keep their order; Close then makes reads see EOF.
func TestPipesReadAhead(t *testing.T) {
	l := newLoop(t)
	const size = 3<<20 + 17
	cmd := l.Shell("head -c 3145745 /dev/urandom | tee /dev/stderr")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var errOut []byte
	errDone := make(chan error, 1)
	go func() {
		var err error
		errOut, err = io.ReadAll(stderr)
		errDone <- err
	}()
	var out []byte
	for n := 1; ; n = n%70000 + 7 { // reads of many sizes, below and above the read-ahead
		b := make([]byte, n)
		k, err := stdout.Read(b)
		out = append(out, b[:k]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := <-errDone; err != nil {
		t.Fatal(err)
	}
	if len(out) != size || !bytes.Equal(out, errOut) {
		t.Fatalf("stdout %d bytes, stderr %d bytes, equal %v", len(out), len(errOut), bytes.Equal(out, errOut))
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}

	cmd = l.Command("yes")
	stdout, _ = cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := stdout.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	stdout.Close()
	if n, err := stdout.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("read after Close: %d %v", n, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
}

// BenchmarkStdoutPipe reads a child's 64 MiB through StdoutPipe in 4 KiB and in 32 KiB
// reads (docs/benchmarks.md).
func BenchmarkStdoutPipe(b *testing.B) {
	l, err := NewLoop()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const size = 64 << 20
	for _, readSize := range []int{4 << 10, 32 << 10} {
		b.Run(fmt.Sprintf("read=%dKiB", readSize>>10), func(b *testing.B) {
			buf := make([]byte, readSize)
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				cmd := l.Command("head", "-c", strconv.Itoa(size), "/dev/zero")
				out, _ := cmd.StdoutPipe()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				total := 0
				for {
					n, err := out.Read(buf)
					total += n
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if err := cmd.Wait(); err != nil || total != size {
					b.Fatalf("%d bytes, %v", total, err)
				}
			}
		})
	}
}

// BenchmarkStdinPipe writes 64 MiB to a child's stdin (cat > /dev/null) through StdinPipe
// in 4 KiB and in 32 KiB writes (docs/benchmarks.md).
func BenchmarkStdinPipe(b *testing.B) {
	l, err := NewLoop()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const size = 64 << 20
	for _, writeSize := range []int{4 << 10, 32 << 10} {
		b.Run(fmt.Sprintf("write=%dKiB", writeSize>>10), func(b *testing.B) {
			buf := make([]byte, writeSize)
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				cmd := l.Command("cat")
				in, _ := cmd.StdinPipe()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				for n := 0; n < size; n += writeSize {
					if _, err := in.Write(buf); err != nil {
						b.Fatal(err)
					}
				}
				if err := in.Close(); err != nil {
					b.Fatal(err)
				}
				if err := cmd.Wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
