package weft

import (
	"context"

	"weft.dev/weft/internal/raw"
)

// Event is asyncio's Event, the core's weft_event_t.
type Event struct {
	l   *Loop
	ptr raw.SwigcptrStruct_SS_weft_event_s
}

// NewEvent creates a cleared event.
func (l *Loop) NewEvent() (*Event, error) {
	var p raw.SwigcptrStruct_SS_weft_event_s
	return newObject(l, func() int { return raw.Weft_event_new(l.ptr, &p) },
		func() *Event { return &Event{l: l, ptr: p} },
		func() { raw.Weft_event_release(p) })
}

func (e *Event) loop() (*Loop, error) {
	if e == nil || e.l == nil {
		return nil, ErrInval
	}
	return e.l, nil
}

// Wait waits until the flag is set.
func (e *Event) Wait(ctx context.Context) error {
	l, err := e.loop()
	if err != nil {
		return err
	}
	_, err = l.await(ctx, func(out *futPtr) int { return raw.Weft_event_wait(e.ptr, out) })
	return err
}

// Set sets the flag and wakes every waiter.
func (e *Event) Set() error {
	l, err := e.loop()
	if err != nil {
		return err
	}
	return l.call(func() error { return codeError(raw.Weft_event_set(e.ptr)) })
}

// Clear clears the flag.
func (e *Event) Clear() error {
	l, err := e.loop()
	if err != nil {
		return err
	}
	return l.call(func() error { return codeError(raw.Weft_event_clear(e.ptr)) })
}

// IsSet reports whether the flag is set.
func (e *Event) IsSet() (bool, error) {
	l, err := e.loop()
	if err != nil {
		return false, err
	}
	var set bool
	err = l.call(func() error { set = raw.Weft_event_is_set(e.ptr) == 1; return nil })
	return set, err
}
