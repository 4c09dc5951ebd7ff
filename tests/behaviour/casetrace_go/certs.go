package casetrace

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"time"
)

// Cert is a PEM certificate and its key.
type Cert struct{ Cert, Key []byte }

// MakeCerts makes casetrace.make_certs' throwaway certificates in memory: a CA; "server",
// for localhost and 127.0.0.1, signed by it; "wrong_host", for wrong.example, signed by
// it; "other_ca", a CA that signed nothing.
func MakeCerts() (map[string]Cert, error) {
	certs := map[string]Cert{}
	var caTmpl *x509.Certificate
	var caKey *ecdsa.PrivateKey
	serial := int64(1)
	issue := func(name string, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		tmpl.SerialNumber = big.NewInt(serial)
		serial++
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(48*time.Hour)
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			return nil, err
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, err
		}
		certs[name] = Cert{pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})}
		return key, nil
	}
	for _, ca := range []string{"ca", "other_ca"} {
		tmpl := &x509.Certificate{
			Subject:               pkix.Name{CommonName: "weft behaviour " + ca},
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		key, err := issue(ca, tmpl, nil, nil)
		if err != nil {
			return nil, err
		}
		if ca == "ca" {
			caTmpl, caKey = tmpl, key
		}
	}
	leaves := []struct {
		name, cn string
		ips      []net.IP
	}{{"server", "localhost", []net.IP{net.IPv4(127, 0, 0, 1)}}, {"wrong_host", "wrong.example", nil}}
	for _, leaf := range leaves {
		tmpl := &x509.Certificate{
			Subject:               pkix.Name{CommonName: leaf.cn},
			DNSNames:              []string{leaf.cn},
			IPAddresses:           leaf.ips,
			KeyUsage:              x509.KeyUsageDigitalSignature,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
		}
		if _, err := issue(leaf.name, tmpl, caTmpl, caKey); err != nil {
			return nil, err
		}
	}
	return certs, nil
}
