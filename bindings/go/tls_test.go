package weft

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// testCert makes a self-signed certificate for localhost and 127.0.0.1: its PEM and key.
func testCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"weft test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func TestTLSEchoALPNAndVerification(t *testing.T) {
	l := newLoop(t)
	cert, key := testCert(t)
	ln, err := l.ListenTLS("tcp", "127.0.0.1:0", &TLSConfig{Certificate: cert, Key: key, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	wg := echoConns(ln)
	defer func() {
		ln.Close()
		wg.Wait()
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx := context.Background()

	// Verified against the test CA, with SNI "localhost" taken from the dialled host.
	c, err := l.DialTLS(ctx, "tcp", "localhost:"+port, &TLSConfig{RootCAs: cert, NextProtos: []string{"http/1.1", "h2"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.NegotiatedProtocol() != "h2" {
		t.Fatalf("ALPN: %q", c.NegotiatedProtocol())
	}
	checkEcho(t, c, []byte("over TLS"))
	if err := c.CloseWrite(); !errors.Is(err, ErrNotsup) {
		t.Fatalf("TLS cannot half-close: %v", err)
	}
	c.Close()

	// Verification is on by default: the system's store does not trust the test CA.
	_, err = l.DialTLS(ctx, "tcp", "127.0.0.1:"+port, nil)
	if !errors.Is(err, ErrTLS) {
		t.Fatalf("unverified certificate accepted: %v", err)
	}
	// A name the certificate does not carry.
	_, err = l.DialTLS(ctx, "tcp", "127.0.0.1:"+port, &TLSConfig{RootCAs: cert, ServerName: "example.org"})
	if !errors.Is(err, ErrTLS) {
		t.Fatalf("wrong server name accepted: %v", err)
	}
	// Skipping verification is explicit.
	c, err = l.DialTLS(ctx, "tcp", "127.0.0.1:"+port, &TLSConfig{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	checkEcho(t, c, []byte("unverified"))
	c.Close()

	// Go's crypto/tls as the client of weft's TLS server.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cert)
	gc, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	if gc.ConnectionState().NegotiatedProtocol != "h2" {
		t.Fatalf("Go client ALPN: %q", gc.ConnectionState().NegotiatedProtocol)
	}
	checkEcho(t, gc, []byte("Go client"))
	gc.Close()
}

// TLS over a Unix socket, with Go's crypto/tls as the server.
func TestTLSOverUnix(t *testing.T) {
	l := newLoop(t)
	cert, key := testCert(t)
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tls.sock")
	ln, err := tls.Listen("unix", path, &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
	c, err := l.DialTLS(context.Background(), "unix", path, &TLSConfig{RootCAs: cert, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	checkEcho(t, c, []byte("TLS over a Unix socket"))
	c.Close()
}

func TestTLSBadConfig(t *testing.T) {
	l := newLoop(t)
	if _, err := l.ListenTLS("tcp", "127.0.0.1:0", &TLSConfig{}); err == nil {
		t.Fatal("a TLS server without a certificate was accepted")
	}
	if _, err := l.ListenTLS("tcp", "127.0.0.1:0", &TLSConfig{Certificate: []byte("not PEM")}); !errors.Is(err, ErrTLS) {
		t.Fatalf("bad certificate: %v", err)
	}
	if _, err := l.DialTLS(context.Background(), "tcp", "127.0.0.1:1", &TLSConfig{NextProtos: []string{""}}); !errors.Is(err, ErrInval) {
		t.Fatalf("empty ALPN name: %v", err)
	}
}
