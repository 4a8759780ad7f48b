package netcore

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"sync"
)

// TLSOptions are Node's tls options (and the EdgerOS tlsOpt of the
// seeds) for a client or a server. File names are read by
// NewClientTLS and NewServerTLS, which report a missing, unreadable or
// malformed file as an *Error with Usage set, naming the option and the
// file, before anything connects or listens.
type TLSOptions struct {
	// CA is a PEM file of trusted certificate authorities that replaces
	// the system's (Node's ca). On a server it verifies client
	// certificates (RequestCert).
	CA string
	// Cert and Key are PEM files: the certificate chain (leaf first) and
	// its private key, PKCS#1, PKCS#8 or SEC 1 (EC), encrypted or not.
	// On a client they are the client certificate.
	Cert, Key string
	// Passphrase decrypts the key (Node's passphrase, EdgerOS passwd):
	// encrypted PKCS#8 or legacy PEM encryption. PassphraseFile, when
	// set, holds it instead (its first line).
	Passphrase     string
	PassphraseFile string
	// ServerName is the client's SNI and the name its certificate is
	// checked against (Node's servername). "" takes the host connected
	// to, unless it is an IP address: then no SNI is sent and the
	// address is checked against the certificate's IP SANs, as it is
	// when ServerName itself is an IP address.
	ServerName string
	// Insecure does not reject a peer whose certificate fails
	// verification (Node's rejectUnauthorized: false); the secure event
	// still reports authorized false and the authorizationError.
	Insecure bool
	// Pin, on a client, accepts exactly the server certificate whose
	// SHA-256 fingerprint it is ("sha256:AB:CD:..." or "sha256:abcd...")
	// instead of verifying it against CAs and the name.
	Pin string
	// SNI are further certificates a server presents for the names
	// clients ask for (Node's server.addContext, EdgerOS addcert).
	SNI []SNIContext
	// RequestCert makes a server ask for a client certificate and verify
	// it against CA (the system's roots without CA): Node's requestCert.
	// A client without a valid one is refused unless Insecure.
	RequestCert bool
	// ALPN are the protocols offered, in preference order (Node's
	// ALPNProtocols).
	ALPN []string
	// MinVersion is the lowest version accepted, "1.2" or "1.3" (Node's
	// minVersion TLSv1.2, TLSv1.3); "" is 1.2.
	MinVersion string
	// Hosts are the names and addresses a server's self-signed
	// certificate is made for when it has no Cert; empty means the
	// machine's host name, localhost, 127.0.0.1 and ::1.
	Hosts []string
}

// SNIContext is one certificate a server presents for a server name:
// Name is a host name or a pattern whose "*" stands for any characters
// but a dot, as in Node's addContext ("*.example.com").
type SNIContext struct {
	Name           string
	Cert, Key      string
	PassphraseFile string
}

// ParseSNI reads the NAME,CERT,KEY[,PASSFILE] form of --sni.
func ParseSNI(s string) (SNIContext, error) {
	parts := strings.Split(s, ",")
	if len(parts) < 3 || len(parts) > 4 {
		return SNIContext{}, usageError("ERR_INVALID_ARG_VALUE", "sni %q: want NAME,CERT,KEY[,PASSFILE]", s)
	}
	for i, name := range []string{"NAME", "CERT", "KEY", "PASSFILE"}[:len(parts)] {
		if strings.TrimSpace(parts[i]) == "" {
			return SNIContext{}, usageError("ERR_INVALID_ARG_VALUE", "sni %q: %s is empty (want NAME,CERT,KEY[,PASSFILE])", s, name)
		}
	}
	c := SNIContext{Name: parts[0], Cert: parts[1], Key: parts[2]}
	if len(parts) == 4 {
		c.PassphraseFile = parts[3]
	}
	return c, nil
}

