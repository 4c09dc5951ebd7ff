package weft

import (
	"fmt"
	"io"
	"syscall"
)

// netError is a core error met on a connection: errors.Is matches both the core's
// sentinel (ErrConnReset) and, for the operating system's codes, the syscall.Errno Go's
// net package would report (syscall.ECONNRESET).
type netError struct{ core *Error }

func (e *netError) Error() string { return e.core.Error() }

func (e *netError) Unwrap() []error {
	if e.core.Code < 0 && e.core.Code > ErrUnknown.Code {
		return []error{e.core, syscall.Errno(-e.core.Code)}
	}
	return []error{e.core}
}

// Timeout reports the core's timeouts (a TLS shutdown that outlasted its limit, say).
func (e *netError) Timeout() bool { return e.core.Code == ErrTimeout.Code }

// Temporary is part of the net.Error interface Go still checks for.
func (e *netError) Temporary() bool { return e.Timeout() }

func newNetError(code int, message string) error {
	return &netError{core: &Error{Code: code, Message: message}}
}

// IncompleteReadError is asyncio's IncompleteReadError: the stream ended before the
// expected bytes arrived; Partial holds what did. errors.Is matches ErrIncompleteRead, and
// io.ErrUnexpectedEOF (io.EOF when nothing arrived), as io.ReadFull would report.
type IncompleteReadError struct {
	Partial  []byte
	Expected int // readexactly's count; 0 for a read up to a separator
}

func (e *IncompleteReadError) Error() string {
	if e.Expected > 0 {
		return fmt.Sprintf("weft: %d bytes read on a total of %d expected bytes", len(e.Partial), e.Expected)
	}
	return fmt.Sprintf("weft: %d bytes read before the end of the stream, no separator", len(e.Partial))
}

func (e *IncompleteReadError) Unwrap() []error {
	if len(e.Partial) == 0 {
		return []error{ErrIncompleteRead, io.EOF}
	}
	return []error{ErrIncompleteRead, io.ErrUnexpectedEOF}
}

// LimitOverrunError is asyncio's LimitOverrunError: the reader's limit was reached before
// the separator; Consumed is how many bytes may be consumed without finding it. errors.Is
// matches ErrLimitOverrun.
type LimitOverrunError struct {
	Message  string
	Consumed int
}

func (e *LimitOverrunError) Error() string { return "weft: " + e.Message }
func (e *LimitOverrunError) Unwrap() error { return ErrLimitOverrun }
