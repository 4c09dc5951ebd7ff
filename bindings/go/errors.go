package weft

//go:generate go run ./internal/errgen ../../core/include/weft/error.h errors_table.go

import (
	"context"
	"errors"
	"fmt"
)

type errorInfo struct {
	name        string
	description string
}

// Error is an error of the core: its code (a negative WEFT_E* value) and, when the core
// gave one, its own message. errors.Is matches it against the sentinels (ErrCancelled,
// ErrTimeout, ErrQueueShutDown, ...) by code.
type Error struct {
	Code    int
	Message string
}

// Name is the code's symbolic name, as the core spells it ("WEFT_ECANCELLED").
func (e *Error) Name() string {
	if info, ok := errorTable[e.Code]; ok {
		return info.name
	}
	return fmt.Sprintf("WEFT_E(%d)", e.Code)
}

func (e *Error) Error() string {
	text := e.Message
	if text == "" {
		if info, ok := errorTable[e.Code]; ok {
			text = info.description
		} else {
			text = "unknown error"
		}
	}
	return "weft: " + text + " (" + e.Name() + ")"
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// codeError turns a return code into an error: nil for 0 and positive counts.
func codeError(code int) error {
	if code >= 0 {
		return nil
	}
	return &Error{Code: code}
}

// cancelError is what an Await cancelled by its context returns: it is the context's
// error (context.Canceled or context.DeadlineExceeded) and the core's ErrCancelled; a
// passed deadline is also ErrTimeout, as a Timeout's expiry is.
type cancelError struct {
	ctxErr error
	core   *Error
}

func (e *cancelError) Error() string { return e.ctxErr.Error() }
func (e *cancelError) Unwrap() []error {
	if errors.Is(e.ctxErr, context.DeadlineExceeded) {
		return []error{e.ctxErr, e.core, ErrTimeout}
	}
	return []error{e.ctxErr, e.core}
}
