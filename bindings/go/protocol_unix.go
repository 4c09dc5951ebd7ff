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
	return l.listenProtocol(ctx, factory, func(fh cgo.Handle, out *futPtr) int {
		return raw.Weft_create_unix_server(l.ptr, raw.WeftgoProtocolFactory, uintptr(fh), nil, path, int64(len(path)), nil, out)
	})
}