// ParsePin reads a certificate fingerprint "sha256:HEX", the hex digits
// in either case, with or without colons (as Node's fingerprint256
// writes them): the 32 bytes of the SHA-256 of the certificate.
func ParsePin(s string) ([]byte, error) {
	const prefix = "sha256:"
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return nil, usageError("ERR_INVALID_ARG_VALUE", "pin %q: want sha256: and the certificate's SHA-256 fingerprint in hex", s)
	}
	h := strings.ReplaceAll(s[len(prefix):], ":", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return nil, usageError("ERR_INVALID_ARG_VALUE", "pin %q: want 64 hex digits (32 bytes) after sha256:", s)
	}
	return b, nil
}

// usageError is a TLS option error: the command line exits 2.
func usageError(code, format string, a ...any) *Error {
	e := codeError(code, format, a...)
	e.Usage = true
	return e
}

// TLSContext is a TLS configuration built from TLSOptions, Node's
// SecureContext plus the verification options. One context serves every
// connection of a client or a server; it is safe for concurrent use.
type TLSContext struct {
	config      *tls.Config
	roots       *x509.CertPool // nil: the system's
	pin         []byte
	insecure    bool
	requestCert bool
	serverName  string

	// SelfSigned is the SHA-256 fingerprint ("AB:CD:...") of the
	// certificate a server made for itself because it was given none;
	// "" otherwise.
	SelfSigned string

	systemOnce  sync.Once
	systemRoots *x509.CertPool
}

// Config is the *tls.Config a server hands to ServerOptions.TLS. A
// client needs none: ConnectOptions.TLS takes the context.
func (c *TLSContext) Config() *tls.Config { return c.config }

// NewClientTLS builds a client's context: CA, Cert/Key, the passphrase,
// ServerName, Insecure, Pin, ALPN and MinVersion apply.
func NewClientTLS(opts TLSOptions) (*TLSContext, error) {
	c := &TLSContext{insecure: opts.Insecure, serverName: opts.ServerName}
	min, err := minVersion(opts.MinVersion)
	if err != nil {
		return nil, err
	}
	if opts.Pin != "" {
		if c.pin, err = ParsePin(opts.Pin); err != nil {
			return nil, err
		}
	}
	if opts.CA != "" {
		if c.roots, err = loadCA(opts.CA); err != nil {
			return nil, err
		}
	}
	cfg := &tls.Config{
		MinVersion: min,
		NextProtos: opts.ALPN,
		RootCAs:    c.roots,
		// Verification is the context's own (verifyPeer), so that its
		// failures carry OpenSSL's codes as Node reports them, --insecure
		// still learns the authorizationError, and --pin replaces it.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
	}
	// Connect sets a VerifyConnection of its own for each connection (it
	// knows the host and keeps the result); this one makes the config
	// fail closed should it be used without it.
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := c.verifyPeer(cs.PeerCertificates, cs.ServerName); err != nil && !c.insecure {
			return err
		}
		return nil
	}
	if opts.Cert != "" || opts.Key != "" {
		pass, err := passphrase(opts.Passphrase, opts.PassphraseFile, "passphrase-file")
		if err != nil {
			return nil, err
		}
		cert, err := loadKeyPair(opts.Cert, opts.Key, pass)
		if err != nil {
			return nil, err
		}
		// OpenSSL sends its certificate whenever the server asks, whatever
		// CAs the server names; Go would send none when they do not match.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	c.config = cfg
	return c, nil
}

