package weft

import (
	"context"
	"net"
	"strconv"
	"syscall"

	"weft.dev/weft/internal/raw"
)

// splitAddress checks a network and address as net.Dial takes them: host, port, the
// family to restrict to, and whether the address is a Unix socket's path.
func splitAddress(network, address string) (host string, port, family int, unix bool, err error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
		h, p, e := net.SplitHostPort(address)
		if e != nil {
			return "", 0, 0, false, e
		}
		n, e := strconv.Atoi(p)
		if e != nil || n < 0 || n > 65535 {
			if e == nil {
				e = ErrInval
			}
			return "", 0, 0, false, e
		}
		switch network {
		case "tcp4":
			family = syscall.AF_INET
		case "tcp6":
			family = syscall.AF_INET6
		}
		return h, n, family, false, nil
	case "unix":
		if address == "" {
			return "", 0, 0, false, ErrInval
		}
		for i := 0; i < len(address); i++ {
			if address[i] == 0 {
				return "", 0, 0, false, ErrInval
			}
		}
		return address, 0, 0, true, nil
	}
	return "", 0, 0, false, net.UnknownNetworkError(network)
}

// addressBytes is host as the core takes it: for a Unix socket, package net's "@name"
// spelling of an abstract name becomes the kernel's leading NUL.
func addressBytes(host string, unix bool) []byte {
	b := []byte(host)
	if unix && len(b) > 0 && b[0] == '@' {
		b[0] = 0
	}
	return b
}

// dialTarget is what a client connect hands the core: the address split as the core takes
// it and, with TLS, a client context reference that the connect call gives up.
type dialTarget struct {
	name         []byte
	port, family int
	unix         bool
	tls          tlsCtxPtr
	serverName   string
}

// clientTarget is the address and TLS set-up Dial and DialProtocol share; cfg nil means
// no TLS.
func clientTarget(network, address string, cfg *TLSConfig) (dialTarget, error) {
	host, port, family, unix, err := splitAddress(network, address)
	if err != nil {
		return dialTarget{}, err
	}
	t := dialTarget{name: addressBytes(host, unix), port: port, family: family, unix: unix}
	if cfg != nil {
		if t.tls, err = cfg.context(int(raw.WEFT_TLS_CLIENT)); err != nil {
			return dialTarget{}, err
		}
		t.serverName = cfg.ServerName
	}
	return t, nil
}

// releaseTLS drops the target's context reference, once the core holds its own or the
// connect never ran.
func (t *dialTarget) releaseTLS() {
	if t.tls != 0 {
		raw.Weft_tls_context_release(t.tls)
	}
}

// Dial connects to address on network ("tcp", "tcp4", "tcp6" or "unix") through the core
// (name resolution and happy eyeballs included), as net.Dial.
func (l *Loop) Dial(network, address string) (*Conn, error) {
	return l.DialContext(context.Background(), network, address)
}

// DialContext is Dial ended early by ctx, which cancels the core's attempt.
func (l *Loop) DialContext(ctx context.Context, network, address string) (*Conn, error) {
	return l.dial(ctx, network, address, nil)
}

// DialTLS connects as DialContext, then completes a TLS handshake as cfg says.
func (l *Loop) DialTLS(ctx context.Context, network, address string, cfg *TLSConfig) (*Conn, error) {
	if cfg == nil {
		cfg = &TLSConfig{}
	}
	return l.dial(ctx, network, address, cfg)
}

func (l *Loop) dial(ctx context.Context, network, address string, cfg *TLSConfig) (*Conn, error) {
	fail := func(err error) (*Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: asNetError(err)}
	}
	if l == nil {
		return fail(ErrLoopClosed)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	t, err := clientTarget(network, address, cfg)
	if err != nil {
		return fail(err)
	}
	f, err := l.start(func() (futPtr, int) {
		var p futPtr
		rc := raw.Weftgo_open_stream(l.ptr, t.name, t.port, b2i(t.unix), t.family, t.tls, t.serverName, &p)
		t.releaseTLS() // a connection holds its own reference
		return p, rc
	}, func(f futPtr) (any, error) {
		var v raw.SwigcptrWeft_value_t
		if rc := raw.Weft_future_result(f, &v); rc != 0 {
			return nil, futureError(f, rc)
		}
		w := writerPtr(raw.Weft_value_object(v, int(raw.WEFT_VALUE_STREAM_WRITER)))
		raw.Weft_stream_writer_retain(w)
		r := raw.Weft_stream_writer_reader(w).(readerPtr)
		raw.Weft_stream_reader_retain(r)
		return newConn(l, network, r, w), nil
	})
	if err != nil {
		t.releaseTLS()
		return fail(err)
	}
	x, err := f.Await(ctx)
	if err != nil {
		return fail(err)
	}
	return x.(*Conn), nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// asNetError gives a core error met on a network call its syscall.Errno as well.
func asNetError(err error) error {
	if e, ok := err.(*Error); ok {
		return &netError{core: e}
	}
	return err
}
