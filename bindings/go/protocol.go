package weft

import (
	"context"
	"runtime/cgo"

	"weft.dev/weft/internal/raw"
)

// Protocol is asyncio's Protocol for the fastest servers: its methods run on the loop
// goroutine itself, straight from the core's callbacks, with no handoff. They must not
// block, and may call only the Transport's methods (not those of Lock, Queue, ...: those
// hand work to the loop and would wait for themselves). After calls to protocol methods
// alone the loop waits for I/O inside C, holding its P: with GOMAXPROCS=1 a goroutine a
// method wakes (a channel send) runs once the Go scheduler takes that P back (20 µs to
// 10 ms later).
type Protocol interface {
	ConnectionMade(t *Transport)
	// DataReceived gets bytes lent for the call only: copy what must outlive it.
	DataReceived(data []byte)
	// EOFReceived returns true to keep the half-closed transport open.
	EOFReceived() bool
	// ConnectionLost is the last call: err is nil for a regular close or EOF.
	ConnectionLost(err error)
}

// Transport is a connection's core transport, for use inside Protocol methods only.
type Transport struct {
	ptr  raw.SwigcptrStruct_SS_weft_transport_s
	lost bool
}

// Write queues b for sending (copied before Write returns).
func (t *Transport) Write(b []byte) error {
	if t == nil || t.lost {
		return ErrClosed
	}
	return codeError(raw.Weftgo_transport_write(uint64(t.ptr), b))
}

// WriteEOF half-closes once the buffer is flushed.
func (t *Transport) WriteEOF() error {
	if t == nil || t.lost {
		return ErrClosed
	}
	return codeError(raw.Weft_transport_write_eof(t.ptr))
}

// Close closes after the buffer is flushed; ConnectionLost follows.
func (t *Transport) Close() error {
	if t == nil || t.lost {
		return nil
	}
	return codeError(raw.Weft_transport_close(t.ptr))
}

// protocolAdapter turns the raw callbacks into Protocol's.
type protocolAdapter struct {
	t Transport
	p Protocol
}

func (a *protocolAdapter) ConnectionMade(t raw.SwigcptrStruct_SS_weft_transport_s) {
	a.t.ptr = t
	a.p.ConnectionMade(&a.t)
}
func (a *protocolAdapter) DataReceived(data []byte) { a.p.DataReceived(data) }
func (a *protocolAdapter) EOFReceived() bool        { return a.p.EOFReceived() }
func (a *protocolAdapter) ConnectionLost(code int) {
	a.t.lost = true
	a.p.ConnectionLost(codeError(code))
}

// Server is a listening server of the core.
type Server struct {
	l   *Loop
	ptr raw.SwigcptrStruct_SS_weft_server_s
}

// ListenTCP is asyncio's create_server: it binds host:port (host "" for every interface,
// port 0 for any) and calls factory on the loop goroutine for each accepted connection.
func (l *Loop) ListenTCP(ctx context.Context, host string, port int, factory func() Protocol) (*Server, error) {
	if l == nil || factory == nil || port < 0 || port > 65535 {
		return nil, ErrInval
	}
	return l.listenProtocol(ctx, factory, func(fh cgo.Handle, out *futPtr) int {
		// "" reaches the core as an empty string, which it takes as every interface.
		return raw.Weft_create_server(l.ptr, raw.WeftgoProtocolFactory, uintptr(fh), nil, host, port, nil, out)
	})
}

// listenProtocol starts a server whose create call makes the core's server future, with factory
// behind a cgo.Handle the core passes to WeftgoProtocolFactory. The core keeps no
// destructor for a factory's argument: the handle goes once the server is closed, when
// nothing can call the factory any more, or at once if the server never starts.
func (l *Loop) listenProtocol(ctx context.Context, factory func() Protocol, create func(fh cgo.Handle, out *futPtr) int) (*Server, error) {
	fh := cgo.NewHandle(func() raw.Protocol {
		p := factory()
		if p == nil {
			return nil
		}
		return &protocolAdapter{p: p}
	})
	f, err := l.start(func() (futPtr, int) {
		var p futPtr
		rc := create(fh, &p)
		if rc != 0 {
			fh.Delete()
		}
		return p, rc
	}, func(f futPtr) (any, error) {
		var v raw.SwigcptrWeft_value_t
		if rc := raw.Weft_future_result(f, &v); rc != 0 {
			fh.Delete()
			return nil, futureError(f, rc)
		}
		sp := raw.SwigcptrStruct_SS_weft_server_s(raw.Weft_value_object(v, int(raw.WEFT_VALUE_SERVER)))
		raw.Weft_server_retain(sp)
		s := &Server{l: l, ptr: sp}
		own(l, s, func() {
			raw.Weft_server_close(sp)
			raw.Weft_server_release(sp)
			fh.Delete()
		})
		return s, nil
	})
	if err != nil {
		fh.Delete() // the post failed: the create call never ran
		return nil, err
	}
	x, err := f.Await(ctx)
	if err != nil {
		return nil, err
	}
	return x.(*Server), nil
}

// Port is the port the server listens on.
func (s *Server) Port() (int, error) {
	if s == nil || s.l == nil {
		return 0, ErrInval
	}
	var port int
	err := s.l.call(func() error { port = raw.Weft_server_port(s.ptr); return codeError(port) })
	return port, err
}

// Close stops listening; connections already accepted go on.
func (s *Server) Close() error {
	if s == nil || s.l == nil {
		return ErrInval
	}
	return s.l.call(func() error { return codeError(raw.Weft_server_close(s.ptr)) })
}
