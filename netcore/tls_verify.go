package netcore

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"strings"
	"time"
)

// The verification failures, with OpenSSL's codes and reasons as Node's
// tls module reports them (err.code, err.message, and the socket's
// authorizationError).
var (
	errUnableToVerifyLeaf = verifyError("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate")
	errIssuerLocally      = verifyError("UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "unable to get local issuer certificate")
	errIssuer             = verifyError("UNABLE_TO_GET_ISSUER_CERT", "unable to get issuer certificate")
	errDepthZero          = verifyError("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate")
	errSelfSignedInChain  = verifyError("SELF_SIGNED_CERT_IN_CHAIN", "self-signed certificate in certificate chain")
	errExpired            = verifyError("CERT_HAS_EXPIRED", "certificate has expired")
	errNotYetValid        = verifyError("CERT_NOT_YET_VALID", "certificate is not yet valid")
	errInvalidCA          = verifyError("INVALID_CA", "invalid CA certificate")
	errSignature          = verifyError("CERT_SIGNATURE_FAILURE", "certificate signature failure")
	errPurpose            = verifyError("INVALID_PURPOSE", "unsupported certificate purpose")
)

// verifyError is one of OpenSSL's verification results. Node gives it
// no ERR_ prefix; nodenet prints the code before the reason, since a
// reason alone ("self-signed certificate") hides what to search for.
func verifyError(code, reason string) *Error {
	return &Error{Code: code, Message: reason, ShowCode: true}
}

// tlsVerifyCode returns OpenSSL's verification code of err
// ("CERT_HAS_EXPIRED", "ERR_TLS_CERT_ALTNAME_INVALID"), or "" when err
// is not a verification failure.
func tlsVerifyCode(err error) string {
	var e *Error
	if errors.As(err, &e) && (e.ShowCode || e.Code == "ERR_TLS_CERT_ALTNAME_INVALID") {
		return e.Code
	}
	return ""
}

// verifyPeer checks a peer's certificates as Node's TLS socket does:
// the chain against the roots (OpenSSL's verification, with its codes),
// then, for a client, checkServerIdentity against host; or, with a pin,
// only the leaf's fingerprint. It returns nil when the peer is
// authorized.
func (c *TLSContext) verifyPeer(certs []*x509.Certificate, host string) error {
	if len(certs) == 0 {
		// Node's wording when there is no peer certificate.
		return errIssuer
	}
	leaf := certs[0]
	if c.pin != nil {
		sum := sha256.Sum256(leaf.Raw)
		if !bytes.Equal(sum[:], c.pin) {
			// The wording of the pinning example in Node's tls docs.
			return &Error{Code: "ERR_TLS_CERT_PIN_MISMATCH", Message: "Certificate verification error: The certificate of '" +
				leaf.Subject.CommonName + "' does not match our pinned fingerprint " + fingerprint256(leaf.Raw)}
		}
		return nil
	}
	if err := c.verifyChain(certs, time.Now()); err != nil {
		return err
	}
	if host != "" {
		return checkServerIdentity(host, leaf)
	}
	return nil
}

// verifyChain is OpenSSL's chain verification as Node runs it. Node's
// verify callback accepts every error so that OpenSSL goes on, and the
// result is the last error found: the validity dates are checked after
// the chain is built, so an expired certificate is reported as expired
// even when its issuer is unknown too.
func (c *TLSContext) verifyChain(certs []*x509.Certificate, now time.Time) error {
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, ic := range certs[1:] {
		inter.AddCert(ic)
	}
	roots := c.roots
	if roots == nil {
		roots = c.systemPool()
	}
	// Build the chain at a time the leaf is valid; the dates come after.
	at := now
	if at.Before(leaf.NotBefore) {
		at = leaf.NotBefore
	}
	if at.After(leaf.NotAfter) {
		at = leaf.NotAfter
	}
	chains, chainErr := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	// The dates of the chain's certificates, root first and leaf last, as
	// OpenSSL's internal_verify checks them: the last failure is kept.
	chain := certs
	if chainErr == nil && len(chains) > 0 {
		chain = chains[0]
	}
	var dateErr error
	for i := len(chain) - 1; i >= 0; i-- {
		switch {
		case now.Before(chain[i].NotBefore):
			dateErr = errNotYetValid
		case now.After(chain[i].NotAfter):
			dateErr = errExpired
		}
	}
	if dateErr != nil {
		return dateErr
	}
	if chainErr == nil {
		return nil
	}
	var cie x509.CertificateInvalidError
	if errors.As(chainErr, &cie) {
		switch cie.Reason {
		case x509.Expired:
			return errExpired // an intermediate's date at the time the leaf is valid
		case x509.NotAuthorizedToSign, x509.CANotAuthorizedForThisName, x509.TooManyIntermediates:
			return errInvalidCA
		case x509.IncompatibleUsage:
			return errPurpose
		}
	}
	var sig x509.InsecureAlgorithmError
	if errors.As(chainErr, &sig) {
		return errSignature
	}
	// The issuer is unknown. OpenSSL's reason depends on the chain it
	// builds from what the peer sent: one that ends in a self-signed
	// certificate is an untrusted root (at depth zero when the leaf is
	// its own issuer); a lone leaf cannot be verified; a longer chain is
	// missing its last issuer.
	built := untrustedChain(certs)
	last := built[len(built)-1]
	switch {
	case isSelfSigned(last) && len(built) == 1:
		return errDepthZero
	case isSelfSigned(last):
		return errSelfSignedInChain
	case len(built) == 1:
		return errUnableToVerifyLeaf
	}
	return errIssuerLocally
}

// untrustedChain follows issuers from the leaf through the certificates
// the peer sent, as OpenSSL builds its chain before it looks at the
// trusted store: each certificate's issuer is a sent certificate whose
// subject is its issuer and whose key signed it. Duplicates do not
// lengthen it.
func untrustedChain(certs []*x509.Certificate) []*x509.Certificate {
	chain := []*x509.Certificate{certs[0]}
	for len(chain) <= len(certs) {
		cur := chain[len(chain)-1]
		if isSelfSigned(cur) {
			break
		}
		var next *x509.Certificate
		for _, c := range certs[1:] {
			if c != cur && bytes.Equal(c.RawSubject, cur.RawIssuer) && cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil {
			break
		}
		chain = append(chain, next)
	}
	return chain
}

// isSelfSigned reports whether a certificate is issued by itself.
func isSelfSigned(c *x509.Certificate) bool {
	// CheckSignatureFrom would refuse a parent that is not a CA, and a
	// self-signed server certificate usually is not one.
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// systemPool is the system's roots, loaded once.
func (c *TLSContext) systemPool() *x509.CertPool {
	c.systemOnce.Do(func() {
		p, err := x509.SystemCertPool()
		if err != nil {
			p = x509.NewCertPool()
		}
		c.systemRoots = p
	})
	return c.systemRoots
}

// checkServerIdentity is Node's tls.checkServerIdentity: an IP address
// must be one of the certificate's IP SANs; a host name must match a DNS
// SAN (a "*" in the first label of the pattern matches), or the subject's
// CN when the certificate has no DNS SAN. The failure is
// ERR_TLS_CERT_ALTNAME_INVALID with Node's reason.
func checkServerIdentity(host string, cert *x509.Certificate) error {
	host = strings.TrimSuffix(host, ".")
	var reason string
	if ip, err := netip.ParseAddr(host); err == nil && IsIP(host) != 0 {
		ips := make([]string, len(cert.IPAddresses))
		for i, a := range cert.IPAddresses {
			ips[i] = canonicalIP(a)
			if ca, ok := netip.AddrFromSlice(a); ok && ca.Unmap() == ip.Unmap() {
				return nil
			}
		}
		reason = "IP: " + host + " is not in the cert's list: " + strings.Join(ips, ", ")
	} else {
		parts := splitHost(host)
		switch {
		case len(cert.DNSNames) > 0:
			for _, n := range cert.DNSNames {
				if hostMatches(parts, n) {
					return nil
				}
			}
			reason = "Host: " + host + ". is not in the cert's altnames: " + subjectAltName(cert)
		case cert.Subject.CommonName != "":
			if hostMatches(parts, cert.Subject.CommonName) {
				return nil
			}
			reason = "Host: " + host + ". is not cert's CN: " + cert.Subject.CommonName
		default:
			reason = "Cert does not contain a DNS name"
		}
	}
	return &Error{Code: "ERR_TLS_CERT_ALTNAME_INVALID", Message: "Hostname/IP does not match certificate's altnames: " + reason}
}

// splitHost lower-cases A-Z only (as Node does, not by locale) and
// splits at the dots.
func splitHost(host string) []string {
	host = strings.TrimSuffix(host, ".")
	b := []byte(host)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return strings.Split(string(b), ".")
}

// hostMatches is the check of Node's checkServerIdentity for one
// pattern: the same number of labels, all but the first equal, and the
// first equal or matched by a single "*" with an optional prefix and
// suffix, in a pattern of three labels or more, never in an IDNA
// (xn--) label.
func hostMatches(host []string, pattern string) bool {
	if pattern == "" {
		return false
	}
	p := splitHost(pattern)
	if len(p) != len(host) {
		return false
	}
	for _, label := range p {
		if label == "" {
			return false
		}
		for i := 0; i < len(label); i++ {
			if label[i] < 0x21 || label[i] > 0x7f {
				return false
			}
		}
	}
	for i := len(host) - 1; i > 0; i-- {
		if host[i] != p[i] {
			return false
		}
	}
	sub, psub := host[0], p[0]
	pieces := strings.Split(psub, "*")
	if len(pieces) == 1 || strings.Contains(psub, "xn--") {
		return sub == psub
	}
	if len(pieces) > 2 || len(p) <= 2 {
		return false
	}
	prefix, suffix := pieces[0], pieces[1]
	return len(prefix)+len(suffix) <= len(sub) && strings.HasPrefix(sub, prefix) && strings.HasSuffix(sub, suffix)
}

// subjectAltName is the certificate's subjectaltname as Node writes it:
// "DNS:localhost, IP Address:127.0.0.1, email:a@b, URI:https://x".
func subjectAltName(cert *x509.Certificate) string {
	var names []string
	for _, n := range cert.DNSNames {
		names = append(names, "DNS:"+n)
	}
	for _, n := range cert.EmailAddresses {
		names = append(names, "email:"+n)
	}
	for _, a := range cert.IPAddresses {
		names = append(names, "IP Address:"+opensslIP(a))
	}
	for _, u := range cert.URIs {
		names = append(names, "URI:"+u.String())
	}
	return strings.Join(names, ", ")
}

// opensslIP writes an IP SAN as OpenSSL does: IPv6 as eight groups of
// upper-case hex without leading zeros, never shortened.
func opensslIP(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil && len(ip) == net.IPv4len {
		return v4.String()
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return "<invalid>"
	}
	if a.Is4() {
		return a.String()
	}
	b := a.As16()
	var s strings.Builder
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			s.WriteByte(':')
		}
		const digits = "0123456789ABCDEF"
		v := uint16(b[i])<<8 | uint16(b[i+1])
		started := false
		for shift := 12; shift >= 0; shift -= 4 {
			d := (v >> shift) & 0xf
			if d != 0 || started || shift == 0 {
				s.WriteByte(digits[d])
				started = true
			}
		}
	}
	return s.String()
}

// canonicalIP writes an IP SAN as Node's canonicalizeIP does: the
// shortest form.
func canonicalIP(ip net.IP) string {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return ""
	}
	if len(ip) == net.IPv4len {
		a = a.Unmap()
	}
	return a.String()
}

// tlsVersionName is Node's getProtocol(): "TLSv1.3".
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS10:
		return "TLSv1"
	}
	return "unknown"
}