// NewServerTLS builds a server's context: Cert/Key (or a self-signed
// certificate for Hosts), SNI, RequestCert with CA, Insecure, ALPN and
// MinVersion apply.
func NewServerTLS(opts TLSOptions) (*TLSContext, error) {
	c := &TLSContext{insecure: opts.Insecure, requestCert: opts.RequestCert}
	min, err := minVersion(opts.MinVersion)
	if err != nil {
		return nil, err
	}
	if opts.Pin != "" {
		return nil, usageError("ERR_INVALID_ARG_VALUE", "pin: a server verifies client certificates with ca, not a pin")
	}
	if opts.CA != "" {
		if c.roots, err = loadCA(opts.CA); err != nil {
			return nil, err
		}
	}
	var main *tls.Certificate
	switch {
	case opts.Cert != "" || opts.Key != "":
		pass, err := passphrase(opts.Passphrase, opts.PassphraseFile, "passphrase-file")
		if err != nil {
			return nil, err
		}
		if main, err = loadKeyPair(opts.Cert, opts.Key, pass); err != nil {
			return nil, err
		}
	default:
		hosts := opts.Hosts
		if len(hosts) == 0 {
			hosts = DefaultSelfSignedHosts()
		}
		cert, fp, err := selfSignedCertificate(hosts)
		if err != nil {
			return nil, err
		}
		main, c.SelfSigned = cert, fp
	}
	cfg := &tls.Config{
		MinVersion:   min,
		NextProtos:   opts.ALPN,
		Certificates: []tls.Certificate{*main},
	}
	if len(opts.SNI) > 0 {
		sni := make([]sniEntry, 0, len(opts.SNI))
		for _, s := range opts.SNI {
			if s.Name == "" || s.Cert == "" || s.Key == "" {
				return nil, usageError("ERR_INVALID_ARG_VALUE", "sni %q: want NAME,CERT,KEY[,PASSFILE]", s.Name+","+s.Cert+","+s.Key)
			}
			pass, err := passphrase("", s.PassphraseFile, "sni "+s.Name+" PASSFILE")
			if err != nil {
				return nil, err
			}
			cert, err := loadKeyPair(s.Cert, s.Key, pass)
			if err != nil {
				return nil, err
			}
			sni = append(sni, sniEntry{pattern: strings.ToLower(s.Name), cert: cert})
		}
		cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if cert := matchSNI(sni, hello.ServerName); cert != nil {
				return cert, nil
			}
			return main, nil
		}
	}
	if opts.RequestCert {
		cfg.ClientAuth = tls.RequireAnyClientCert
		if opts.Insecure {
			cfg.ClientAuth = tls.RequestClientCert
		} else {
			cfg.VerifyConnection = func(cs tls.ConnectionState) error {
				return c.verifyPeer(cs.PeerCertificates, "")
			}
		}
		if c.roots != nil {
			cfg.ClientCAs = c.roots // named in the certificate request
		}
	}
	c.config = cfg
	return c, nil
}

// minVersion reads MinVersion.
func minVersion(v string) (uint16, error) {
	switch strings.TrimPrefix(strings.ToLower(v), "tlsv") {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, usageError("ERR_TLS_INVALID_PROTOCOL_VERSION", "min-tls %q: want 1.2 or 1.3", v)
}

// passphrase returns the passphrase, read from file when one is named:
// its first line, without the line end.
func passphrase(pass, file, what string) (string, error) {
	if file == "" {
		return pass, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fileError(what, file, err)
	}
	s := string(b)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, "\r"), nil
}

// sniEntry is one SNI certificate with its name pattern.
type sniEntry struct {
	pattern string
	cert    *tls.Certificate
}

// matchSNI finds the certificate for a server name as Node's
// SNICallback does: the context added last that matches wins, and "*"
// in a pattern matches any run of characters other than a dot.
func matchSNI(entries []sniEntry, name string) *tls.Certificate {
	if name == "" {
		return nil
	}
	name = strings.ToLower(name)
	for i := len(entries) - 1; i >= 0; i-- {
		if globMatch(entries[i].pattern, name) {
			return entries[i].cert
		}
	}
	return nil
}

// globMatch matches name against pattern, where "*" is [^.]*.
func globMatch(pattern, name string) bool {
	for {
		star := strings.IndexByte(pattern, '*')
		if star < 0 {
			return pattern == name
		}
		if !strings.HasPrefix(name, pattern[:star]) {
			return false
		}
		name, pattern = name[star:], pattern[star+1:]
		// Try every length of the run the star takes, up to a dot.
		for i := 0; ; i++ {
			if globMatch(pattern, name[i:]) {
				return true
			}
			if i == len(name) || name[i] == '.' {
				return false
			}
		}
	}
}

// hostIsIP reports whether a host is an IP address (no SNI is sent for
// one).
func hostIsIP(host string) bool { return net.ParseIP(host) != nil }
