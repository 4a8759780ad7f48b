package netcore

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParsePin(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	colons := strings.TrimSuffix(strings.Repeat("AB:", 32), ":")
	for _, c := range []struct {
		name, in string
		ok       bool
	}{
		{"hex", "sha256:" + hex64, true},
		{"colons upper case", "sha256:" + colons, true},
		{"prefix any case", "SHA256:" + hex64, true},
		{"no prefix", hex64, false},
		{"sha1", "sha1:" + hex64[:40], false},
		{"short", "sha256:" + hex64[:62], false},
		{"long", "sha256:" + hex64 + "ab", false},
		{"not hex", "sha256:" + strings.Repeat("zz", 32), false},
		{"empty", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := ParsePin(c.in)
			if (err == nil) != c.ok {
				t.Fatalf("ParsePin(%q) = %v, want ok %v", c.in, err, c.ok)
			}
			if c.ok && !bytes.Equal(b, bytes.Repeat([]byte{0xab}, 32)) {
				t.Errorf("ParsePin(%q) = %x", c.in, b)
			}
			if !c.ok && !err.(*Error).Usage {
				t.Errorf("ParsePin(%q): not a usage error", c.in)
			}
		})
	}
}

func TestParseSNI(t *testing.T) {
	for _, c := range []struct {
		in   string
		want SNIContext
		ok   bool
	}{
		{"a.example.com,a.pem,a.key", SNIContext{Name: "a.example.com", Cert: "a.pem", Key: "a.key"}, true},
		{"*.example.com,w.pem,w.key,pass.txt", SNIContext{Name: "*.example.com", Cert: "w.pem", Key: "w.key", PassphraseFile: "pass.txt"}, true},
		{"a.example.com,a.pem", SNIContext{}, false},
		{"a.example.com,,a.key", SNIContext{}, false},
		{",a.pem,a.key", SNIContext{}, false},
		{"a,b,c,", SNIContext{}, false},
		{"a,b,c,d,e", SNIContext{}, false},
	} {
		got, err := ParseSNI(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSNI(%q) = %+v, %v; want %+v, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

func FuzzParsePin(f *testing.F) {
	f.Add("sha256:" + strings.Repeat("ab", 32))
	f.Add("sha256:AB:CD")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParsePin(s)
		if err == nil && len(b) != 32 {
			t.Fatalf("ParsePin(%q) = %d bytes", s, len(b))
		}
	})
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"a.example.com", "a.example.com", true},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", ".example.com", true}, // Node's [^.]* matches nothing too
		{"*.example.com", "a.b.example.com", false},
		{"*.example.com", "example.com", false},
		{"w*.example.com", "www.example.com", true},
		{"w*.example.com", "api.example.com", false},
		{"*", "localhost", true},
		{"*", "a.b", false},
	} {
		if got := globMatch(c.pattern, c.name); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.pattern, c.name, got)
		}
	}
}

