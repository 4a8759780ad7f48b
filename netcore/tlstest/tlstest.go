// Package tlstest makes the certificates and keys that nodenet's TLS
// tests use, into a directory: a CA, an intermediate, leaves with SANs,
// an expired leaf, a self-signed one, a wildcard, a chain with an
// untrusted root, client certificates and keys in every encoding. It is
// imported only by tests.
package tlstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files names what Make wrote. Every certificate X has X.pem and its
// key X.key (PKCS#8) unless said otherwise.
//
//	ca          the test CA (trust it with ca.pem)
//	inter       an intermediate CA signed by ca
//	leaf        localhost, 127.0.0.1, ::1, signed by ca (ECDSA)
//	rsa         the same names, RSA, its key in PKCS#1 (rsa.key)
//	chain       localhost signed by inter; chain.pem holds leaf + inter
//	expired     localhost signed by ca, expired yesterday
//	self        localhost, self-signed
//	wild        *.example.com and example.com, signed by ca
//	other       localhost signed by an unknown CA (leaf only)
//	rootchain   localhost signed by an unknown CA's intermediate:
//	            rootchain.pem holds leaf + intermediate + that root
//	client      a client certificate, CN=client, signed by ca
//	leaf-ec.key the leaf's key in SEC 1 ("EC PRIVATE KEY")
type Files struct {
	Dir string
	// Fingerprints of the leaves, as Node's fingerprint256 writes them.
	Fingerprint map[string]string
}

// Path returns the path of a file Make wrote.
func (f *Files) Path(name string) string { return filepath.Join(f.Dir, name) }

type issued struct {
	cert *x509.Certificate
	der  []byte
	key  crypto.Signer
}

// Make writes the test certificates into dir.
func Make(dir string) (*Files, error) {
	f := &Files{Dir: dir, Fingerprint: map[string]string{}}
	now := time.Now()
	ca, err := makeCert(pkix.Name{CommonName: "nodenet test CA"}, nil, nil, true, now, nil)
	if err != nil {
		return nil, err
	}
	inter, err := makeCert(pkix.Name{CommonName: "nodenet test intermediate"}, nil, ca, true, now, nil)
	if err != nil {
		return nil, err
	}
	unknownCA, err := makeCert(pkix.Name{CommonName: "unknown CA"}, nil, nil, true, now, nil)
	if err != nil {
		return nil, err
	}
	unknownInter, err := makeCert(pkix.Name{CommonName: "unknown intermediate"}, nil, unknownCA, true, now, nil)
	if err != nil {
		return nil, err
	}
	local := []string{"localhost", "127.0.0.1", "::1"}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	type spec struct {
		name   string
		sans   []string
		issuer *issued
		key    crypto.Signer
		start  time.Time
		chain  []*issued
	}
	specs := []spec{
		{name: "leaf", sans: local, issuer: ca},
		{name: "rsa", sans: local, issuer: ca, key: rsaKey},
		{name: "chain", sans: local, issuer: inter, chain: []*issued{inter}},
		{name: "expired", sans: local, issuer: ca, start: now.AddDate(-1, 0, -1)},
		{name: "self", sans: local},
		{name: "wild", sans: []string{"*.example.com", "example.com"}, issuer: ca},
		{name: "other", sans: local, issuer: unknownCA},
		{name: "rootchain", sans: local, issuer: unknownInter, chain: []*issued{unknownInter, unknownCA}},
		{name: "client", issuer: ca},
	}
	if err := writePEM(f.Path("ca.pem"), "CERTIFICATE", ca.der); err != nil {
		return nil, err
	}
	if err := writeKey(f.Path("ca.key"), ca.key); err != nil {
		return nil, err
	}
	for _, s := range specs {
		cn := "localhost"
		if len(s.sans) > 0 {
			cn = s.sans[0]
		}
		if s.name == "client" {
			cn = "client"
		}
		start := now
		if !s.start.IsZero() {
			start = s.start
		}
		c, err := makeCert(pkix.Name{CommonName: cn, Organization: []string{"nodenet tests"}}, s.sans, s.issuer, false, start, s.key)
		if err != nil {
			return nil, err
		}
		ders := [][]byte{c.der}
		for _, ch := range s.chain {
			ders = append(ders, ch.der)
		}
		if err := writePEM(f.Path(s.name+".pem"), "CERTIFICATE", ders...); err != nil {
			return nil, err
		}
		if s.name == "rsa" {
			err = writePEM(f.Path("rsa.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))
		} else {
			err = writeKey(f.Path(s.name+".key"), c.key)
		}
		if err != nil {
			return nil, err
		}
		f.Fingerprint[s.name] = Fingerprint256(c.der)
		if s.name == "leaf" {
			ec, err := x509.MarshalECPrivateKey(c.key.(*ecdsa.PrivateKey))
			if err != nil {
				return nil, err
			}
			if err := writePEM(f.Path("leaf-ec.key"), "EC PRIVATE KEY", ec); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

// makeCert issues a certificate for names (host names and IP
// addresses), signed by issuer or by itself, valid for 30 days from
// start (so one started more than 30 days ago has expired).
func makeCert(subject pkix.Name, names []string, issuer *issued, isCA bool, start time.Time, key crypto.Signer) (*issued, error) {
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		key = k
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    start.Add(-time.Hour),
		NotAfter:     start.AddDate(0, 0, 30),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		if _, ok := key.(*rsa.PrivateKey); ok {
			tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
		}
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	parent, signer := tmpl, key
	if issuer != nil {
		parent, signer = issuer.cert, issuer.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &issued{cert: c, der: der, key: key}, nil
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der)
}

func writePEM(path, typ string, ders ...[]byte) error {
	var b []byte
	for _, d := range ders {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
	}
	return os.WriteFile(path, b, 0o600)
}

// Fingerprint256 is the SHA-256 fingerprint as Node writes it:
// upper-case hex bytes joined by colons. (Tests compare it with
// netcore's own, so it is written again here rather than shared.)
func Fingerprint256(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	parts := make([]string, 0, 32)
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}
