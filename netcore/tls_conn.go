package netcore

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// tlsClientConn is a client's TLS connection: it keeps the result of
// verifying the server for Info (authorized, authorizationError), and its
// CloseWrite is Node's end(): close_notify and then FIN, where a bare
// *tls.Conn sends only the alert.
type tlsClientConn struct {
	*tls.Conn
	authErr error // the client's verification result, nil when authorized
}

// CloseWrite sends close_notify, then half-closes the connection under
// it (FIN) when it can half-close: tlsCloseWrite.
func (c *tlsClientConn) CloseWrite() error { return tlsCloseWrite(c.Conn) }

// tlsCloseWrite is Node's end() over TLS: close_notify, then the FIN of
// the connection beneath. A peer that has already gone (the alert meets
// EPIPE or ECONNRESET, the shutdown ENOTCONN) is no error: there was
// nothing left to tell it, and Node's end() takes ENOTCONN as done too.
func tlsCloseWrite(tc *tls.Conn) error {
	err := tc.CloseWrite()
	if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
		err = nil
	}
	if cw, ok := tc.NetConn().(interface{ CloseWrite() error }); ok {
		if err2 := cw.CloseWrite(); err == nil && !errors.Is(err2, syscall.ENOTCONN) {
			err = err2
		}
	}
	return err
}

// secure runs the client's handshake on a connected socket, as Node's
// tls.connect does after 'connect'. host is the host connected to: the
// SNI name unless ServerName is set or host is an IP address, and the
// name the certificate is checked against.
func (c *TLSContext) secure(ctx context.Context, s *Socket, host string) error {
	name := c.serverName
	if name == "" {
		name = host
	}
	if name == "" {
		name = "localhost"
	}
	cfg := c.config.Clone()
	tc := &tlsClientConn{}
	if !hostIsIP(name) {
		cfg.ServerName = name
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		tc.authErr = c.verifyPeer(cs.PeerCertificates, name)
		if tc.authErr != nil && !c.insecure {
			return tc.authErr
		}
		return nil
	}
	tc.Conn = tls.Client(s.conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return HandshakeError(err, true)
	}
	s.conn = tc
	if s.hooks.OnSecureConnect != nil {
		s.hooks.OnSecureConnect(s)
	}
	return nil
}

