package netcore

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore/nodetest"
	"github.com/nodenet/nodenet/netcore/tlstest"
)

// makeCerts writes the test certificates into a temporary directory.
func makeCerts(t *testing.T) *tlstest.Files {
	t.Helper()
	f, err := tlstest.Make(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// tlsServer serves the certificate chain and key on 127.0.0.1, port 0:
// each client gets "hi" and the end of the stream. The state of each
// handshake goes to the returned channel.
func tlsServer(t *testing.T, certFile, keyFile string, maxVersion uint16) (port int, states <-chan tls.ConnectionState) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: maxVersion})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan tls.ConnectionState, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if err := tc.Handshake(); err != nil {
					t.Logf("server handshake: %v", err)
					return
				}
				select {
				case ch <- tc.ConnectionState():
				default:
				}
				tc.Write([]byte("hi"))
				tc.CloseWrite()
				buf := make([]byte, 512)
				for {
					if _, err := tc.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, ch
}

// verifyCase is one certificate a server presents and what the client
// asks: the result must be Node's.
type verifyCase struct {
	name       string
	cert       string // tlstest name: served X.pem with X.key
	host       string // connected to
	servername string
}

var verifyCases = []verifyCase{
	{"trusted", "leaf", "localhost", ""},
	{"trusted IP", "leaf", "127.0.0.1", ""},
	{"trusted chain", "chain", "localhost", ""},
	{"expired", "expired", "localhost", ""},
	{"self-signed", "self", "localhost", ""},
	{"unknown CA", "other", "localhost", ""},
	{"chain with an untrusted root", "rootchain", "localhost", ""},
	{"wrong name", "leaf", "localhost", "wrong.example.com"},
	{"IP not in the SANs", "wild", "127.0.0.1", ""},
	{"wildcard", "wild", "127.0.0.1", "a.example.com"},
	{"wildcard two labels deep", "wild", "127.0.0.1", "a.b.example.com"},
}

// TestTLSVerifyMatchesNode connects to the same servers with Node's
// tls.connect (ca: the test CA) and with netcore, and compares the
// verification result: the error code and message with verification
// on, and authorizationError with rejectUnauthorized false.
func TestTLSVerifyMatchesNode(t *testing.T) {
	for _, n := range []struct {
		name string
		node func(testing.TB) string
	}{{"node20", nodetest.Node20}, {"current", nodetest.Current}} {
		t.Run(n.name, func(t *testing.T) {
			node := n.node(t)
			certs := makeCerts(t)
			type want struct {
				Code, Message, AuthorizationError string
				Authorized                        bool
			}
			for _, c := range verifyCases {
				t.Run(c.name, func(t *testing.T) {
					port, _ := tlsServer(t, certs.Path(c.cert+".pem"), certs.Path(c.cert+".key"), 0)
					opts := map[string]any{"port": port, "host": c.host, "ca": certs.Path("ca.pem")}
					if c.servername != "" {
						opts["servername"] = c.servername
					}
					o, _ := json.Marshal(opts)
					script := `
const tls = require('tls'), fs = require('fs');
const o = ` + string(o) + `;
o.ca = fs.readFileSync(o.ca);
function attempt(reject) {
  return new Promise((resolve) => {
    const s = tls.connect({ ...o, rejectUnauthorized: reject }, () => {
      resolve({ Authorized: s.authorized, AuthorizationError: s.authorizationError ? String(s.authorizationError) : '' });
      s.destroy();
    });
    s.on('error', (e) => resolve({ Code: e.code || '', Message: e.message }));
  });
}
(async () => {
  const strict = await attempt(true), lax = await attempt(false);
  console.log(JSON.stringify({ Code: strict.Code || '', Message: strict.Message || '',
    Authorized: !!lax.Authorized, AuthorizationError: lax.AuthorizationError || '' }));
})();`
					var nodeGot want
					out := nodetest.Run(t, node, script, nil, 30*time.Second)
					if err := json.Unmarshal(out, &nodeGot); err != nil {
						t.Fatalf("node printed %q: %v", out, err)
					}

					var got want
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					tc, err := NewClientTLS(TLSOptions{CA: certs.Path("ca.pem"), ServerName: c.servername})
					if err != nil {
						t.Fatal(err)
					}
					s, err := Connect(ctx, ConnectOptions{Host: c.host, Port: port, TLS: tc})
					if err == nil {
						s.Destroy(nil)
					} else {
						ne, ok := err.(*Error)
						if !ok {
							t.Fatalf("Connect: %T %v, want *Error", err, err)
						}
						got.Code, got.Message = ne.Code, ne.Message
					}
					lax, err := NewClientTLS(TLSOptions{CA: certs.Path("ca.pem"), ServerName: c.servername, Insecure: true})
					if err != nil {
						t.Fatal(err)
					}
					s, err = Connect(ctx, ConnectOptions{Host: c.host, Port: port, TLS: lax})
					if err != nil {
						t.Fatalf("Connect with Insecure: %v", err)
					}
					info, ok := lax.Info(s)
					s.Destroy(nil)
					if !ok {
						t.Fatal("Info: not a TLS socket")
					}
					got.Authorized, got.AuthorizationError = info.Authorized, info.AuthorizationError
					// Node v26 adds a hint about its own CA store, which
					// nodenet does not have (no --ca means the system's).
					nodeGot.Message = strings.TrimSuffix(nodeGot.Message, "; if the root CA is installed locally, try running Node.js with --use-system-ca")
					if got != nodeGot {
						t.Errorf("netcore %+v\nnode    %+v", got, nodeGot)
					}
				})
			}
		})
	}
}