// TestCheckServerIdentity covers Node's rules beyond the oracle test:
// CN only without DNS SANs, partial wildcards, case, trailing dots.
func TestCheckServerIdentity(t *testing.T) {
	sans := &x509.Certificate{DNSNames: []string{"*.example.com", "w*.test.org", "Exact.Example.NET"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1").To4(), net.ParseIP("::1")}}
	cnOnly := &x509.Certificate{}
	cnOnly.Subject.CommonName = "legacy.example.com"
	for _, c := range []struct {
		host string
		cert *x509.Certificate
		want string // "" for a match
	}{
		{"a.example.com", sans, ""},
		{"A.EXAMPLE.COM.", sans, ""},
		{"www.test.org", sans, ""},
		{"exact.example.net", sans, ""},
		{"example.com", sans, "Host: example.com. is not in the cert's altnames: DNS:*.example.com, DNS:w*.test.org, DNS:Exact.Example.NET, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1"},
		{"10.0.0.1", sans, ""},
		{"::1", sans, ""},
		{"10.0.0.2", sans, "IP: 10.0.0.2 is not in the cert's list: 10.0.0.1, ::1"},
		{"legacy.example.com", cnOnly, ""},
		{"other.example.com", cnOnly, "Host: other.example.com. is not cert's CN: legacy.example.com"},
		{"x.example.com", &x509.Certificate{}, "Cert does not contain a DNS name"},
	} {
		err := checkServerIdentity(c.host, c.cert)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want a match", c.host, err)
		case c.want != "" && (err == nil || err.(*Error).Message != "Hostname/IP does not match certificate's altnames: "+c.want):
			t.Errorf("%s: %v, want %q", c.host, err, c.want)
		}
	}
}

// opensslKey writes key in another encoding with the openssl command:
// args follow "openssl"; "IN" and "OUT" are replaced by the paths.
func opensslKey(t *testing.T, in, out string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl is missing in CI")
		}
		t.Skip("skipping: openssl is not installed")
	}
	for i, a := range args {
		switch a {
		case "IN":
			args[i] = in
		case "OUT":
			args[i] = out
		}
	}
	if b, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, b)
	}
}

