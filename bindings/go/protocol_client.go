package weft

import (
	"context"
	"net"
	"runtime/cgo"

	"weft.dev/weft/internal/raw"
)

// DialProtocol is asyncio's create_connection with a protocol factory, the client side
// of ListenTCP and ListenUnix: it connects to address on network ("tcp", "tcp4", "tcp6" or
// "unix"; "@name" is an abstract Unix name, as in package net) through the core (name
// resolution and happy eyeballs included), calls factory on the loop goroutine once the
// connection is made, delivers ConnectionMade, and returns the protocol factory made.
// The protocol's methods then run on the loop goroutine, as a server's do. A failed or
// cancelled connect never calls factory. Errors are *net.OpError, as Dial's.
func (l *Loop) DialProtocol(ctx context.Context, network, address string, factory func() Protocol) (Protocol, error) {
	return l.dialProtocol(ctx, network, address, nil, factory)
}

// DialProtocolTLS is DialProtocol with a TLS handshake as cfg says (verification on unless
// cfg.InsecureSkipVerify); ConnectionMade comes once the handshake is done, and the
// protocol sees plaintext.
func (l *Loop) DialProtocolTLS(ctx context.Context, network, address string, cfg *TLSConfig, factory func() Protocol) (Protocol, error) {
	if cfg == nil {
		cfg = &TLSConfig{}
	}
	return l.dialProtocol(ctx, network, address, cfg, factory)
}

// clientProtocol makes the user's protocol when the connection is made, as asyncio calls
// the factory, and hands it the events through the server's adapter. Loop goroutine only.
type clientProtocol struct {
	factory func() Protocol
	made    bool
	protocolAdapter
}

func (c *clientProtocol) ConnectionMade(t raw.SwigcptrStruct_SS_weft_transport_s) {
	c.made = true
	c.p = c.factory()
	if c.p == nil {
		c.p = refusedProtocol{}
		raw.Weft_transport_abort(t)
	}
	c.protocolAdapter.ConnectionMade(t)
}

// refusedProtocol stands in for a factory that made no protocol: the connection is
// aborted and DialProtocol fails with ErrInval.
type refusedProtocol struct{}

func (refusedProtocol) ConnectionMade(*Transport) {}
func (refusedProtocol) DataReceived([]byte)       {}
func (refusedProtocol) EOFReceived() bool         { return false }
func (refusedProtocol) ConnectionLost(error)      {}

func (l *Loop) dialProtocol(ctx context.Context, network, address string, cfg *TLSConfig, factory func() Protocol) (Protocol, error) {
	fail := func(err error) (Protocol, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: asNetError(err)}
	}
	if l == nil {
		return fail(ErrLoopClosed)
	}
	if factory == nil {
		return fail(ErrInval)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	t, err := clientTarget(network, address, cfg)
	if err != nil {
		return fail(err)
	}
	c := &clientProtocol{factory: factory}
	h := cgo.NewHandle(c)
	f, err := l.start(func() (futPtr, int) {
		var p futPtr
		rc := raw.Weftgo_create_connection(l.ptr, uint64(h), t.name, t.port, b2i(t.unix), t.family, t.tls, t.serverName, &p)
		t.releaseTLS() // a connection holds its own reference
		if rc != 0 {
			h.Delete() // the core kept nothing
		}
		return p, rc
	}, func(f futPtr) (any, error) {
		if rc := raw.Weft_future_error(f); rc != 0 {
			if !c.made {
				h.Delete() // no protocol call came, nor will: connection_lost did not take it
			}
			return nil, futureError(f, rc)
		}
		if _, refused := c.p.(refusedProtocol); refused {
			return nil, ErrInval
		}
		return c.p, nil
	})
	if err != nil {
		h.Delete() // the post failed: the create call never ran
		t.releaseTLS()
		return fail(err)
	}
	p, err := f.Await(ctx)
	if err != nil {
		return fail(err)
	}
	return p.(Protocol), nil
}
