//go:build unix

package cmd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// needPeer finds a real peer on PATH: a missing one skips the test,
// except in CI, where it is a failure.
func needPeer(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing in CI", name)
		}
		t.Skipf("skipping: %s is not installed", name)
	}
	return p
}

// startPeerOnRandomPort starts a peer that cannot listen on port 0 and
// tell which port it got (openssl s_server, socat): args hold "PORT",
// replaced by a random port; ready reports, from a line of the peer's
// output, that it listens. When the port is taken, another is tried.
func startPeerOnRandomPort(t *testing.T, name string, args []string, ready func(line string) bool) (port int, out *bufio.Reader) {
	t.Helper()
	bin := needPeer(t, name)
	for attempt := 0; attempt < 10; attempt++ {
		port = 20000 + mrand.IntN(40000)
		a := make([]string, len(args))
		for i, s := range args {
			a[i] = strings.ReplaceAll(s, "PORT", strconv.Itoa(port))
		}
		ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
		c := exec.CommandContext(ctx, bin, a...)
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		c.Stdout, c.Stderr = pw, pw
		c.Stdin = nil
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		r := bufio.NewReader(pr)
		var seen strings.Builder
		ok := false
		for {
			line, err := r.ReadString('\n')
			seen.WriteString(line)
			if ready(line) {
				ok = true
				break
			}
			if err != nil {
				break
			}
		}
		if ok {
			t.Cleanup(func() {
				cancel()
				c.Wait() //nolint:errcheck // killed
				pr.Close()
			})
			return port, r
		}
		cancel()
		c.Wait() //nolint:errcheck // it failed; we say why below or retry
		pr.Close()
		if !strings.Contains(strings.ToLower(seen.String()), "in use") {
			t.Fatalf("%s %v did not start:\n%s", name, a, seen.String())
		}
	}
	t.Fatalf("%s: no free port in 10 tries", name)
	return 0, nil
}

// opensslServer starts `openssl s_server -rev` (each line comes back
// reversed) with a certificate, for one client.
func opensslServer(t *testing.T, cert, key string, extra ...string) int {
	t.Helper()
	args := append([]string{"s_server", "-accept", "127.0.0.1:PORT", "-cert", cert, "-key", key, "-naccept", "1", "-rev"}, extra...)
	port, _ := startPeerOnRandomPort(t, "openssl", args, func(l string) bool { return strings.HasPrefix(l, "ACCEPT") })
	return port
}

// secureEvent is the secureConnect event as --events json prints it.
type secureEvent struct {
	Event              string `json:"event"`
	Protocol           string `json:"protocol"`
	Cipher             string `json:"cipher"`
	Servername         any    `json:"servername"`
	ALPNProtocol       any    `json:"alpnProtocol"`
	Authorized         bool   `json:"authorized"`
	AuthorizationError string `json:"authorizationError"`
	Subject            string `json:"subject"`
	Fingerprint256     string `json:"fingerprint256"`
}

// findEvent returns the first event named name in --events json output.
func findEvent(t *testing.T, stderr []byte, name string) secureEvent {
	t.Helper()
	for _, line := range bytes.Split(stderr, []byte("\n")) {
		var e secureEvent
		if json.Unmarshal(line, &e) == nil && e.Event == name {
			return e
		}
	}
	t.Fatalf("no %s event in:\n%s", name, stderr)
	return secureEvent{}
}

