// error_tls_verify in Go (case.py); the certificates are made in memory
// (casetrace_go/certs.go), as casetrace.make_certs makes them with openssl.
package main

import (
	"context"

	ct "weft.dev/behaviour/casetrace_go"
	"weft.dev/weft"
)

func main() {
	ct.Run(func(ctx context.Context, l *weft.Loop) error {
		certs, err := ct.MakeCerts()
		if err != nil {
			return err
		}
		ln, err := l.ListenTLS("tcp", "127.0.0.1:0", &weft.TLSConfig{
			Certificate: certs["server"].Cert, Key: certs["server"].Key})
		if err != nil {
			return err
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					_, _ = c.Write([]byte("hello\n"))
					_ = c.Close()
				}()
			}
		}()
		for _, trust := range []string{"other_ca", "ca"} {
			c, err := l.DialTLS(ctx, "tcp", ln.Addr().String(), &weft.TLSConfig{
				RootCAs: certs[trust].Cert, ServerName: "localhost"})
			if err != nil {
				ct.Emit("trust", trust, "error", err)
				continue
			}
			line, err := c.ReadLine()
			if err != nil {
				return err
			}
			ct.Emit("trust", trust, "read", line)
			if err := c.Close(); err != nil {
				return err
			}
		}
		return ln.Close()
	})
}
