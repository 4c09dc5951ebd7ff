package raw

// Every function C calls back into Go is here. Each takes a runtime/cgo.Handle as its
// user data; what it holds is the binding's business. The core only ever calls these from
// the loop's own stack on the loop's thread, which is the OS thread package weft's loop
// goroutine is locked to.

/*
#include "weft.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime/cgo"
	"runtime/debug"
	"unsafe"
)

// A panic must never unwind through C frames: it is reported, and the callback returns.
func recoverCallback(where string) {
	if r := recover(); r != nil {
		fmt.Fprintf(os.Stderr, "weft: panic in %s: %v\n%s", where, r, debug.Stack())
	}
}

//export weftgoCallback
func weftgoCallback(arg unsafe.Pointer) {
	defer recoverCallback("a loop callback")
	cgo.Handle(uintptr(arg)).Value().(func())()
}

//export weftgoFutureDone
func weftgoFutureDone(future *C.weft_future_t, arg unsafe.Pointer) {
	defer recoverCallback("a done callback")
	f := SwigcptrStruct_SS_weft_future_s(uintptr(unsafe.Pointer(future)))
	cgo.Handle(uintptr(arg)).Value().(func(SwigcptrStruct_SS_weft_future_s))(f)
}

// The destructor of a pointer value that holds a handle: the core drops the value.
//
//export weftgoFreeHandle
func weftgoFreeHandle(ptr unsafe.Pointer) {
	defer recoverCallback("a value destructor")
	cgo.Handle(uintptr(ptr)).Delete()
}