// TestTLSConnectOpenSSLServer: connect --tls verifies openssl s_server's
// certificate against --ca and the name, relays both ways, and reports
// secureConnect with OpenSSL's protocol and cipher names.
func TestTLSConnectOpenSSLServer(t *testing.T) {
	certs := testCerts(t)
	for _, c := range []struct {
		name, cert, minTLS, wantProto, wantCipher string
		extra                                     []string
	}{
		{"TLS 1.3", "leaf", "1.3", "TLSv1.3", "TLS_AES_256_GCM_SHA384", []string{"-ciphersuites", "TLS_AES_256_GCM_SHA384"}},
		{"TLS 1.2 RSA", "rsa", "1.2", "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", []string{"-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"}},
		{"TLS 1.2 ECDSA", "leaf", "1.2", "TLSv1.2", "ECDHE-ECDSA-CHACHA20-POLY1305", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			port := opensslServer(t, certs.Path(c.cert+".pem"), certs.Path(c.cert+".key"), c.extra...)
			out, stderr, code := runNodenet(t, strings.NewReader("hello world\nsecond line\n"),
				"connect", "--tls", "--ca", certs.Path("ca.pem"), "--min-tls", c.minTLS, "--events", "json", strconv.Itoa(port), "localhost")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if want := "dlrow olleh\nenil dnoces\n"; string(out) != want {
				t.Errorf("printed %q, want %q", out, want)
			}
			e := findEvent(t, stderr, "secureConnect")
			if e.Protocol != c.wantProto || e.Cipher != c.wantCipher || e.Servername != "localhost" || e.ALPNProtocol != false ||
				!e.Authorized || e.Subject != "CN=localhost,O=nodenet tests" || e.Fingerprint256 != certs.Fingerprint[c.cert] {
				t.Errorf("secureConnect %+v", e)
			}
		})
	}
}

// TestTLSConnectALPN: --alpn offers protocols; the server's choice is
// the event's alpnProtocol.
func TestTLSConnectALPN(t *testing.T) {
	certs := testCerts(t)
	port := opensslServer(t, certs.Path("leaf.pem"), certs.Path("leaf.key"), "-alpn", "h2,nodenet/1")
	_, stderr, code := runNodenet(t, strings.NewReader(""), "connect", "--tls", "--ca", certs.Path("ca.pem"),
		"--alpn", "nodenet/1,http/1.1", "--events", "json", strconv.Itoa(port), "localhost")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if e := findEvent(t, stderr, "secureConnect"); e.ALPNProtocol != "nodenet/1" {
		t.Errorf("alpnProtocol %v, want nodenet/1", e.ALPNProtocol)
	}
}

// TestTLSConnectVerifyFailures: each failure is Node's code and reason
// on stderr, exit 1; --insecure connects anyway, warns, and reports the
// reason as authorizationError.
func TestTLSConnectVerifyFailures(t *testing.T) {
	certs := testCerts(t)
	for _, c := range []struct {
		cert, host, servername, want string
	}{
		{"expired", "localhost", "", "nodenet: CERT_HAS_EXPIRED: certificate has expired"},
		{"self", "localhost", "", "nodenet: DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate"},
		{"other", "localhost", "", "nodenet: UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate"},
		{"rootchain", "localhost", "", "nodenet: SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain"},
		{"leaf", "127.0.0.1", "wrong.example.com", "nodenet: ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: Host: wrong.example.com. is not in the cert's altnames: DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"},
	} {
		t.Run(c.cert, func(t *testing.T) {
			// s_server sends only the first certificate of -cert; the rest
			// of the chain goes with -cert_chain.
			port := opensslServer(t, certs.Path(c.cert+".pem"), certs.Path(c.cert+".key"), "-cert_chain", certs.Path(c.cert+".pem"))
			args := []string{"connect", "--tls", "--ca", certs.Path("ca.pem"), strconv.Itoa(port), c.host}
			if c.servername != "" {
				args = append(args, "--servername", c.servername)
			}
			out, stderr, code := runNodenet(t, strings.NewReader("x\n"), args...)
			if code != 1 || strings.TrimSpace(string(stderr)) != c.want || len(out) != 0 {
				t.Errorf("exit %d, printed %q, said %q; want exit 1 and %q", code, out, stderr, c.want)
			}
		})
	}
	t.Run("insecure", func(t *testing.T) {
		port := opensslServer(t, certs.Path("self.pem"), certs.Path("self.key"))
		out, stderr, code := runNodenet(t, strings.NewReader("abc\n"), "connect", "--tls", "--insecure", "--events", "json", strconv.Itoa(port), "localhost")
		if code != 0 || string(out) != "cba\n" {
			t.Fatalf("exit %d, printed %q: %s", code, out, stderr)
		}
		if !bytes.Contains(stderr, []byte("nodenet: warning: --insecure")) {
			t.Errorf("no warning: %s", stderr)
		}
		if e := findEvent(t, stderr, "secureConnect"); e.Authorized || e.AuthorizationError != "DEPTH_ZERO_SELF_SIGNED_CERT" {
			t.Errorf("secureConnect %+v", e)
		}
	})
}

