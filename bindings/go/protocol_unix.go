package weft

import (
	"context"
	"runtime/cgo"
	"strings"

	"weft.dev/weft/internal/raw"
)

// ListenUnix is ListenTCP on a Unix socket at path (asyncio's create_unix_server): a stale
// socket file there is removed first, and the file is removed on Close.
func (l *Loop) ListenUnix(ctx context.Context, path string, factory func() Protocol) (*Server, error) {
	if l == nil || factory == nil || path == "" || strings.IndexByte(path, 0) >= 0 {
		return nil, ErrInval
	}
	fh := cgo.NewHandle(func() raw.Protocol {
		p := factory()
		if p == nil {
			return nil
		}
		return &protocolAdapter{p: p}
	})
	f, err := l.start(func() (futPtr, int) {
		var p futPtr
		rc := raw.Weft_create_unix_server(l.ptr, raw.WeftgoProtocolFactory, uintptr(fh), nil, path, int64(len(path)), nil, &p)
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
		// As ListenTCP: the factory's handle goes once the server is closed.
		own(l, s, func() {
			raw.Weft_server_close(sp)
			raw.Weft_server_release(sp)
			fh.Delete()
		})
		return s, nil
	})
	if err != nil {
		fh.Delete()
		return nil, err
	}
	x, err := f.Await(ctx)
	if err != nil {
		return nil, err
	}
	return x.(*Server), nil
}