// TestTLSCipherNamesMatchNode has Node connect to servers limited to TLS
// 1.2 (ECDSA and RSA keys) and 1.3, and compares getCipher().name and
// getProtocol() with cipherName and the protocol of the server's state.
func TestTLSCipherNamesMatchNode(t *testing.T) {
	node := nodetest.Current(t)
	certs := makeCerts(t)
	for _, c := range []struct {
		cert string
		max  uint16
	}{{"leaf", tls.VersionTLS12}, {"rsa", tls.VersionTLS12}, {"leaf", 0}} {
		port, states := tlsServer(t, certs.Path(c.cert+".pem"), certs.Path(c.cert+".key"), c.max)
		script := fmt.Sprintf(`
const tls = require('tls'), fs = require('fs');
const s = tls.connect({ port: %d, host: '127.0.0.1', ca: fs.readFileSync(%q) , servername: 'localhost' }, () => {
  console.log(s.getProtocol() + ' ' + s.getCipher().name); s.end();
});`, port, certs.Path("ca.pem"))
		out := strings.TrimSpace(string(nodetest.Run(t, node, script, nil, 30*time.Second)))
		var st tls.ConnectionState
		select {
		case st = <-states:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s max %x: no handshake on the server", c.cert, c.max)
		}
		if got := tlsVersionName(st.Version) + " " + cipherName(st.CipherSuite); got != out {
			t.Errorf("%s max %x: netcore %q, node %q", c.cert, c.max, got, out)
		}
	}
}

// TestFingerprintMatchesNode compares fingerprint256 with Node's
// X509Certificate fingerprint256, and the subjectaltname with Node's.
func TestFingerprintMatchesNode(t *testing.T) {
	node := nodetest.Current(t)
	certs := makeCerts(t)
	script := fmt.Sprintf(`
const { X509Certificate } = require('crypto'), fs = require('fs');
const c = new X509Certificate(fs.readFileSync(%q));
console.log(c.fingerprint256); console.log(c.subjectAltName);`, certs.Path("leaf.pem"))
	out := strings.Split(strings.TrimSpace(string(nodetest.Run(t, node, script, nil, 30*time.Second))), "\n")
	if len(out) != 2 {
		t.Fatalf("node printed %q", out)
	}
	if out[0] != certs.Fingerprint["leaf"] {
		t.Errorf("fingerprint256: node %s, tlstest %s", out[0], certs.Fingerprint["leaf"])
	}
	leaf, err := loadCertificates("cert", certs.Path("leaf.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fingerprint256(leaf[0].Raw); got != out[0] {
		t.Errorf("fingerprint256 %s, node %s", got, out[0])
	}
	if got := subjectAltName(leaf[0]); got != out[1] {
		t.Errorf("subjectAltName %q, node %q", got, out[1])
	}
}
