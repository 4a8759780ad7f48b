//go:build unix

package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serverProc is a nodenet server (listen, echo) running in the
// background.
type serverProc struct {
	addr, port     string
	stdout, stderr *lockedBuffer
	done           chan struct{}
	code           int
	cmd            *exec.Cmd
}

// startServer runs `nodenet ARGS --ready-file F` with stdin and waits
// until it listens; it is interrupted (SIGINT, then killed) when the
// test ends.
func startServer(t *testing.T, stdin io.Reader, args ...string) *serverProc {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	c := exec.CommandContext(ctx, nodenetPath(t), append(args, "--ready-file", ready)...)
	c.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	c.Stdin = stdin
	p := &serverProc{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{}), cmd: c}
	c.Stdout, c.Stderr = p.stdout, p.stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := c.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		c.Process.Signal(syscall.SIGINT) //nolint:errcheck // it may have exited
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
		cancel()
		<-p.done
		if t.Failed() {
			t.Logf("nodenet %v stderr:\n%s", args, p.stderr.String())
		}
	})
	deadline := time.Now().Add(peerTimeout)
	for {
		b, err := os.ReadFile(ready)
		if err == nil && bytes.HasSuffix(b, []byte("\n")) {
			p.addr = strings.TrimSpace(string(b))
			_, p.port, _ = net.SplitHostPort(p.addr)
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("nodenet %v exited %d before listening:\n%s", args, p.code, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodenet %v did not listen", args)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wait waits for the server to exit by itself and returns its status.
func (p *serverProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(peerTimeout):
		t.Fatalf("the server did not exit; stderr:\n%s", p.stderr.String())
	}
	return -1
}

// waitStderr waits until the server's stderr matches re.
func (p *serverProc) waitStderr(t *testing.T, re string) string {
	t.Helper()
	r := regexp.MustCompile(re)
	deadline := time.Now().Add(peerTimeout)
	for {
		s := p.stderr.String()
		if m := r.FindString(s); m != "" {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("stderr never matched %q:\n%s", re, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTLSListenCurl: curl --cacert fetches a canned HTTP response from
// listen --tls; listen prints curl's request and exits when it is done.
func TestTLSListenCurl(t *testing.T) {
	curl := needPeer(t, "curl")
	certs := testCerts(t)
	const response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: close\r\n\r\nhello over tls"
	srv := startServer(t, strings.NewReader(response), "listen", "--tls", "--cert", certs.Path("leaf.pem"), "--key", certs.Path("leaf.key"), "0", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, "-sS", "--http1.1", "--cacert", certs.Path("ca.pem"),
		"--resolve", "localhost:"+srv.port+":127.0.0.1", "https://localhost:"+srv.port+"/path").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	if string(out) != "hello over tls" {
		t.Errorf("curl printed %q", out)
	}
	if code := srv.wait(t); code != 0 {
		t.Errorf("listen exit %d", code)
	}
	if !strings.HasPrefix(srv.stdout.String(), "GET /path HTTP/1.1\r\nHost: localhost:"+srv.port+"\r\n") {
		t.Errorf("listen printed %q", srv.stdout.String())
	}
}

// TestTLSEchoOpenSSLClient: openssl s_client verifies echo --tls's
// certificate, is greeted and gets its line back.
func TestTLSEchoOpenSSLClient(t *testing.T) {
	openssl := needPeer(t, "openssl")
	certs := testCerts(t)
	srv := startServer(t, nil, "echo", "--tls", "--cert", certs.Path("leaf.pem"), "--key", certs.Path("leaf.key"), "--events", "json", "0", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, openssl, "s_client", "-connect", srv.addr, "-CAfile", certs.Path("ca.pem"),
		"-verify_return_error", "-servername", "localhost", "-alpn", "x-echo", "-quiet", "-no_ign_eof")
	in, _ := c.StdinPipe()
	outPipe, _ := c.StdoutPipe()
	c.Stderr = io.Discard
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, "hi\n") //nolint:errcheck // checked by what comes back
	want := "hello\r\nhi\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(outPipe, got); err != nil || string(got) != want {
		t.Errorf("s_client printed %q (%v), want %q", got, err, want)
	}
	in.Close()
	c.Wait() //nolint:errcheck // it ends when its stdin does
	ev := srv.waitStderr(t, `\{"event":"secureConnection"[^\n]*\n`)
	e := findEvent(t, []byte(ev), "secureConnection")
	if e.Protocol != "TLSv1.3" || e.Servername != "localhost" || e.Authorized || e.Fingerprint256 != "" || e.ALPNProtocol != false {
		t.Errorf("secureConnection %+v", e)
	}
}

// TestTLSEchoSocat: socat's OPENSSL address verifies the self-signed
// certificate by its file... no: by the fingerprint the server printed,
// there being no CA; socat checks the certificate it is given as cafile.
func TestTLSEchoSocat(t *testing.T) {
	socat := needPeer(t, "socat")
	certs := testCerts(t)
	srv := startServer(t, nil, "echo", "--tls", "--cert", certs.Path("leaf.pem"), "--key", certs.Path("leaf.key"), "0", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, socat, "-t", "5", "-", "OPENSSL:"+srv.addr+",cafile="+certs.Path("ca.pem")+",commonname=localhost")
	c.Stdin = strings.NewReader("through socat\n")
	out, err := c.CombinedOutput()
	if err != nil || string(out) != "hello\r\nthrough socat\n" {
		t.Errorf("socat: %v, printed %q", err, out)
	}
}

// TestTLSEchoNodeClients: Node's tls.connect (v20, v26) against echo
// --tls with its self-signed certificate: verification fails as Node
// words it, and with rejectUnauthorized false the certificate's
// fingerprint is the one echo printed; 1 MiB comes back byte-exact.
func TestTLSEchoNodeClients(t *testing.T) {
	srv := startServer(t, nil, "echo", "--tls", "--greeting", "", "0", "127.0.0.1")
	fp := srv.waitStderr(t, `tls: self-signed certificate sha256:[0-9A-F:]{95}`)
	fp = strings.TrimPrefix(fp, "tls: self-signed certificate sha256:")
	script := `
const tls = require('tls'), crypto = require('crypto');
const port = ` + srv.port + `;
const strict = tls.connect({ port, host: '127.0.0.1' });
strict.on('error', (e) => {
  const c = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
    const sent = crypto.randomBytes(1 << 20), got = [];
    c.on('data', (d) => got.push(d));
    c.on('end', () => {
      const same = Buffer.concat(got).equals(sent);
      console.log([e.code, c.authorizationError, c.getPeerCertificate().fingerprint256, same].join(' '));
    });
    c.end(sent);
  });
});`
	for _, n := range []struct {
		name string
		node func(testing.TB) string
	}{{"node20", nodetest.Node20}, {"current", nodetest.Current}} {
		t.Run(n.name, func(t *testing.T) {
			got := strings.TrimSpace(string(nodetest.Run(t, n.node(t), script, nil, peerTimeout)))
			want := "DEPTH_ZERO_SELF_SIGNED_CERT DEPTH_ZERO_SELF_SIGNED_CERT " + fp + " true"
			if got != want {
				t.Errorf("node printed %q, want %q", got, want)
			}
		})
	}
}

// TestTLSEchoMutual: --request-cert with --ca admits a client with a
// certificate of that CA (authorized, its subject reported), refuses one
// without (one tlsClientError; the server goes on), and with --insecure
// admits it unauthorized.
func TestTLSEchoMutual(t *testing.T) {
	node := nodetest.Node20(t)
	certs := testCerts(t)
	clientJS := func(port string, withCert bool) string {
		cert := ""
		if withCert {
			cert = fmt.Sprintf("cert: fs.readFileSync(%q), key: fs.readFileSync(%q),", certs.Path("client.pem"), certs.Path("client.key"))
		}
		return fmt.Sprintf(`
const tls = require('tls'), fs = require('fs');
const c = tls.connect({ port: %s, host: '127.0.0.1', servername: 'localhost', ca: fs.readFileSync(%q), %s }, () => { c.end('x'); });
let got = '';
c.on('data', (d) => { got += d; });
c.on('end', () => console.log(JSON.stringify(got)));
c.on('error', (e) => { console.log(e.code); process.exit(0); });`, port, certs.Path("ca.pem"), cert)
	}
	srv := startServer(t, nil, "echo", "--tls", "--cert", certs.Path("leaf.pem"), "--key", certs.Path("leaf.key"),
		"--request-cert", "--ca", certs.Path("ca.pem"), "--events", "json", "0", "127.0.0.1")
	if got := strings.TrimSpace(string(nodetest.Run(t, node, clientJS(srv.port, true), nil, peerTimeout))); got != `"hello\r\nx"` {
		t.Errorf("with a certificate: %s", got)
	}
	e := findEvent(t, []byte(srv.waitStderr(t, `\{"event":"secureConnection"[^\n]*\n`)), "secureConnection")
	if !e.Authorized || e.Subject != "CN=client,O=nodenet tests" || e.Fingerprint256 == "" {
		t.Errorf("secureConnection %+v", e)
	}
	if got := strings.TrimSpace(string(nodetest.Run(t, node, clientJS(srv.port, false), nil, peerTimeout))); got != "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED" {
		t.Errorf("without a certificate: %s", got)
	}
	srv.waitStderr(t, `\{"event":"tlsClientError","time":"[^"]+","id":2,"code":"ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE","message":"peer did not return a certificate"\}`)
	// Still serving.
	if got := strings.TrimSpace(string(nodetest.Run(t, node, clientJS(srv.port, true), nil, peerTimeout))); got != `"hello\r\nx"` {
		t.Errorf("after a refused client: %s", got)
	}

	lax := startServer(t, nil, "echo", "--tls", "--cert", certs.Path("leaf.pem"), "--key", certs.Path("leaf.key"),
		"--request-cert", "--insecure", "--ca", certs.Path("ca.pem"), "--events", "json", "0", "127.0.0.1")
	if got := strings.TrimSpace(string(nodetest.Run(t, node, clientJS(lax.port, false), nil, peerTimeout))); got != `"hello\r\nx"` {
		t.Errorf("insecure, without a certificate: %s", got)
	}
	e = findEvent(t, []byte(lax.waitStderr(t, `\{"event":"secureConnection"[^\n]*\n`)), "secureConnection")
	if e.Authorized || e.AuthorizationError != "UNABLE_TO_GET_ISSUER_CERT" {
		t.Errorf("insecure secureConnection %+v", e)
	}
}

// TestTLSEchoSNI: the certificate follows the name the client asks for:
// --sni with a wildcard, the main certificate otherwise.
func TestTLSEchoSNI(t *testing.T) {
	certs := testCerts(t)
	srv := startServer(t, nil, "echo", "--tls", "--cert", certs.Path("leaf.pem"), "--key", certs.Path("leaf.key"),
		"--sni", "*.example.com,"+certs.Path("wild.pem")+","+certs.Path("wild.key"), "0", "127.0.0.1")
	script := fmt.Sprintf(`
const tls = require('tls'), fs = require('fs');
const ca = fs.readFileSync(%q);
function one(servername) {
  return new Promise((resolve) => {
    const c = tls.connect({ port: %s, host: '127.0.0.1', servername, ca }, () => {
      resolve(servername + '=' + c.getPeerCertificate().subject.CN); c.end();
    });
    c.on('error', (e) => resolve(servername + '=' + e.code));
  });
}
(async () => { console.log((await Promise.all(['a.example.com', 'localhost', 'a.b.example.com'].map(one))).join(' ')); })();`, certs.Path("ca.pem"), srv.port)
	got := strings.TrimSpace(string(nodetest.Run(t, nodetest.Node20(t), script, nil, peerTimeout)))
	if want := "a.example.com=*.example.com localhost=localhost a.b.example.com=ERR_TLS_CERT_ALTNAME_INVALID"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestTLSEchoPlainClients: a client that speaks plain TCP or plain HTTP
// to echo --tls is one tlsClientError line naming what happened, and the
// server goes on serving TLS clients.
func TestTLSEchoPlainClients(t *testing.T) {
	certs := testCerts(t)
	srv := startServer(t, nil, "echo", "--tls", "--cert", certs.Path("leaf.pem"), "--key", certs.Path("leaf.key"), "0", "127.0.0.1")
	for _, c := range []struct{ send, want string }{
		{"hello\n", `nodenet: tlsClientError from 127\.0\.0\.1:\d+: ERR_SSL_WRONG_VERSION_NUMBER: wrong version number: the peer does not speak TLS \(still serving\)\n`},
		{"GET / HTTP/1.0\r\n\r\n", `nodenet: tlsClientError from 127\.0\.0\.1:\d+: ERR_SSL_HTTP_REQUEST: http request: the peer speaks plain HTTP, not TLS \(still serving\)\n`},
	} {
		conn, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte(c.send)) //nolint:errcheck // the server answers or closes
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, conn) //nolint:errcheck // until the server closes
		conn.Close()
		srv.waitStderr(t, c.want)
	}
	out, stderr, code := runNodenet(t, strings.NewReader("still there\n"), "connect", "--tls", "--ca", certs.Path("ca.pem"), srv.port, "localhost")
	if code != 0 || string(out) != "hello\r\nstill there\n" {
		t.Errorf("exit %d, printed %q: %s", code, out, stderr)
	}
}

// TestTLSConnectToListen: the two ends of nodenet: listen --tls with a
// self-signed certificate, connect --tls --pin with the fingerprint it
// printed, 1 MiB each way byte-exact over a Unix socket.
func TestTLSConnectToListen(t *testing.T) {
	sock := filepath.Join(tlsShortDir(t), "tls.sock")
	down := bytes.Repeat([]byte("from listen\n"), 90000)
	up := bytes.Repeat([]byte("from connect\n"), 80000)
	srv := startServer(t, bytes.NewReader(down), "listen", "--tls", "-U", sock)
	fp := strings.TrimPrefix(srv.waitStderr(t, `sha256:[0-9A-F:]{95}`), "")
	out, stderr, code := runNodenet(t, bytes.NewReader(up), "connect", "--tls", "--pin", fp, "-U", sock)
	if code != 0 || !bytes.Equal(out, down) {
		t.Errorf("connect exit %d, printed %d bytes (want %d): %s", code, len(out), len(down), stderr)
	}
	if code := srv.wait(t); code != 0 || !bytes.Equal([]byte(srv.stdout.String()), up) {
		t.Errorf("listen exit %d, printed %d bytes (want %d)", code, len(srv.stdout.String()), len(up))
	}
}
