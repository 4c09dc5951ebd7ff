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
