package weft

import (
	"net"
	"time"
)

// The network types hold their state through an embedded pointer, whose promoted methods
// would dereference a nil *Conn, *Listener or *PacketConn. These give the state's own
// answer to a zero value instead (ErrInval), as Go's net answers EINVAL to a nil *TCPConn.

func (c *Conn) state() *connState {
	if c == nil {
		return nil
	}
	return c.connState
}

func (c *Conn) Read(b []byte) (int, error)           { return c.state().Read(b) }
func (c *Conn) Write(b []byte) (int, error)          { return c.state().Write(b) }
func (c *Conn) Close() error                         { return c.state().Close() }
func (c *Conn) CloseWrite() error                    { return c.state().CloseWrite() }
func (c *Conn) ReadLine() ([]byte, error)            { return c.state().ReadLine() }
func (c *Conn) ReadUntil(sep []byte) ([]byte, error) { return c.state().ReadUntil(sep) }
func (c *Conn) ReadExactly(n int) ([]byte, error)    { return c.state().ReadExactly(n) }
func (c *Conn) SetDeadline(t time.Time) error        { return c.deadline(t, true, true) }
func (c *Conn) SetReadDeadline(t time.Time) error    { return c.deadline(t, true, false) }
func (c *Conn) SetWriteDeadline(t time.Time) error   { return c.deadline(t, false, true) }
func (c *Conn) deadline(t time.Time, r, w bool) error {
	s := c.state()
	switch {
	case s == nil:
		return ErrInval
	case r && w:
		return s.SetDeadline(t)
	case r:
		return s.SetReadDeadline(t)
	}
	return s.SetWriteDeadline(t)
}

// LocalAddr, RemoteAddr: nil for a zero Conn.
func (c *Conn) LocalAddr() net.Addr {
	if s := c.state(); s != nil {
		return s.LocalAddr()
	}
	return nil
}

func (c *Conn) RemoteAddr() net.Addr {
	if s := c.state(); s != nil {
		return s.RemoteAddr()
	}
	return nil
}

func (c *Conn) NegotiatedProtocol() string {
	if s := c.state(); s != nil {
		return s.NegotiatedProtocol()
	}
	return ""
}

func (l *Listener) state() *listenerState {
	if l == nil {
		return nil
	}
	return l.listenerState
}

func (l *Listener) Accept() (net.Conn, error)  { return l.state().Accept() }
func (l *Listener) AcceptConn() (*Conn, error) { return l.state().AcceptConn() }
func (l *Listener) Close() error               { return l.state().Close() }

// Addr is nil for a zero Listener.
func (l *Listener) Addr() net.Addr {
	if s := l.state(); s != nil {
		return s.Addr()
	}
	return nil
}

func (p *PacketConn) state() *packetState {
	if p == nil {
		return nil
	}
	return p.packetState
}

func (p *PacketConn) ReadFrom(b []byte) (int, net.Addr, error) { return p.state().ReadFrom(b) }
func (p *PacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	return p.state().WriteTo(b, addr)
}
func (p *PacketConn) Close() error { return p.state().Close() }

func (p *PacketConn) SetDeadline(t time.Time) error {
	if s := p.state(); s != nil {
		return s.SetDeadline(t)
	}
	return ErrInval
}

func (p *PacketConn) SetReadDeadline(t time.Time) error {
	if s := p.state(); s != nil {
		return s.SetReadDeadline(t)
	}
	return ErrInval
}

func (p *PacketConn) SetWriteDeadline(t time.Time) error {
	if s := p.state(); s != nil {
		return s.SetWriteDeadline(t)
	}
	return ErrInval
}

// LocalAddr is nil for a zero PacketConn.
func (p *PacketConn) LocalAddr() net.Addr {
	if s := p.state(); s != nil {
		return s.LocalAddr()
	}
	return nil
}
