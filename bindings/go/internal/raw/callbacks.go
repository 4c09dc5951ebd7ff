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

// A condition's predicate (a func() bool); a panic counts as false.
//
//export weftgoPredicate
func weftgoPredicate(arg unsafe.Pointer) (result C.int) {
	defer recoverCallback("a predicate")
	if cgo.Handle(uintptr(arg)).Value().(func() bool)() {
		return 1
	}
	return 0
}

// A step-driven task's step: its handle holds a func(task, throwCode).
//
//export weftgoStep
func weftgoStep(task *C.weft_task_t, throwCode C.int, arg unsafe.Pointer) {
	defer recoverCallback("a task step")
	t := SwigcptrStruct_SS_weft_task_s(uintptr(unsafe.Pointer(task)))
	cgo.Handle(uintptr(arg)).Value().(func(SwigcptrStruct_SS_weft_task_s, int))(t, int(throwCode))
}

// The destructor of a pointer value that holds a handle: the core drops the value.
//
//export weftgoFreeHandle
func weftgoFreeHandle(ptr unsafe.Pointer) {
	defer recoverCallback("a value destructor")
	cgo.Handle(uintptr(ptr)).Delete()
}

// Protocol is what the protocol trampolines deliver a connection's events to.
type Protocol interface {
	ConnectionMade(t SwigcptrStruct_SS_weft_transport_s)
	// data is C memory lent for the call only.
	DataReceived(data []byte)
	EOFReceived() bool
	ConnectionLost(code int)
}

// A server's factory handle holds a func() Protocol; nil refuses the connection.
//
//export weftgoNewProtocol
func weftgoNewProtocol(factory C.uintptr_t) (arg C.uintptr_t) {
	defer recoverCallback("a protocol factory")
	p := cgo.Handle(factory).Value().(func() Protocol)()
	if p == nil {
		return 0
	}
	return C.uintptr_t(cgo.NewHandle(p))
}

//export weftgoConnectionMade
func weftgoConnectionMade(t *C.weft_transport_t, arg unsafe.Pointer) {
	defer recoverCallback("connection_made")
	tp := SwigcptrStruct_SS_weft_transport_s(uintptr(unsafe.Pointer(t)))
	cgo.Handle(uintptr(arg)).Value().(Protocol).ConnectionMade(tp)
}

//export weftgoDataReceived
func weftgoDataReceived(t *C.weft_transport_t, data *C.char, n C.size_t, arg unsafe.Pointer) {
	defer recoverCallback("data_received")
	b := unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n))
	cgo.Handle(uintptr(arg)).Value().(Protocol).DataReceived(b)
}

//export weftgoEofReceived
func weftgoEofReceived(t *C.weft_transport_t, arg unsafe.Pointer) (keepOpen C.int) {
	defer recoverCallback("eof_received")
	if cgo.Handle(uintptr(arg)).Value().(Protocol).EOFReceived() {
		return 1
	}
	return 0
}

// The last call for a connection: its handle goes with it.
//
//export weftgoConnectionLost
func weftgoConnectionLost(t *C.weft_transport_t, code C.int, arg unsafe.Pointer) {
	defer recoverCallback("connection_lost")
	h := cgo.Handle(uintptr(arg))
	defer h.Delete()
	h.Value().(Protocol).ConnectionLost(int(code))
}
