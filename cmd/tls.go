package cmd

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nodenet/nodenet/netcore"
)

// TLSFlags are the --tls flags of connect, listen and echo (SPEC's
// "TLS" table), in Node's tls vocabulary.
type TLSFlags struct {
	On             bool // --tls
	CA             string
	Cert           string
	Key            string
	Passphrase     string
	PassphraseFile string
	ServerName     string   // connect
	Insecure       bool     // connect: do not verify the server; server: accept unverified clients
	Pin            string   // connect
	SNI            []string // listen, echo: NAME,CERT,KEY[,PASSFILE]
	RequestCert    bool     // listen, echo
	ALPN           []string
	MinTLS         string

	server bool
}

// tlsOnlyFlags are the flags that mean nothing without --tls.
var tlsOnlyFlags = []string{"ca", "cert", "key", "passphrase", "passphrase-file", "servername", "insecure", "pin", "sni", "request-cert", "alpn", "min-tls"}

// addTLSFlags registers the TLS flags; server selects the server's set.
func addTLSFlags(fl *pflag.FlagSet, o *TLSFlags, server bool) {
	o.server = server
	fl.BoolVar(&o.On, "tls", false, "speak TLS on the connection")
	if server {
		fl.StringVar(&o.CA, "ca", "", "verify client certificates (--request-cert) against the CAs of PEM `FILE`")
		fl.StringVar(&o.Cert, "cert", "", "TLS certificate chain, PEM `FILE` (default: a self-signed certificate made at start)")
		fl.StringVar(&o.Key, "key", "", "private key of --cert, PEM `FILE` (PKCS#1, PKCS#8, EC; may be encrypted)")
		fl.BoolVar(&o.Insecure, "insecure", false, "with --request-cert: accept clients whose certificate fails verification")
		fl.StringArrayVar(&o.SNI, "sni", nil, "`NAME,CERT,KEY[,PASSFILE]`: another certificate for the server name NAME (*.example.com wildcards); repeatable")
		fl.BoolVar(&o.RequestCert, "request-cert", false, "ask for a client certificate and refuse clients without a valid one (mutual TLS)")
	} else {
		fl.StringVar(&o.CA, "ca", "", "trust the CAs of PEM `FILE` instead of the system's")
		fl.StringVar(&o.Cert, "cert", "", "client certificate chain, PEM `FILE`")
		fl.StringVar(&o.Key, "key", "", "private key of --cert, PEM `FILE` (PKCS#1, PKCS#8, EC; may be encrypted)")
		fl.StringVar(&o.ServerName, "servername", "", "SNI and the `NAME` the certificate must match (default: HOST unless it is an IP)")
		fl.BoolVar(&o.Insecure, "insecure", false, "do not verify the server's certificate (warns)")
		fl.StringVar(&o.Pin, "pin", "", "accept exactly the certificate with this fingerprint, `sha256:HEX`, instead of verifying it")
	}
	fl.StringVar(&o.Passphrase, "passphrase", "", "the passphrase `STR` of an encrypted --key")
	fl.StringVar(&o.PassphraseFile, "passphrase-file", "", "read the passphrase of --key from the first line of `FILE`")
	fl.StringSliceVar(&o.ALPN, "alpn", nil, "offer the ALPN protocols `P1,P2`, in preference order")
	fl.StringVar(&o.MinTLS, "min-tls", "1.2", "lowest TLS version accepted: `1.2` or 1.3")
}

// check refuses TLS flags without --tls and the flags that conflict.
func (o *TLSFlags) check(cmd *cobra.Command) error {
	if !o.On {
		for _, name := range tlsOnlyFlags {
			if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
				return usageErrorf("--%s needs --tls", name)
			}
		}
		return nil
	}
	switch {
	case o.Passphrase != "" && o.PassphraseFile != "":
		return usageErrorf("--passphrase and --passphrase-file cannot be used together")
	case (o.Cert == "") != (o.Key == ""):
		if o.Cert == "" {
			return usageErrorf("--key needs --cert")
		}
		return usageErrorf("--cert needs --key")
	case o.Pin != "" && o.Insecure:
		return usageErrorf("--pin and --insecure cannot be used together")
	case o.server && o.Insecure && !o.RequestCert:
		return usageErrorf("--insecure on a server applies to client certificates: it needs --request-cert")
	case o.server && o.CA != "" && !o.RequestCert:
		// Node would take it and verify nothing; a user who gives a CA
		// expects client certificates to be checked.
		return usageErrorf("--ca on a server verifies client certificates: it needs --request-cert")
	}
	if o.MinTLS != "1.2" && o.MinTLS != "1.3" {
		return usageErrorf("--min-tls %q: want 1.2 or 1.3", o.MinTLS)
	}
	if o.Pin != "" {
		if _, err := netcore.ParsePin(o.Pin); err != nil {
			return usageErrorf("--pin %q: want sha256: and 64 hex digits (colons allowed), as the server prints it", o.Pin)
		}
	}
	for _, s := range o.SNI {
		if _, err := netcore.ParseSNI(s); err != nil {
			return usageErrorf("--sni %q: want NAME,CERT,KEY[,PASSFILE], none of them empty", s)
		}
	}
	for _, p := range o.ALPN {
		if p == "" || len(p) > 255 {
			return usageErrorf("--alpn %q: a protocol name is 1 to 255 bytes", strings.Join(o.ALPN, ","))
		}
	}
	return nil
}

