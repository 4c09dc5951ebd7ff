package weft

import (
	"context"
	"net"
	"runtime/cgo"
	"sync"

	"weft.dev/weft/internal/raw"
)

// acceptBacklog bounds the connections accepted by the core and not yet by Accept; more
// are closed at once, as a full listen backlog refuses them.
const acceptBacklog = 1024

// Listener is a core stream server (TCP, Unix, TLS over either) as a net.Listener: the
// core accepts on the loop, and Accept hands the connections to any goroutine.
type Listener struct{ *listenerState }

type listenerState struct {
	l       *Loop
	network string
	addr    net.Addr
	server  raw.SwigcptrStruct_SS_weft_server_s // loop goroutine only; 0 once closed
	tls     tlsCtxPtr

	mu     sync.Mutex
	queue  []*Conn
	wake   chan struct{}
	done   chan struct{} // closed by Close
	closed bool
}

// Listen listens on address on network ("tcp", "tcp4", "tcp6" or "unix"), as net.Listen:
// host "" listens on every interface, port 0 on any free port.
func (l *Loop) Listen(network, address string) (*Listener, error) {
	return l.listen(network, address, nil)
}

// ListenTLS listens as Listen; each connection completes a TLS handshake (cfg's
// certificate) before Accept returns it.
func (l *Loop) ListenTLS(network, address string, cfg *TLSConfig) (*Listener, error) {
	if cfg == nil || cfg.Certificate == nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: ErrInval}
	}
	return l.listen(network, address, cfg)
}

func (l *Loop) listen(network, address string, cfg *TLSConfig) (*Listener, error) {
	fail := func(err error) (*Listener, error) {
		return nil, &net.OpError{Op: "listen", Net: network, Err: asNetError(err)}
	}
	if l == nil {
		return fail(ErrLoopClosed)
	}
	host, port, family, unix, err := splitAddress(network, address)
	if err != nil {
		return fail(err)
	}
	s := &listenerState{l: l, network: network, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if cfg != nil {
		if s.tls, err = cfg.context(int(raw.WEFT_TLS_SERVER)); err != nil {
			return fail(err)
		}
	}
	// The core deletes the handle (weftgoFreeHandle) once the server has let go of it.
	h := cgo.NewHandle(s.accepted)
	f, err := l.start(func() (futPtr, int) {
		var p futPtr
		rc := raw.Weftgo_start_stream_server(l.ptr, uint64(h), addressBytes(host, unix), port, b2i(unix), family, s.tls, &p)
		if rc != 0 {
			h.Delete()
		}
		return p, rc
	}, func(f futPtr) (any, error) {
		var v raw.SwigcptrWeft_value_t
		if rc := raw.Weft_future_result(f, &v); rc != 0 {
			return nil, futureError(f, rc)
		}
		sp := raw.SwigcptrStruct_SS_weft_server_s(raw.Weft_value_object(v, int(raw.WEFT_VALUE_SERVER)))
		raw.Weft_server_retain(sp)
		s.server = sp
		var buf [128]byte
		if n := raw.Weftgo_server_address(sp, 0, buf[:]); n > 0 {
			s.addr = addrOf(network, buf[:n])
		}
		if s.addr == nil && unix {
			s.addr = &net.UnixAddr{Name: host, Net: "unix"}
		}
		ln := &Listener{s}
		own(l, ln, s.shut)
		return ln, nil
	})
	if err != nil {
		h.Delete()
		s.releaseTLS()
		return fail(err)
	}
	x, err := f.Await(context.Background())
	if err != nil {
		s.releaseTLS()
		return fail(err)
	}
	return x.(*Listener), nil
}

func (s *listenerState) releaseTLS() {
	if s.tls != 0 {
		raw.Weft_tls_context_release(s.tls)
		s.tls = 0
	}
}

// accepted is the core's client callback for a new connection (loop goroutine).
func (s *listenerState) accepted(r readerPtr, w writerPtr) {
	raw.Weft_stream_reader_retain(r)
	raw.Weft_stream_writer_retain(w)
	c := newConn(s.l, s.network, r, w)
	s.mu.Lock()
	if s.closed || len(s.queue) >= acceptBacklog {
		s.mu.Unlock()
		c.release()
		return
	}
	s.queue = append(s.queue, c)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// shut closes the server and what was accepted and never taken (loop goroutine).
func (s *listenerState) shut() {
	if s.server != 0 {
		raw.Weft_server_close(s.server)
		raw.Weft_server_release(s.server)
		s.server = 0
	}
	s.releaseTLS()
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	rest := s.queue
	s.queue = nil
	s.mu.Unlock()
	for _, c := range rest {
		c.release()
	}
}

// Accept waits for the next connection; after Close it returns net.ErrClosed.
func (s *listenerState) Accept() (net.Conn, error) {
	c, err := s.AcceptConn()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptConn is Accept returning the *Conn itself.
func (s *listenerState) AcceptConn() (*Conn, error) {
	if s == nil {
		return nil, ErrInval
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, &net.OpError{Op: "accept", Net: s.network, Addr: s.addr, Err: net.ErrClosed}
		}
		if len(s.queue) > 0 {
			c := s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			more := len(s.queue) > 0
			s.mu.Unlock()
			if more {
				select {
				case s.wake <- struct{}{}:
				default:
				}
			}
			return c, nil
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.done:
		}
	}
}

// Close stops listening; connections already accepted stay open. A waiting Accept returns
// net.ErrClosed.
func (s *listenerState) Close() error {
	if s == nil {
		return ErrInval
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return &net.OpError{Op: "close", Net: s.network, Addr: s.addr, Err: net.ErrClosed}
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	err := s.l.call(func() error { s.shut(); return nil })
	if err == ErrLoopClosed {
		return nil
	}
	return err
}

// Addr is the address listened on (the port chosen, after port 0).
func (s *listenerState) Addr() net.Addr { return s.addr }

var _ net.Listener = (*Listener)(nil)
