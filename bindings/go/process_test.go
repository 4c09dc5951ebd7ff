package weft

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
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