// options turns the flags into netcore's TLS options.
func (o *TLSFlags) options() netcore.TLSOptions {
	opts := netcore.TLSOptions{
		CA:             o.CA,
		Cert:           o.Cert,
		Key:            o.Key,
		Passphrase:     o.Passphrase,
		PassphraseFile: o.PassphraseFile,
		ServerName:     o.ServerName,
		Insecure:       o.Insecure,
		Pin:            o.Pin,
		RequestCert:    o.RequestCert,
		ALPN:           o.ALPN,
		MinVersion:     o.MinTLS,
	}
	for _, s := range o.SNI {
		c, _ := netcore.ParseSNI(s) // checked by check
		opts.SNI = append(opts.SNI, c)
	}
	return opts
}

// clientContext builds the client's TLS context, nil without --tls; a
// bad file or key is a usage error naming it. --insecure warns.
func (o *TLSFlags) clientContext(errOut io.Writer) (*netcore.TLSContext, error) {
	if !o.On {
		return nil, nil
	}
	tc, err := netcore.NewClientTLS(o.options())
	if err != nil {
		return nil, err
	}
	if o.Insecure {
		fmt.Fprintln(errOut, "nodenet: warning: --insecure makes this TLS connection insecure: the server's certificate is not verified")
	}
	return tc, nil
}

// serverContext builds the server's TLS context for a server listening
// on host, nil without --tls. The self-signed certificate's fingerprint
// is printed unless quiet, so that clients can --pin it.
func (o *TLSFlags) serverContext(f *Factory, host string) (*netcore.TLSContext, error) {
	if !o.On {
		return nil, nil
	}
	opts := o.options()
	if host != "" && host != "::" && host != "0.0.0.0" {
		opts.Hosts = append([]string{host}, netcore.DefaultSelfSignedHosts()...)
	}
	tc, err := netcore.NewServerTLS(opts)
	if err != nil {
		return nil, err
	}
	if tc.SelfSigned != "" && !f.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "tls: self-signed certificate sha256:%s\n", tc.SelfSigned)
	}
	return tc, nil
}

// secureFields are the fields of Node's secureConnect and
// secureConnection events. Node's false stands for "none" in
// servername and alpnProtocol.
func secureFields(s *netcore.Socket, tc *netcore.TLSContext) []Field {
	info, ok := tc.Info(s)
	if !ok {
		return []Field{{"id", s.ID()}}
	}
	orFalse := func(v string) any {
		if v == "" {
			return false
		}
		return v
	}
	fields := []Field{
		{"id", s.ID()},
		{"protocol", info.Protocol},
		{"cipher", info.Cipher},
		{"servername", orFalse(info.ServerName)},
		{"alpnProtocol", orFalse(info.ALPNProtocol)},
		{"authorized", info.Authorized},
	}
	if info.AuthorizationError != "" {
		fields = append(fields, Field{"authorizationError", info.AuthorizationError})
	}
	if info.PeerFingerprint256 != "" {
		fields = append(fields, Field{"subject", info.PeerSubject}, Field{"fingerprint256", info.PeerFingerprint256})
	}
	return fields
}

// withSecureConnect adds the secureConnect event to a client's hooks.
func withSecureConnect(l *EventLog, h *netcore.SocketHooks, tc *netcore.TLSContext) *netcore.SocketHooks {
	if tc == nil || !l.On(1) {
		return h
	}
	if h == nil {
		h = &netcore.SocketHooks{}
	}
	h.OnSecureConnect = func(s *netcore.Socket) { l.Emit("secureConnect", secureFields(s, tc)...) }
	return h
}

// withTLS makes a server speak TLS when --tls was given: its context
// (a bad file is a usage error, before anything listens), and the
// secureConnection and tlsClientError events. The handshake itself is
// the Server's (ServerOptions.TLS).
func (o *ServerFlags) withTLS(f *Factory, l *EventLog, so *netcore.ServerOptions) error {
	tc, err := o.TLS.serverContext(f, o.Host)
	if err != nil || tc == nil {
		return err
	}
	so.TLS = tc.Config()
	if l.On(1) {
		so.Hooks.OnSecureConnection = func(s *netcore.Socket) { l.Emit("secureConnection", secureFields(s, tc)...) }
	}
	so.Hooks.OnTLSClientError = func(s *netcore.Socket, err error) {
		switch {
		case l.On(1):
			l.Emit("tlsClientError", append([]Field{{"id", s.ID()}}, errorFields(err)...)...)
		case !f.Quiet:
			fmt.Fprintf(f.IO.ErrOut, "nodenet: tlsClientError from %s: %v (still serving)\n", s.RemoteAddr(), err)
		}
	}
	return nil
}
