package raw

// Every function C calls back into Go is here. Each takes a runtime/cgo.Handle as its
// user data; what it holds is the binding's business. The core only ever calls these from
// the loop's own stack on the loop's thread, which is the OS thread package weft's loop
// goroutine is locked to.

/*
#include <netinet/in.h>
#include <sys/socket.h>

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

// ---- Network connections: stream servers and datagram endpoints ----

// A stream server's handle holds a func(reader, writer) called for each new connection
// (both borrowed for the call).
//
//export weftgoStreamClient
func weftgoStreamClient(r *C.weft_stream_reader_t, w *C.weft_stream_writer_t, arg unsafe.Pointer) (rc C.int) {
	defer recoverCallback("a stream server's client callback")
	rp := SwigcptrStruct_SS_weft_stream_reader_s(uintptr(unsafe.Pointer(r)))
	wp := SwigcptrStruct_SS_weft_stream_writer_s(uintptr(unsafe.Pointer(w)))
	cgo.Handle(uintptr(arg)).Value().(func(SwigcptrStruct_SS_weft_stream_reader_s, SwigcptrStruct_SS_weft_stream_writer_s))(rp, wp)
	return 0
}

// DatagramProtocol is what the datagram trampolines deliver an endpoint's events to. The
// core deletes its handle (arg_free) after the last of them.
type DatagramProtocol interface {
	ConnectionMade(t SwigcptrStruct_SS_weft_transport_s)
	// data and addr (a raw struct sockaddr, empty if unknown) are lent for the call only.
	DatagramReceived(data, addr []byte)
	ErrorReceived(code int)
	ConnectionLost(code int)
}

//export weftgoDatagramMade
func weftgoDatagramMade(t *C.weft_transport_t, arg unsafe.Pointer) {
	defer recoverCallback("connection_made")
	tp := SwigcptrStruct_SS_weft_transport_s(uintptr(unsafe.Pointer(t)))
	cgo.Handle(uintptr(arg)).Value().(DatagramProtocol).ConnectionMade(tp)
}

//export weftgoDatagramReceived
func weftgoDatagramReceived(t *C.weft_transport_t, data *C.char, n C.size_t, addr *C.struct_sockaddr, arg unsafe.Pointer) {
	defer recoverCallback("datagram_received")
	b := unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n))
	var a []byte
	if addr != nil {
		size := 0
		switch addr.sa_family {
		case C.AF_INET:
			size = C.sizeof_struct_sockaddr_in
		case C.AF_INET6:
			size = C.sizeof_struct_sockaddr_in6
		}
		a = unsafe.Slice((*byte)(unsafe.Pointer(addr)), size)
	}
	cgo.Handle(uintptr(arg)).Value().(DatagramProtocol).DatagramReceived(b, a)
}

//export weftgoDatagramError
func weftgoDatagramError(t *C.weft_transport_t, code C.int, arg unsafe.Pointer) {
	defer recoverCallback("error_received")
	cgo.Handle(uintptr(arg)).Value().(DatagramProtocol).ErrorReceived(int(code))
}

//export weftgoDatagramLost
func weftgoDatagramLost(t *C.weft_transport_t, code C.int, arg unsafe.Pointer) {
	defer recoverCallback("connection_lost")
	cgo.Handle(uintptr(arg)).Value().(DatagramProtocol).ConnectionLost(int(code))
}
