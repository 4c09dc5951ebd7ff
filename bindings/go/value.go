package weft

import (
	"fmt"
	"runtime/cgo"

	"weft.dev/weft/internal/raw"
)

// Go values cross into the core as pointer values holding a runtime/cgo.Handle, whose
// destructor (the core's free_fn, internal/raw's weftgoFreeHandle) deletes the handle if
// the core drops the value. Values the core makes itself come back as nil (none), int64,
// float64 or []byte (a copy).

// newHandleValue is a value holding x; the core takes it over when it is passed in.
// The caller frees the returned struct (not its payload) with raw.DeleteWeft_value_t.
func newHandleValue(x any) raw.Weft_value_t {
	v := raw.NewWeft_value_t()
	v.SetKind(int(raw.WEFT_VALUE_POINTER))
	v.SetPtr(uintptr(cgo.NewHandle(x)))
	v.SetFree_fn(raw.WeftgoFreeHandle)
	return v
}

// valueOf reads a value. With own set the value is the caller's: a handle's payload is
// taken out of it and the value cleared; otherwise it is borrowed and left as it is.
func valueOf(v raw.Weft_value_t, own bool) (any, error) {
	if v == nil || v.Swigcptr() == 0 {
		return nil, nil
	}
	switch int(v.GetKind()) {
	case int(raw.WEFT_VALUE_NONE):
		return nil, nil
	case int(raw.WEFT_VALUE_INT):
		return v.GetI(), nil
	case int(raw.WEFT_VALUE_DOUBLE):
		return v.GetD(), nil
	case int(raw.WEFT_VALUE_BYTES):
		b := make([]byte, v.GetLen())
		raw.Weftgo_value_copy(v, b)
		if own {
			raw.Weft_value_clear(v)
		}
		return b, nil
	case int(raw.WEFT_VALUE_POINTER):
		if v.GetFree_fn() != raw.WeftgoFreeHandle {
			return nil, fmt.Errorf("weft: a pointer value that is not Go's")
		}
		h := cgo.Handle(v.GetPtr())
		x := h.Value()
		if own {
			h.Delete()
			v.SetKind(int(raw.WEFT_VALUE_NONE))
			v.SetPtr(0)
		}
		return x, nil
	}
	return nil, fmt.Errorf("weft: a value of kind %d has no Go form yet", v.GetKind())
}
