// Package casetrace is the behaviour cases' trace for Go (README.md, "The trace format"):
// Emit prints one event line; errors print as the core's error names.
package casetrace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"weft.dev/weft"
)

// Emit prints one event: the tokens joined by single spaces. Errors become their name,
// []byte a quoted token, booleans true/false, nil none; a string is a word as it is.
func Emit(tokens ...any) {
	parts := make([]string, len(tokens))
	for i, t := range tokens {
		parts[i] = token(t)
	}
	fmt.Println(strings.Join(parts, " "))
}

func token(t any) string {
	switch v := t.(type) {
	case nil:
		return "none"
	case error:
		return Err(v)
	case []byte:
		return Q(v)
	case bool:
		return strconv.FormatBool(v)
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprint(t)
}

// Err is err's name in the core's error table, without the WEFT_ prefix; a TaskGroup's
// joined errors are EGROUP[...] in the order the group recorded them.
func Err(err error) string {
	if err == nil {
		return "none"
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok && fmt.Sprintf("%T", err) == "*errors.joinError" {
		names := make([]string, 0, len(j.Unwrap()))
		for _, e := range j.Unwrap() {
			names = append(names, Err(e))
		}
		return "EGROUP[" + strings.Join(names, ",") + "]"
	}
	var we *weft.Error
	switch {
	case errors.As(err, &we) && we.Code != weft.ErrCancelled.Code:
		return strings.TrimPrefix(we.Name(), "WEFT_")
	case errors.Is(err, weft.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "ETIMEDOUT"
	case errors.Is(err, weft.ErrCancelled), errors.Is(err, context.Canceled):
		return "ECANCELLED"
	}
	return "EUNKNOWN"
}

// Q quotes bytes as one token, as casetrace.q.
func Q(b []byte) string {
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '\\':
			s.WriteString(`\\`)
		case c == '"':
			s.WriteString(`\"`)
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\r':
			s.WriteString(`\r`)
		case c == '\t':
			s.WriteString(`\t`)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&s, `\x%02x`, c)
		default:
			s.WriteByte(c)
		}
	}
	s.WriteByte('"')
	return s.String()
}

// Run runs main as a task on a new loop (asyncio.run), and exits 1 on an error.
func Run(main func(ctx context.Context, l *weft.Loop) error) {
	l, err := weft.NewLoop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	task, err := l.Spawn("main", func(ctx context.Context) (any, error) { return nil, main(ctx, l) })
	if err == nil {
		_, err = task.Await(context.Background())
	}
	l.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "case:", err)
		os.Exit(1)
	}
}

// Turns orders lines that goroutines woken together would print in the order Go's
// scheduler picks: turn i waits until turn i-1 is done. asyncio runs the tasks it wakes
// one after another in one thread; goroutines run side by side, so a case that mirrors
// such a trace says the order, and the loop's part (who was woken, with what) is what it
// checks.
type Turns []chan struct{}

// NewTurns makes n turns; turn 0 may go at once.
func NewTurns(n int) Turns {
	t := make(Turns, n)
	for i := range t {
		t[i] = make(chan struct{})
	}
	return t
}

// Wait blocks until every turn before i is done.
func (t Turns) Wait(i int) {
	if i > 0 {
		<-t[i-1]
	}
}

// Done ends turn i.
func (t Turns) Done(i int) { close(t[i]) }

// untilSteps bounds Until: a condition that a task running beside the caller makes true
// holds after a few loop iterations; this many means the case is broken, not slow.
const untilSteps = 1000000

// Until yields to the loop (Sleep 0, asyncio's sleep(0)) until cond holds: the case waits
// for an event on the loop that no future reports, such as a task joining a Barrier.
func Until(ctx context.Context, l *weft.Loop, cond func() (bool, error)) error {
	for i := 0; i < untilSteps; i++ {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if err := l.Sleep(ctx, 0); err != nil {
			return err
		}
	}
	return errors.New("casetrace: the condition never held")
}

// IsDone is asyncio's Future.done().
func IsDone(f *weft.Future) bool {
	select {
	case <-f.Done():
		return true
	default:
		return false
	}
}

// Cancelled is asyncio's Future.cancelled(): done, with a cancellation.
func Cancelled(f *weft.Future) bool {
	if !IsDone(f) {
		return false
	}
	_, err := f.Await(context.Background())
	return errors.Is(err, weft.ErrCancelled)
}

// Sequence lets tasks go one at a time, each once the task before it is done (not only
// its function: its core future), where asyncio's step counts order them. Go(i) is the
// channel task i waits on; Start runs the order given by the tasks' futures.
type Sequence []chan struct{}

// NewSequence makes the gates of n tasks.
func NewSequence(n int) Sequence {
	s := make(Sequence, n)
	for i := range s {
		s[i] = make(chan struct{})
	}
	return s
}

// Go is the channel the task with gate i waits on before it runs.
func (s Sequence) Go(i int) <-chan struct{} { return s[i] }

// Start opens the gates in the order given (indexes into fs and s), each once the
// future before it is done.
func (s Sequence) Start(fs []*weft.Future, order ...int) {
	go func() {
		for k, i := range order {
			if k > 0 {
				<-fs[order[k-1]].Done()
			}
			close(s[i])
		}
	}()
}
