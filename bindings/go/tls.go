package weft

import (
	"strings"

	"weft.dev/weft/internal/raw"
)

type tlsCtxPtr = raw.SwigcptrStruct_SS_weft_tls_context_s

// TLSConfig turns TLS on for DialTLS and ListenTLS; the core's TLS layer (OpenSSL) does
// the work. A client verifies the server's certificate chain and host name unless
// InsecureSkipVerify says otherwise.
type TLSConfig struct {
	// ServerName is sent as SNI and checked against the certificate; "" takes the dialled
	// host (a Unix socket has none: give one).
	ServerName string
	// RootCAs are the PEM certificates a client trusts; nil trusts the system's store.
	RootCAs []byte
	// InsecureSkipVerify turns the verification of the peer's certificate off.
	InsecureSkipVerify bool
	// NextProtos are the ALPN protocols, most preferred first.
	NextProtos []string
	// Certificate and Key are PEM: a server's certificate chain and key (Key nil: in
	// Certificate).
	Certificate []byte
	Key         []byte
}

// context makes a core TLS context for role (one reference, the caller's).
func (c *TLSConfig) context(role int) (tlsCtxPtr, error) {
	var ctx tlsCtxPtr
	if rc := raw.Weft_tls_context_new(int(role), &ctx); rc != 0 {
		return 0, codeError(rc)
	}
	fail := func(rc int) (tlsCtxPtr, error) {
		err := &Error{Code: rc, Message: raw.Weft_tls_context_error(ctx)}
		raw.Weft_tls_context_release(ctx)
		return 0, err
	}
	if role == int(raw.WEFT_TLS_CLIENT) {
		if c.InsecureSkipVerify {
			if rc := raw.Weft_tls_context_set_check_hostname(ctx, 0); rc != 0 {
				return fail(rc)
			}
			if rc := raw.Weft_tls_context_set_verify(ctx, int(raw.WEFT_TLS_VERIFY_NONE)); rc != 0 {
				return fail(rc)
			}
		} else if c.RootCAs != nil {
			if rc := raw.Weft_tls_context_load_verify_pem(ctx, string(c.RootCAs), int64(len(c.RootCAs))); rc != 0 {
				return fail(rc)
			}
		} else if rc := raw.Weft_tls_context_load_default_verify(ctx); rc != 0 {
			return fail(rc)
		}
	}
	if c.Certificate != nil {
		key := string(c.Key)
		if rc := raw.Weft_tls_context_load_cert_chain_pem(ctx, string(c.Certificate), int64(len(c.Certificate)), key, int64(len(key)), ""); rc != 0 {
			return fail(rc)
		}
	}
	if len(c.NextProtos) > 0 {
		var packed strings.Builder
		for _, p := range c.NextProtos {
			if p == "" || len(p) > 255 || strings.IndexByte(p, 0) >= 0 {
				raw.Weft_tls_context_release(ctx)
				return 0, ErrInval
			}
			packed.WriteString(p)
			packed.WriteByte(0)
		}
		if rc := raw.Weftgo_tls_set_alpn(ctx, []byte(packed.String())); rc != 0 {
			return fail(rc)
		}
	}
	return ctx, nil
}