// TestTLSConnectPin: --pin accepts the self-signed certificate whose
// fingerprint it names, in the form the server printed.
func TestTLSConnectPin(t *testing.T) {
	certs := testCerts(t)
	port := opensslServer(t, certs.Path("self.pem"), certs.Path("self.key"))
	out, stderr, code := runNodenet(t, strings.NewReader("pinned\n"), "connect", "--tls", "--pin", "sha256:"+certs.Fingerprint["self"], strconv.Itoa(port), "127.0.0.1")
	if code != 0 || string(out) != "dennip\n" {
		t.Fatalf("exit %d, printed %q: %s", code, out, stderr)
	}
}

// TestTLSConnectClientCertificate: openssl s_server -Verify demands a
// client certificate; connect --cert/--key with an encrypted key
// (--passphrase-file) gives it.
func TestTLSConnectClientCertificate(t *testing.T) {
	certs := testCerts(t)
	dir := t.TempDir()
	enc := filepath.Join(dir, "client-enc.key")
	if b, err := exec.Command(needPeer(t, "openssl"), "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", certs.Path("client.key"), "-out", enc, "-passout", "pass:hunter2").CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs8: %v\n%s", err, b)
	}
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := opensslServer(t, certs.Path("leaf.pem"), certs.Path("leaf.key"), "-Verify", "1", "-CAfile", certs.Path("ca.pem"), "-verify_return_error")
	out, stderr, code := runNodenet(t, strings.NewReader("mutual\n"), "connect", "--tls", "--ca", certs.Path("ca.pem"),
		"--cert", certs.Path("client.pem"), "--key", enc, "--passphrase-file", passFile, strconv.Itoa(port), "localhost")
	if code != 0 || string(out) != "lautum\n" {
		t.Fatalf("exit %d, printed %q: %s", code, out, stderr)
	}
}

// TestTLSConnectNodeServers moves 4 MiB each way between connect --tls
// and Node's tls.createServer (v20 and v26), byte-exact: Node sends its
// bytes and prints the SHA-256 of what it received once nodenet has
// ended (close_notify, FIN), and nodenet still prints everything Node
// sent after that.
func TestTLSConnectNodeServers(t *testing.T) {
	certs := testCerts(t)
	const size = 4 << 20
	up := make([]byte, size)
	if _, err := rand.Read(up); err != nil {
		t.Fatal(err)
	}
	upSum := sha256.Sum256(up)
	for _, n := range []struct {
		name string
		node func(testing.TB) string
	}{{"node20", nodetest.Node20}, {"current", nodetest.Current}} {
		t.Run(n.name, func(t *testing.T) {
			script := fmt.Sprintf(`
const tls = require('tls'), fs = require('fs'), crypto = require('crypto');
const size = %d;
const server = tls.createServer({ allowHalfOpen: true, key: fs.readFileSync(%q), cert: fs.readFileSync(%q) }, (c) => {
  const hin = crypto.createHash('sha256'), hout = crypto.createHash('sha256');
  c.on('data', (d) => hin.update(d));
  c.on('end', () => {
    // Our reply comes after the client's end: it must still arrive.
    const tail = Buffer.from('received\n');
    hout.update(tail);
    c.end(tail);
    console.log(hin.digest('hex') + ' ' + hout.digest('hex'));
  });
  const chunk = crypto.randomBytes(size);
  hout.update(chunk);
  c.write(chunk);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));`, size, certs.Path("leaf.key"), certs.Path("leaf.pem"))
			port, rest := startNode(t, n.node(t), script)
			out, stderr, code := runNodenet(t, bytes.NewReader(up), "connect", "--tls", "--ca", certs.Path("ca.pem"), port, "localhost")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			line, err := rest.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			sums := strings.Fields(line)
			if len(sums) != 2 {
				t.Fatalf("node printed %q", line)
			}
			if sums[0] != hex.EncodeToString(upSum[:]) {
				t.Error("Node received other bytes than nodenet sent")
			}
			downSum := sha256.Sum256(out)
			if len(out) != size+len("received\n") || sums[1] != hex.EncodeToString(downSum[:]) {
				t.Errorf("nodenet printed %d bytes that differ from the %d Node sent", len(out), size+len("received\n"))
			}
		})
	}
}

