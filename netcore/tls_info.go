package netcore

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strings"
)

// TLSInfo is what Node's secureConnect (client) and secureConnection
// (server) events let a listener read from the TLS socket.
type TLSInfo struct {
	// Protocol is getProtocol(): "TLSv1.3", "TLSv1.2".
	Protocol string
	// Cipher is getCipher().name, OpenSSL's name of the suite:
	// "TLS_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256".
	Cipher string
	// ServerName is the SNI name: the one sent (client) or received
	// (server); "" for none (Node: false).
	ServerName string
	// ALPNProtocol is alpnProtocol; "" when none was agreed (Node: false).
	ALPNProtocol string
	// Authorized and AuthorizationError are the socket's authorized and
	// authorizationError: whether the peer's certificate was verified,
	// and if not, the verification code ("CERT_HAS_EXPIRED"). A server
	// that does not request certificates reports false and "", as Node
	// does.
	Authorized         bool
	AuthorizationError string
	// PeerSubject is the peer certificate's subject
	// ("CN=localhost,O=Example"), and PeerFingerprint256 its SHA-256
	// fingerprint ("AB:CD:..."); "" without a peer certificate.
	PeerSubject        string
	PeerFingerprint256 string
}

// fingerprint256 is a certificate's SHA-256 fingerprint as Node's
// fingerprint256 writes it: upper-case hex bytes joined by colons.
func fingerprint256(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// Info describes a socket's TLS session for the secure events; false
// when the socket does not speak TLS. On a client, authorization is the
// one decided during the handshake; on a server, client certificates
// are verified again here against the context's CA.
func (c *TLSContext) Info(s *Socket) (TLSInfo, bool) {
	cs, ok := s.TLSConnectionState()
	if !ok {
		return TLSInfo{}, false
	}
	info := TLSInfo{
		Protocol:     tlsVersionName(cs.Version),
		Cipher:       cipherName(cs.CipherSuite),
		ServerName:   cs.ServerName,
		ALPNProtocol: cs.NegotiatedProtocol,
	}
	if len(cs.PeerCertificates) > 0 {
		info.PeerSubject = cs.PeerCertificates[0].Subject.String()
		info.PeerFingerprint256 = fingerprint256(cs.PeerCertificates[0].Raw)
	}
	var authErr error
	if tc, ok := s.conn.(*tlsClientConn); ok {
		authErr = tc.authErr
	} else if c.requestCert {
		authErr = c.verifyPeer(cs.PeerCertificates, "")
	} else {
		return info, true // Node: authorized false, no authorizationError
	}
	info.Authorized = authErr == nil
	if authErr != nil {
		info.AuthorizationError = authErr.Error()
		if code := tlsVerifyCode(authErr); code != "" {
			info.AuthorizationError = code
		}
	}
	return info, true
}

// cipherName is OpenSSL's name of a cipher suite, as Node's getCipher()
// reports it: TLS 1.3 suites keep their IANA names, TLS 1.2 ones take
// OpenSSL's short form.
func cipherName(id uint16) string {
	if n, ok := opensslCiphers[id]; ok {
		return n
	}
	return tls.CipherSuiteName(id)
}

var opensslCiphers = map[uint16]string{
	tls.TLS_AES_128_GCM_SHA256:                        "TLS_AES_128_GCM_SHA256",
	tls.TLS_AES_256_GCM_SHA384:                        "TLS_AES_256_GCM_SHA384",
	tls.TLS_CHACHA20_POLY1305_SHA256:                  "TLS_CHACHA20_POLY1305_SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       "ECDHE-ECDSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         "ECDHE-RSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          "ECDHE-ECDSA-AES128-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          "ECDHE-ECDSA-AES256-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            "ECDHE-RSA-AES128-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            "ECDHE-RSA-AES256-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256:       "ECDHE-ECDSA-AES128-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256:         "ECDHE-RSA-AES128-SHA256",
	tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA:           "ECDHE-RSA-DES-CBC3-SHA",
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256:               "AES128-GCM-SHA256",
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               "AES256-GCM-SHA384",
	tls.TLS_RSA_WITH_AES_128_CBC_SHA:                  "AES128-SHA",
	tls.TLS_RSA_WITH_AES_256_CBC_SHA:                  "AES256-SHA",
	tls.TLS_RSA_WITH_AES_128_CBC_SHA256:               "AES128-SHA256",
	tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA:                 "DES-CBC3-SHA",
}