// TestLoadKeyPair reads keys in every encoding OpenSSL writes, and
// names what is wrong with the bad ones.
func TestLoadKeyPair(t *testing.T) {
	certs := makeCerts(t)
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	// Encrypted as OpenSSL 3 writes them: PKCS#8 PBES2 (AES-256-CBC,
	// PBKDF2 with HMAC-SHA256), and the legacy PEM headers.
	opensslKey(t, certs.Path("leaf.key"), p("pkcs8-enc.key"), "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "IN", "-out", "OUT", "-passout", "pass:s3cret")
	opensslKey(t, certs.Path("leaf.key"), p("pkcs8-scrypt.key"), "pkcs8", "-topk8", "-scrypt", "-in", "IN", "-out", "OUT", "-passout", "pass:s3cret")
	opensslKey(t, certs.Path("rsa.key"), p("rsa-legacy.key"), "rsa", "-traditional", "-aes256", "-in", "IN", "-out", "OUT", "-passout", "pass:s3cret")
	opensslKey(t, certs.Path("leaf.key"), p("ec-legacy.key"), "ec", "-aes128", "-in", "IN", "-out", "OUT", "-passout", "pass:s3cret")
	os.WriteFile(p("garbage.key"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
	os.WriteFile(p("empty.pem"), []byte("not PEM at all\n"), 0o600)

	for _, c := range []struct {
		name, cert, key, pass string
		code                  string // "" for success
		inMessage             string
	}{
		{"PKCS#8", certs.Path("leaf.pem"), certs.Path("leaf.key"), "", "", ""},
		{"PKCS#1", certs.Path("rsa.pem"), certs.Path("rsa.key"), "", "", ""},
		{"SEC 1 EC", certs.Path("leaf.pem"), certs.Path("leaf-ec.key"), "", "", ""},
		{"encrypted PKCS#8", certs.Path("leaf.pem"), p("pkcs8-enc.key"), "s3cret", "", ""},
		{"encrypted PKCS#8 scrypt", certs.Path("leaf.pem"), p("pkcs8-scrypt.key"), "s3cret", "", ""},
		{"legacy RSA", certs.Path("rsa.pem"), p("rsa-legacy.key"), "s3cret", "", ""},
		{"legacy EC", certs.Path("leaf.pem"), p("ec-legacy.key"), "s3cret", "", ""},
		{"wrong passphrase PKCS#8", certs.Path("leaf.pem"), p("pkcs8-enc.key"), "nope", "ERR_OSSL_BAD_DECRYPT", "pkcs8-enc.key"},
		{"wrong passphrase legacy", certs.Path("rsa.pem"), p("rsa-legacy.key"), "nope", "ERR_OSSL_BAD_DECRYPT", "rsa-legacy.key"},
		{"no passphrase", certs.Path("leaf.pem"), p("pkcs8-enc.key"), "", "ERR_MISSING_PASSPHRASE", "pkcs8-enc.key"},
		{"key of another cert", certs.Path("rsa.pem"), certs.Path("leaf.key"), "", "ERR_OSSL_X509_KEY_VALUES_MISMATCH", "leaf.key"},
		{"missing cert", p("nosuch.pem"), certs.Path("leaf.key"), "", "ERR_INVALID_ARG_VALUE", "nosuch.pem: no such file"},
		{"missing key", certs.Path("leaf.pem"), p("nosuch.key"), "", "ERR_INVALID_ARG_VALUE", "nosuch.key: no such file"},
		{"malformed key", certs.Path("leaf.pem"), p("garbage.key"), "", "ERR_INVALID_ARG_VALUE", "garbage.key"},
		{"no key in file", certs.Path("leaf.pem"), certs.Path("leaf.pem"), "", "ERR_INVALID_ARG_VALUE", "no PEM private key"},
		{"no cert in file", p("empty.pem"), certs.Path("leaf.key"), "", "ERR_INVALID_ARG_VALUE", "no PEM certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewServerTLS(TLSOptions{Cert: c.cert, Key: c.key, Passphrase: c.pass})
			if c.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ne *Error
			if !errors.As(err, &ne) {
				t.Fatalf("err = %v, want *Error %s", err, c.code)
			}
			if ne.Code != c.code || !ne.Usage || !strings.Contains(ne.Message, c.inMessage) {
				t.Errorf("err = %s (usage %v), want code %s naming %q", ne.Error(), ne.Usage, c.code, c.inMessage)
			}
		})
	}
}

// TestPassphraseFile reads the passphrase's first line.
func TestPassphraseFile(t *testing.T) {
	certs := makeCerts(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "enc.key")
	opensslKey(t, certs.Path("leaf.key"), key, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "IN", "-out", "OUT", "-passout", "pass:s3cret")
	pass := filepath.Join(dir, "pass")
	os.WriteFile(pass, []byte("s3cret\r\nignored\n"), 0o600)
	if _, err := NewClientTLS(TLSOptions{Cert: certs.Path("leaf.pem"), Key: key, PassphraseFile: pass}); err != nil {
		t.Fatal(err)
	}
	_, err := NewClientTLS(TLSOptions{Cert: certs.Path("leaf.pem"), Key: key, PassphraseFile: filepath.Join(dir, "nosuch")})
	if err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("missing passphrase file: %v", err)
	}
}

// tlsEchoUntilEnd serves one TLS connection with ctx's certificate: it
// reads everything until the client's close_notify, checks that a FIN
// follows on the connection under it, then replies and closes.
func tlsEchoUntilEnd(t *testing.T, tc *TLSContext) (port int, result <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan error, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			ch <- err
			return
		}
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		c := tls.Server(raw, tc.Config())
		got, err := io.ReadAll(c)
		if err != nil {
			ch <- err
			return
		}
		// close_notify came; the FIN must follow, so a read of the bare
		// connection ends at once rather than waiting for the deadline.
		raw.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := raw.Read(make([]byte, 1)); err != io.EOF {
			ch <- fmt.Errorf("no FIN after close_notify: read %d bytes, %v", n, err)
			return
		}
		reply := []byte("got:" + string(got))
		if _, err := c.Write(reply); err != nil {
			ch <- err
			return
		}
		ch <- tlsCloseWrite(c)
	}()
	return ln.Addr().(*net.TCPAddr).Port, ch
}

