package weft

import (
	"context"
	"net"
	"os"
	"runtime/cgo"
	"strconv"
	"sync"
	"syscall"
	"time"

	"weft.dev/weft/internal/raw"
)

// packetQueueLimit bounds the datagrams received and not yet read; more are dropped, as
// a full socket buffer drops them.
const packetQueueLimit = 4096

// PacketConn is a core UDP endpoint as a net.PacketConn. Datagrams are queued on the loop
// as they arrive, so ReadFrom takes them without a handoff; WriteTo hands its datagram to
// the loop without waiting for it.
type PacketConn struct{ *packetState }

type packet struct {
	data []byte
	addr net.Addr
}

type packetState struct {
	l     *Loop
	laddr net.Addr

	// Loop goroutine only.
	t    raw.SwigcptrStruct_SS_weft_transport_s
	lost bool

	mu     sync.Mutex
	queue  []packet
	err    error // a lost endpoint: reads fail once the queue is empty
	closed bool
	wake   chan struct{}
	rmu    sync.Mutex
	rdl    deadline
	wdl    deadline
}

// ListenPacket opens a UDP endpoint bound to address ("udp", "udp4" or "udp6"; host ""
// for every interface, port 0 for any), as net.ListenPacket.
func (l *Loop) ListenPacket(network, address string) (*PacketConn, error) {
	fail := func(err error) (*PacketConn, error) {
		return nil, &net.OpError{Op: "listen", Net: network, Err: asNetError(err)}
	}
	if l == nil {
		return fail(ErrLoopClosed)
	}
	family := 0
	switch network {
	case "udp":
	case "udp4":
		family = syscall.AF_INET
	case "udp6":
		family = syscall.AF_INET6
	default:
		return fail(net.UnknownNetworkError(network))
	}
	host, ps, err := net.SplitHostPort(address)
	if err != nil {
		return fail(err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return fail(ErrInval)
	}
	if host == "" {
		if family == syscall.AF_INET6 {
			host = "::"
		} else {
			host = "0.0.0.0"
		}
	}
	s := &packetState{l: l, wake: make(chan struct{}, 1)}
	// The core deletes the handle (arg_free) after connection_lost.
	h := cgo.NewHandle(raw.DatagramProtocol(&packetProtocol{s}))
	f, err := l.start(func() (futPtr, int) {
		var p futPtr
		rc := raw.Weftgo_create_datagram_endpoint(l.ptr, uint64(h), host, port, family, &p)
		if rc != 0 {
			h.Delete()
		}
		return p, rc
	}, func(f futPtr) (any, error) {
		var v raw.SwigcptrWeft_value_t
		if rc := raw.Weft_future_result(f, &v); rc != 0 {
			return nil, futureError(f, rc)
		}
		var buf [128]byte
		if n := raw.Weftgo_extra_info(s.t, int(raw.WEFT_INFO_SOCKNAME), buf[:]); n > 0 {
			s.laddr = addrOf(network, buf[:n])
		}
		pc := &PacketConn{s}
		raw.Weft_transport_retain(s.t)
		own(l, pc, s.shut)
		return pc, nil
	})
	if err != nil {
		h.Delete()
		return fail(err)
	}
	x, err := f.Await(context.Background())
	if err != nil {
		return fail(err)
	}
	return x.(*PacketConn), nil
}

// packetProtocol receives the endpoint's events on the loop goroutine.
type packetProtocol struct{ s *packetState }

func (p *packetProtocol) ConnectionMade(t raw.SwigcptrStruct_SS_weft_transport_s) { p.s.t = t }

func (p *packetProtocol) DatagramReceived(data, addr []byte) {
	s := p.s
	pk := packet{data: append([]byte(nil), data...), addr: addrOf("udp", addr)}
	s.mu.Lock()
	if len(s.queue) < packetQueueLimit && !s.closed {
		s.queue = append(s.queue, pk)
	}
	s.mu.Unlock()
	s.signal()
}

// ErrorReceived: a send's or receive's error (ICMP unreachable, say) leaves the endpoint
// open, as Go's unconnected UDP sockets ignore them.
func (p *packetProtocol) ErrorReceived(code int) {}

func (p *packetProtocol) ConnectionLost(code int) {
	s := p.s
	s.lost = true
	s.mu.Lock()
	if s.err == nil {
		if code != 0 {
			s.err = newNetError(code, "")
		} else {
			s.err = net.ErrClosed
		}
	}
	s.mu.Unlock()
	s.signal()
}

func (s *packetState) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *packetState) shut() {
	if s.t != 0 {
		if !s.lost {
			raw.Weft_transport_abort(s.t)
		}
		raw.Weft_transport_release(s.t)
		s.t = 0
	}
	s.mu.Lock()
	s.closed = true
	if s.err == nil {
		s.err = net.ErrClosed
	}
	s.mu.Unlock()
	s.signal()
}