// HandshakeError names a failed handshake as Node does. A verification
// failure is returned as it is (CERT_HAS_EXPIRED, ...); an alert from
// the peer is OpenSSL's ERR_SSL_* code for it; a peer that does not
// speak TLS is ERR_SSL_WRONG_VERSION_NUMBER (ERR_SSL_HTTP_REQUEST when
// it spoke HTTP); a peer that hung up is ECONNRESET with Node's
// sentence, which differs between the client and the server.
func HandshakeError(err error, client bool) error {
	var ne *Error
	if errors.As(err, &ne) {
		return ne
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		for _, m := range []string{"GET ", "POST", "HEAD", "PUT ", "DELE", "OPTI", "CONN", "PATC", "TRAC"} {
			if bytes.HasPrefix(rh.RecordHeader[:], []byte(m)) {
				return &Error{Code: "ERR_SSL_HTTP_REQUEST", Message: "http request: the peer speaks plain HTTP, not TLS", Err: err}
			}
		}
		return &Error{Code: "ERR_SSL_WRONG_VERSION_NUMBER", Message: "wrong version number: the peer does not speak TLS", Err: err}
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		code, reason := alertName(uint8(alert))
		return &Error{Code: code, Message: reason, Err: err}
	}
	// Over TCP, crypto/tls reports an alert from the peer as an OpError
	// "remote error" around its own text for it.
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "remote error" && oe.Err != nil {
		if a, ok := goAlerts[strings.TrimPrefix(oe.Err.Error(), "tls: ")]; ok {
			code, reason := alertName(a)
			return &Error{Code: code, Message: reason, Err: err}
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		msg := "socket hang up"
		if client {
			msg = "Client network socket disconnected before secure TLS connection was established"
		}
		return &Error{Code: "ECONNRESET", Message: msg, Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		if client {
			return &Error{Code: "ETIMEDOUT", Syscall: "connect", Message: "connect ETIMEDOUT (TLS handshake)", Err: err}
		}
		return &Error{Code: "ERR_TLS_HANDSHAKE_TIMEOUT", Message: "TLS handshake timeout", Err: err}
	}
	if errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled) {
		return err
	}
	msg := strings.TrimPrefix(err.Error(), "tls: ")
	for goText, ossl := range localFailures {
		if strings.Contains(msg, goText) {
			return &Error{Code: ossl[0], Message: ossl[1], Err: err}
		}
	}
	if _, ok := Errno(err); ok {
		return sysError(err, "read", "", 0)
	}
	return &Error{Code: "EPROTO", Message: "TLS handshake failed: " + msg, Err: err}
}

// alertName is OpenSSL's code and reason for an alert received from
// the peer ("ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", "tlsv1 alert unknown
// ca").
func alertName(a uint8) (code, reason string) {
	names := map[uint8]string{
		10:  "sslv3 alert unexpected message",
		20:  "sslv3 alert bad record mac",
		40:  "sslv3 alert handshake failure",
		42:  "sslv3 alert bad certificate",
		43:  "sslv3 alert unsupported certificate",
		44:  "sslv3 alert certificate revoked",
		45:  "sslv3 alert certificate expired",
		46:  "sslv3 alert certificate unknown",
		47:  "sslv3 alert illegal parameter",
		48:  "tlsv1 alert unknown ca",
		49:  "tlsv1 alert access denied",
		50:  "tlsv1 alert decode error",
		51:  "tlsv1 alert decrypt error",
		70:  "tlsv1 alert protocol version",
		71:  "tlsv1 alert insufficient security",
		80:  "tlsv1 alert internal error",
		86:  "tlsv1 alert inappropriate fallback",
		109: "tlsv13 alert missing extension",
		112: "tlsv1 unrecognized name",
		116: "tlsv13 alert certificate required",
		120: "tlsv1 alert no application protocol",
	}
	reason, ok := names[a]
	if !ok {
		reason = "tlsv1 alert " + tls.AlertError(a).Error()
	}
	code = "ERR_SSL_" + strings.ToUpper(strings.NewReplacer(" ", "_").Replace(reason))
	return code, reason
}

// localFailures are handshake failures crypto/tls finds itself, by its
// words, with OpenSSL's code and reason for the same failure.
var localFailures = map[string][2]string{
	"client didn't provide a certificate":                 {"ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE", "peer did not return a certificate"},
	"offered only unsupported versions":                   {"ERR_SSL_UNSUPPORTED_PROTOCOL", "unsupported protocol"},
	"no cipher suite supported by both client and server": {"ERR_SSL_NO_SHARED_CIPHER", "no shared cipher"},
	"unsupported application protocols":                   {"ERR_SSL_NO_APPLICATION_PROTOCOL", "no application protocol"},
}

// goAlerts are crypto/tls's words for the alerts, by number.
var goAlerts = map[string]uint8{
	"unexpected message":             10,
	"bad record MAC":                 20,
	"handshake failure":              40,
	"bad certificate":                42,
	"unsupported certificate":        43,
	"revoked certificate":            44,
	"expired certificate":            45,
	"unknown certificate":            46,
	"illegal parameter":              47,
	"unknown certificate authority":  48,
	"access denied":                  49,
	"error decoding message":         50,
	"error decrypting message":       51,
	"protocol version not supported": 70,
	"insufficient security level":    71,
	"internal error":                 80,
	"inappropriate fallback":         86,
	"missing extension":              109,
	"unrecognized name":              112,
	"certificate required":           116,
	"no application protocol":        120,
}

// DefaultSelfSignedHosts are the names a server's self-signed
// certificate is made for: the machine's host name, localhost,
// 127.0.0.1 and ::1.
func DefaultSelfSignedHosts() []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		hosts = append([]string{h}, hosts...)
	}
	return hosts
}

// selfSignedCertificate makes an ECDSA P-256 certificate for hosts
// (names and IP addresses; the first is also its CN), valid from an
// hour ago for a year, and returns it with its SHA-256 fingerprint
// ("AB:CD:...") for clients to pin.
func selfSignedCertificate(hosts []string) (*tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "nodenet", Organization: []string{"nodenet self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if len(hosts) > 0 && hosts[0] != "" {
		tmpl.Subject.CommonName = hosts[0]
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, "", err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "", err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, fingerprint256(der), nil
}