// TestTLSHalfClose: the end of the input sends close_notify and then FIN,
// and the reply that follows is still read, byte for byte.
func TestTLSHalfClose(t *testing.T) {
	certs := makeCerts(t)
	srv, err := NewServerTLS(TLSOptions{Cert: certs.Path("leaf.pem"), Key: certs.Path("leaf.key")})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.2", "1.3"} {
		t.Run(v, func(t *testing.T) {
			port, result := tlsEchoUntilEnd(t, srv)
			cli, err := NewClientTLS(TLSOptions{CA: certs.Path("ca.pem"), MinVersion: v})
			if err != nil {
				t.Fatal(err)
			}
			if v == "1.2" {
				cli.config.MaxVersion = tls.VersionTLS12
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := Connect(ctx, ConnectOptions{Host: "localhost", Port: port, TLS: cli, AllowHalfOpen: true})
			if err != nil {
				t.Fatal(err)
			}
			in := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
			var out bytes.Buffer
			if err := Relay(s, bytes.NewReader(in), &out, RelayOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := <-result; err != nil {
				t.Fatalf("server: %v", err)
			}
			if want := append([]byte("got:"), in...); !bytes.Equal(out.Bytes(), want) {
				t.Fatalf("reply: %d bytes, want %d", out.Len(), len(want))
			}
		})
	}
}

// TestTLSPin accepts the pinned certificate whatever its issuer, and
// refuses another.
func TestTLSPin(t *testing.T) {
	certs := makeCerts(t)
	srv, err := NewServerTLS(TLSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if srv.SelfSigned == "" {
		t.Fatal("no self-signed fingerprint")
	}
	port, _ := tlsEchoUntilEnd(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := NewClientTLS(TLSOptions{Pin: "sha256:" + srv.SelfSigned})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Connect(ctx, ConnectOptions{Host: "127.0.0.1", Port: port, TLS: cli})
	if err != nil {
		t.Fatalf("pinned: %v", err)
	}
	info, _ := cli.Info(s)
	s.Destroy(nil)
	if !info.Authorized || info.PeerFingerprint256 != srv.SelfSigned {
		t.Errorf("info %+v, want authorized with fingerprint %s", info, srv.SelfSigned)
	}

	port, _ = tlsEchoUntilEnd(t, srv)
	wrong, err := NewClientTLS(TLSOptions{Pin: "sha256:" + certs.Fingerprint["leaf"]})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Connect(ctx, ConnectOptions{Host: "127.0.0.1", Port: port, TLS: wrong})
	var ne *Error
	if !errors.As(err, &ne) || ne.Code != "ERR_TLS_CERT_PIN_MISMATCH" || !strings.Contains(ne.Message, srv.SelfSigned) {
		t.Fatalf("wrong pin: %v", err)
	}
}

// TestTLSSNI presents the certificate of the last matching --sni, the
// main one otherwise.
func TestTLSSNI(t *testing.T) {
	certs := makeCerts(t)
	srv, err := NewServerTLS(TLSOptions{
		Cert: certs.Path("leaf.pem"), Key: certs.Path("leaf.key"),
		SNI: []SNIContext{
			{Name: "*.example.com", Cert: certs.Path("wild.pem"), Key: certs.Path("wild.key")},
			{Name: "rsa.example.com", Cert: certs.Path("rsa.pem"), Key: certs.Path("rsa.key")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, want string }{
		{"a.example.com", "wild"},
		{"RSA.example.com", "rsa"},
		{"a.b.example.com", "leaf"},
		{"localhost", "leaf"},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			s := tls.Server(c, srv.Config())
			s.SetDeadline(time.Now().Add(10 * time.Second))
			s.Handshake()
		}()
		cc, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: c.name, InsecureSkipVerify: true})
		ln.Close()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := fingerprint256(cc.ConnectionState().PeerCertificates[0].Raw)
		cc.Close()
		if got != certs.Fingerprint[c.want] {
			t.Errorf("SNI %s: got another certificate than %s", c.name, c.want)
		}
	}
}

func FuzzParseSNI(f *testing.F) {
	f.Add("*.example.com,w.pem,w.key,pass")
	f.Add("a,,c")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseSNI(s)
		if err == nil && (c.Name == "" || c.Cert == "" || c.Key == "") {
			t.Fatalf("ParseSNI(%q) = %+v with an empty field", s, c)
		}
	})
}