func (s *packetState) opError(op string, addr net.Addr, err error) error {
	return &net.OpError{Op: op, Net: "udp", Source: s.laddr, Addr: addr, Err: err}
}

// ReadFrom reads the next datagram into b (truncated to len(b), as Go's does) and returns
// its sender.
func (s *packetState) ReadFrom(b []byte) (int, net.Addr, error) {
	if s == nil {
		return 0, nil, ErrInval
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for {
		s.mu.Lock()
		switch {
		case s.closed:
			s.mu.Unlock()
			return 0, nil, s.opError("read", nil, net.ErrClosed)
		case s.rdl.expired():
			s.mu.Unlock()
			return 0, nil, s.opError("read", nil, os.ErrDeadlineExceeded)
		case len(s.queue) > 0:
			pk := s.queue[0]
			s.queue[0] = packet{}
			s.queue = s.queue[1:]
			more := len(s.queue) > 0
			s.mu.Unlock()
			if more {
				s.signal()
			}
			return copy(b, pk.data), pk.addr, nil
		case s.err != nil:
			err := s.err
			s.mu.Unlock()
			return 0, nil, s.opError("read", nil, err)
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.rdl.wait():
		}
	}
}

// WriteTo sends b as one datagram to addr (a *net.UDPAddr). The loop sends it: an error of
// the send itself goes unreported, as for a datagram lost on the way.
func (s *packetState) WriteTo(b []byte, addr net.Addr) (int, error) {
	if s == nil {
		return 0, ErrInval
	}
	ua, ok := addr.(*net.UDPAddr)
	if !ok || ua == nil {
		return 0, s.opError("write", addr, syscall.EINVAL)
	}
	sa, err := sockaddrOf(ua)
	if err != nil {
		return 0, s.opError("write", addr, err)
	}
	s.mu.Lock()
	closed, lostErr := s.closed, s.err
	s.mu.Unlock()
	switch {
	case closed:
		return 0, s.opError("write", addr, net.ErrClosed)
	case lostErr != nil:
		return 0, s.opError("write", addr, lostErr)
	case s.wdl.expired():
		return 0, s.opError("write", addr, os.ErrDeadlineExceeded)
	}
	data := append([]byte(nil), b...)
	if err := s.l.post(func() {
		if s.t != 0 && !s.lost {
			raw.Weftgo_sendto(s.t, data, sa)
		}
	}); err != nil {
		return 0, s.opError("write", addr, err)
	}
	return len(b), nil
}

// Close closes the endpoint; a waiting ReadFrom returns net.ErrClosed.
func (s *packetState) Close() error {
	if s == nil {
		return ErrInval
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.opError("close", nil, net.ErrClosed)
	}
	s.closed = true
	s.mu.Unlock()
	s.signal()
	if err := s.l.post(s.shut); err != nil && err != ErrLoopClosed {
		return s.opError("close", nil, err)
	}
	return nil
}

func (s *packetState) LocalAddr() net.Addr { return s.laddr }

func (s *packetState) SetDeadline(t time.Time) error {
	s.rdl.set(t)
	s.wdl.set(t)
	return nil
}
func (s *packetState) SetReadDeadline(t time.Time) error  { s.rdl.set(t); s.signal(); return nil }
func (s *packetState) SetWriteDeadline(t time.Time) error { s.wdl.set(t); return nil }

var _ net.PacketConn = (*PacketConn)(nil)