// TestTLSConnectUnixSocket: TLS over a Unix socket, the name checked
// being localhost (Node's default host).
func TestTLSConnectUnixSocket(t *testing.T) {
	certs := testCerts(t)
	sock := filepath.Join(tlsShortDir(t), "tls.sock")
	script := fmt.Sprintf(`
const tls = require('tls'), fs = require('fs');
const server = tls.createServer({ key: fs.readFileSync(%q), cert: fs.readFileSync(%q) }, (c) => {
  c.end('over unix ' + (c.servername || 'no sni') + '\n');
});
server.listen(%q, () => console.log('ready'));`, certs.Path("leaf.key"), certs.Path("leaf.pem"), sock)
	startNode(t, nodetest.Node20(t), script)
	out, stderr, code := runNodenet(t, strings.NewReader(""), "connect", "--tls", "--ca", certs.Path("ca.pem"), "-U", sock)
	if code != 0 || string(out) != "over unix localhost\n" {
		t.Fatalf("exit %d, printed %q: %s", code, out, stderr)
	}
}

// TestTLSConnectPlainServer: TLS to a server that does not speak it is
// Node's ERR_SSL_WRONG_VERSION_NUMBER, exit 1.
func TestTLSConnectPlainServer(t *testing.T) {
	port, _ := startNode(t, nodetest.Node20(t), docsEchoServer)
	_, stderr, code := runNodenet(t, strings.NewReader(""), "connect", "--tls", "--insecure", port, "127.0.0.1")
	if code != 1 || !bytes.Contains(stderr, []byte("nodenet: ERR_SSL_WRONG_VERSION_NUMBER: wrong version number")) {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// TestTLSConnectSocatServer: socat's OPENSSL-LISTEN serves `rev`; the
// answer, which comes once our end (close_notify, FIN) has reached rev,
// is still read.
func TestTLSConnectSocatServer(t *testing.T) {
	certs := testCerts(t)
	port, _ := startPeerOnRandomPort(t, "socat", []string{"-d", "-d",
		"OPENSSL-LISTEN:PORT,bind=127.0.0.1,cert=" + certs.Path("leaf.pem") + ",key=" + certs.Path("leaf.key") + ",verify=0",
		"SYSTEM:tac"}, func(l string) bool { return strings.Contains(l, "listening on") })
	out, stderr, code := runNodenet(t, strings.NewReader("first\nsecond\n"), "connect", "--tls", "--ca", certs.Path("ca.pem"), strconv.Itoa(port), "localhost")
	if code != 0 || string(out) != "second\nfirst\n" {
		t.Fatalf("exit %d, printed %q: %s", code, out, stderr)
	}
}

// tlsShortDir is a temporary directory with a short path, for socket
// files (sun_path is 104 bytes on macOS, 108 on Linux).
func tlsShortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "nntls")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// TestTLSConnectSystemRoots: without --ca the system's roots verify the
// server (here the test CA, made the system's through SSL_CERT_FILE, which
// Go reads on Unix); --ca replaces them, so a CA file that does not hold
// the server's issuer fails even though the system would trust it.
func TestTLSConnectSystemRoots(t *testing.T) {
	certs := testCerts(t)
	run := func(args ...string) (string, string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
		defer cancel()
		c := exec.CommandContext(ctx, nodenetPath(t), args...)
		c.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "SSL_CERT_FILE="+certs.Path("ca.pem"), "SSL_CERT_DIR="+t.TempDir())
		c.Stdin = strings.NewReader("roots\n")
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	port := strconv.Itoa(opensslServer(t, certs.Path("leaf.pem"), certs.Path("leaf.key")))
	if out, stderr, code := run("connect", "--tls", port, "localhost"); code != 0 || out != "stoor\n" {
		t.Errorf("system roots: exit %d, printed %q: %s", code, out, stderr)
	}
	port = strconv.Itoa(opensslServer(t, certs.Path("leaf.pem"), certs.Path("leaf.key")))
	if _, stderr, code := run("connect", "--tls", "--ca", certs.Path("self.pem"), port, "localhost"); code != 1 || !strings.Contains(stderr, "UNABLE_TO_VERIFY_LEAF_SIGNATURE") {
		t.Errorf("--ca replacing the system's roots: exit %d: %s", code, stderr)
	}
}
