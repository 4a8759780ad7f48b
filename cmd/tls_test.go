package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nodenet/nodenet/netcore/tlstest"
)

// testCerts writes the test certificates (see tlstest) into a
// temporary directory.
func testCerts(t *testing.T) *tlstest.Files {
	t.Helper()
	f, err := tlstest.Make(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNewCmdConnectTLS(t *testing.T) {
	pin := "sha256:" + strings.Repeat("AB:", 31) + "AB"
	tests := []struct {
		name  string
		argv  string
		check func(*TLSFlags) bool
	}{
		{"off", "443", func(o *TLSFlags) bool { return !o.On && o.MinTLS == "1.2" }},
		{"on", "--tls 443 example.com", func(o *TLSFlags) bool { return o.On && !o.Insecure && o.CA == "" }},
		{"ca and servername", "--tls --ca ca.pem --servername api.example.com 443 10.0.0.1", func(o *TLSFlags) bool {
			return o.CA == "ca.pem" && o.ServerName == "api.example.com"
		}},
		{"client certificate", "--tls --cert c.pem --key k.pem --passphrase-file p 443", func(o *TLSFlags) bool {
			return o.Cert == "c.pem" && o.Key == "k.pem" && o.PassphraseFile == "p"
		}},
		{"pin", "--tls --pin " + pin + " 443", func(o *TLSFlags) bool { return o.Pin == pin }},
		{"alpn and min-tls", "--tls --alpn h2,http/1.1 --min-tls 1.3 443", func(o *TLSFlags) bool {
			return strings.Join(o.ALPN, " ") == "h2 http/1.1" && o.MinTLS == "1.3"
		}},
		{"insecure", "--tls --insecure 443", func(o *TLSFlags) bool { return o.Insecure }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseConnect(t, tt.argv, false)
			if err != nil {
				t.Fatalf("connect %s: %v", tt.argv, err)
			}
			if !tt.check(&o.TLS) {
				t.Errorf("connect %s: TLS options %+v", tt.argv, o.TLS)
			}
		})
	}
}

// TestConnectTLSUsageErrors: bad TLS flags and files are exit 2 with one
// line naming the flag or the file, before connecting: nothing listens
// on the port, which would otherwise be a connection error (exit 1).
func TestConnectTLSUsageErrors(t *testing.T) {
	certs := testCerts(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600) //nolint:errcheck // checked by the test
	unreadable := filepath.Join(dir, "unreadable.pem")
	os.WriteFile(unreadable, []byte("x"), 0o000) //nolint:errcheck // checked by the test
	const port = " 1 127.0.0.1"
	tests := []struct{ name, argv, want string }{
		{"ca without tls", "--ca ca.pem" + port, "--ca needs --tls"},
		{"pin without tls", "--pin sha256:00" + port, "--pin needs --tls"},
		{"malformed pin", "--tls --pin sha256:abc" + port, `--pin "sha256:abc": want sha256: and 64 hex digits`},
		{"pin without prefix", "--tls --pin " + strings.Repeat("ab", 32) + port, "--pin"},
		{"pin and insecure", "--tls --insecure --pin sha256:" + strings.Repeat("ab", 32) + port, "--pin and --insecure"},
		{"min-tls", "--tls --min-tls 1.1" + port, `--min-tls "1.1": want 1.2 or 1.3`},
		{"cert without key", "--tls --cert c.pem" + port, "--cert needs --key"},
		{"key without cert", "--tls --key k.pem" + port, "--key needs --cert"},
		{"two passphrases", "--tls --passphrase a --passphrase-file p" + port, "--passphrase and --passphrase-file"},
		{"missing ca", "--tls --ca " + filepath.Join(dir, "nosuch.pem") + port, "ca " + filepath.Join(dir, "nosuch.pem") + ": no such file or directory"},
		{"malformed ca", "--tls --ca " + garbage + port, "ca " + garbage + ": certificate 1:"},
		{"key not matching", "--tls --cert " + certs.Path("leaf.pem") + " --key " + certs.Path("rsa.key") + port, "ERR_OSSL_X509_KEY_VALUES_MISMATCH: key " + certs.Path("rsa.key") + " does not match"},
		{"cert is a key", "--tls --cert " + certs.Path("leaf.key") + " --key " + certs.Path("leaf.key") + port, "no PEM certificate"},
		{"missing passphrase file", "--tls --cert " + certs.Path("leaf.pem") + " --key " + certs.Path("leaf.key") + " --passphrase-file " + filepath.Join(dir, "nopass") + port, "passphrase-file " + filepath.Join(dir, "nopass")},
	}
	if os.Getuid() != 0 { // root reads a file of mode 000
		tests = append(tests, struct{ name, argv, want string }{"unreadable ca", "--tls --ca " + unreadable + port, "ca " + unreadable + ": permission denied"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkUsageError(t, "connect "+tt.argv, tt.want) })
	}
}

// TestServerTLSUsageErrors: listen and echo refuse bad TLS flags and
// files with exit 2 and one line, before listening (no "listening on").
func TestServerTLSUsageErrors(t *testing.T) {
	certs := testCerts(t)
	dir := t.TempDir()
	const addr = " 0 127.0.0.1"
	tests := []struct{ name, argv, want string }{
		{"cert without tls", "--cert c.pem --key k.pem" + addr, "--cert needs --tls"},
		{"sni missing key", "--tls --sni a.example.com,a.pem" + addr, `--sni "a.example.com,a.pem": want NAME,CERT,KEY[,PASSFILE]`},
		{"sni empty name", "--tls --sni ,a.pem,a.key" + addr, `--sni ",a.pem,a.key"`},
		{"sni missing file", "--tls --sni a.example.com," + filepath.Join(dir, "no.pem") + "," + certs.Path("wild.key") + addr, "cert " + filepath.Join(dir, "no.pem") + ": no such file"},
		{"sni missing passfile", "--tls --sni a.example.com," + certs.Path("wild.pem") + "," + certs.Path("wild.key") + "," + filepath.Join(dir, "nopass") + addr, filepath.Join(dir, "nopass")},
		{"insecure without request-cert", "--tls --insecure" + addr, "--insecure on a server applies to client certificates"},
		{"ca without request-cert", "--tls --ca " + certs.Path("ca.pem") + addr, "--ca on a server verifies client certificates: it needs --request-cert"},
		{"key not matching", "--tls --cert " + certs.Path("wild.pem") + " --key " + certs.Path("leaf.key") + addr, "ERR_OSSL_X509_KEY_VALUES_MISMATCH"},
		{"missing ca", "--tls --request-cert --ca " + filepath.Join(dir, "ca.pem") + addr, "ca " + filepath.Join(dir, "ca.pem")},
	}
	for _, cmd := range []string{"listen", "echo"} {
		for _, tt := range tests {
			t.Run(cmd+" "+tt.name, func(t *testing.T) { checkUsageError(t, cmd+" "+tt.argv, tt.want) })
		}
	}
}
