package weft

import (
	"context"
	"time"

	"weft.dev/weft/internal/raw"
)

// AsCompleted is asyncio's as_completed: it hands out the inputs in the order they finish.
type AsCompleted struct {
	l      *Loop
	ptr    raw.SwigcptrStruct_SS_weft_as_completed_s
	inputs map[futPtr]*Future // by core future, read on the loop goroutine
}

// AsCompleted starts the iteration over fs; timeout (negative: none) bounds the whole of it.
func (l *Loop) AsCompleted(fs []*Future, timeout time.Duration) (*AsCompleted, error) {
	if l == nil {
		return nil, ErrInval
	}
	secs := -1.0
	if timeout >= 0 {
		secs = seconds(timeout)
	}
	var it *AsCompleted
	err := l.call(func() error {
		ps, err := l.ptrs(fs)
		if err != nil {
			return err
		}
		var p raw.SwigcptrStruct_SS_weft_as_completed_s
		if rc := raw.Weft_as_completed_new(l.ptr, ps, secs, &p); rc != 0 {
			return codeError(rc)
		}
		it = &AsCompleted{l: l, ptr: p, inputs: make(map[futPtr]*Future, len(fs))}
		for i, f := range fs {
			it.inputs[ps[i]] = f
		}
		own(l, it, func() { raw.Weft_as_completed_free(p) })
		return nil
	})
	return it, err
}

// Next waits for the next input to finish and returns it; ErrEOF once every input has
// been handed out, ErrTimeout once the timeout passed.
func (it *AsCompleted) Next(ctx context.Context) (*Future, error) {
	if it == nil || it.l == nil {
		return nil, ErrInval
	}
	f, err := it.l.start(func() (futPtr, int) {
		var p futPtr
		return p, raw.Weft_as_completed_next(it.ptr, &p)
	}, func(f futPtr) (any, error) {
		var v raw.SwigcptrWeft_value_t
		if rc := raw.Weft_future_result(f, &v); rc != 0 {
			return nil, futureError(f, rc)
		}
		in := futPtr(raw.Weft_value_object(v, int(raw.WEFT_VALUE_FUTURE)))
		return it.inputs[in], nil
	})
	if err != nil {
		return nil, err
	}
	x, err := f.Await(ctx)
	if err != nil {
		return nil, err
	}
	return x.(*Future), nil
}
