package cmd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// Real servers that take a client's FIN as the end of the exchange, and
// stop sending the answer they were in the middle of: nginx, ncat -l and
// nc.openbsd -N -l. `nodenet connect` must receive every byte from each,
// without flags (SPEC, connect: the FIN waits while the peer sends).

// peerBinary returns the path of a real peer, skipping the test when it
// is missing, except in CI, where .ci/run installs it.
func peerBinary(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing in CI (Debian package %s)", name, pkg)
		}
		t.Skipf("skipping: %s is not installed (Debian package %s)", name, pkg)
	}
	return p
}

// randomFile writes n random bytes to a file in dir and returns its path
// and SHA-256.
func randomFile(t *testing.T, dir, name string, n int) (string, [32]byte) {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, sha256.Sum256(b)
}

// startPeer starts a peer process that is killed when the test ends; its
// stderr is returned as a reader.
func startPeer(t *testing.T, c *exec.Cmd) *bufio.Reader {
	t.Helper()
	errp, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Process.Kill() //nolint:errcheck // it may have exited
		c.Wait()         //nolint:errcheck // killed
	})
	return bufio.NewReader(errp)
}

// startNginx serves root with Debian's nginx on a loopback socket that
// the test bound on port 0 and hands over as an inherited socket (nginx
// takes the descriptors named in $NGINX), and returns the port.
func startNginx(t *testing.T, root string) int {
	t.Helper()
	bin := peerBinary(t, "nginx", "nginx-light")
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	// A worker started by root would run as nobody, who cannot read the
	// test's files: it runs as the test's user.
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// master_process off with an inherited socket makes nginx 1.22.1
	// crash (SIGSEGV in its event set-up): one master and one worker,
	// stopped as a process group.
	conf := fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
user %[4]s;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
  access_log %[1]s/access.log;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen 127.0.0.1:%[2]d;
    root %[3]s;
  }
}
`, dir, port, root, me.Username)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	t.Cleanup(cancel)
	c := exec.CommandContext(ctx, bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath)
	c.ExtraFiles = []*os.File{f} // fd 3
	c.Env = append(os.Environ(), "NGINX=3;")
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	startPeer(t, c)
	t.Cleanup(func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }) //nolint:errcheck // the group may be gone
	// The socket listens already; nginx answers once it has started.
	hc, err := net.DialTimeout("tcp4", ln.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	hc.SetDeadline(time.Now().Add(20 * time.Second)) //nolint:errcheck // a dead nginx fails the read
	io.WriteString(hc, "HEAD / HTTP/1.0\r\n\r\n")    //nolint:errcheck // the read says
	if _, err := bufio.NewReader(hc).ReadString('\n'); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		t.Fatalf("nginx does not answer: %v\n%s", err, log)
	}
	return port
}

// runConnect runs nodenet with stdin (nil: /dev/null) and its stdout in
// a file, and returns that file's contents and the exit status.
func runConnect(t *testing.T, stdin io.Reader, args ...string) (out, stderr []byte, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	outPath := filepath.Join(t.TempDir(), "out")
	of, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer of.Close()
	c := exec.CommandContext(ctx, nodenetPath(t), args...)
	c.Stdin = stdin
	c.Stdout = of
	var errb bytes.Buffer
	c.Stderr = &errb
	c.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	code = exitStatus(t, args, c.Run())
	if ctx.Err() != nil {
		t.Fatalf("nodenet %v did not finish within %v: it hangs", args, peerTimeout)
	}
	out, err = os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	return out, errb.Bytes(), code
}

// checkSum fails t unless got is the n bytes whose SHA-256 is want.
func checkSum(t *testing.T, what string, got []byte, n int, want [32]byte) {
	t.Helper()
	if len(got) != n || sha256.Sum256(got) != want {
		t.Errorf("%s: received %d bytes, want the %d bytes sent (SHA-256 equal: %v)", what, len(got), n, sha256.Sum256(got) == want)
	}
}

// TestConnectNginxWholeDownload is issue 10's first report: a request
// from a pipe, or from --send, then the FIN at stdin's end, got 4 to 11
// MB of a 20 MB file from nginx, which stops a response when it sees the
// client's FIN.
func TestConnectNginxWholeDownload(t *testing.T) {
	const size = 20 << 20
	root := t.TempDir()
	_, sum := randomFile(t, root, "big.bin", size)
	port := startNginx(t, root)
	req := "GET /big.bin HTTP/1.0\r\n\r\n"
	for _, tc := range []struct {
		name  string
		stdin io.Reader
		args  []string
	}{
		{"request on stdin", strings.NewReader(req), nil},
		{"request from --send", nil, []string{"--send", `GET /big.bin HTTP/1.0\r\n\r\n`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"connect", strconv.Itoa(port), "127.0.0.1"}, tc.args...)
			out, stderr, code := runConnect(t, tc.stdin, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			head, body, ok := bytes.Cut(out, []byte("\r\n\r\n"))
			if !ok || !bytes.HasPrefix(head, []byte("HTTP/1.1 200")) {
				t.Fatalf("no HTTP response in %d bytes: %.200q", len(out), out)
			}
			checkSum(t, "body", body, size, sum)
		})
	}
}

// listenRandomPort starts a peer that cannot take an inherited socket
// nor print the port it got for port 0 on a random high port, and tries
// another while the peer reports that the address is in use. start runs
// the peer on a port and returns its stderr; ready reports whether a
// line of it says that the peer listens.
func listenRandomPort(t *testing.T, start func(port int) *bufio.Reader, ready func(line string) bool) int {
	t.Helper()
	for range 20 {
		n, err := rand.Int(rand.Reader, big.NewInt(60999-20000))
		if err != nil {
			t.Fatal(err)
		}
		port := 20000 + int(n.Int64())
		stderr := start(port)
		for {
			line, err := stderr.ReadString('\n')
			if ready(line) {
				return port
			}
			if strings.Contains(line, "in use") {
				break // try another port
			}
			if err != nil {
				t.Fatalf("the peer did not start: %v (last line %q)", err, line)
			}
		}
	}
	t.Fatal("no free port in 20 tries")
	return 0
}

// TestConnectDevNullDownloads: `nodenet connect PORT < /dev/null > f`
// from `ncat -l < file` and `nc.openbsd -N -l < file` received 0.1 to
// 4.7 MB of 100 MB: both stop sending when they read the client's FIN.
func TestConnectDevNullDownloads(t *testing.T) {
	const size = 100 << 20
	src, sum := randomFile(t, t.TempDir(), "src", size)
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	t.Cleanup(cancel)
	serve := func(t *testing.T, name string, args ...string) *bufio.Reader {
		in, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { in.Close() })
		c := exec.CommandContext(ctx, name, args...)
		c.Stdin = in
		c.Stdout = io.Discard
		return startPeer(t, c)
	}
	t.Run("ncat -l", func(t *testing.T) {
		bin := peerBinary(t, "ncat", "ncat")
		// ncat -v prints the port asked for, not the one bound for 0.
		port := listenRandomPort(t, func(port int) *bufio.Reader {
			return serve(t, bin, "-v", "-l", "127.0.0.1", strconv.Itoa(port))
		}, func(line string) bool { return strings.Contains(line, "Listening on") })
		out, stderr, code := runConnect(t, nil, "connect", strconv.Itoa(port), "127.0.0.1")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		checkSum(t, "download", out, size, sum)
	})
	t.Run("nc.openbsd -N -l", func(t *testing.T) {
		bin := peerBinary(t, "nc.openbsd", "netcat-openbsd")
		stderr := serve(t, bin, "-v", "-N", "-l", "127.0.0.1", "0")
		// "Listening on localhost 38347": the port bound for 0.
		line, err := stderr.ReadString('\n')
		f := strings.Fields(line)
		if err != nil || len(f) < 3 || f[0] != "Listening" {
			t.Fatalf("nc.openbsd said %q (%v)", line, err)
		}
		out, errOut, code := runConnect(t, nil, "connect", f[len(f)-1], "127.0.0.1")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		checkSum(t, "download", out, size, sum)
	})
}

// TestConnectNodeAnswersAfterEnd: the held FIN still goes to a server
// that answers only after the client's end, for a request, an upload and
// nothing at all (< /dev/null): none of them hangs.
func TestConnectNodeAnswersAfterEnd(t *testing.T) {
	port, _ := startNode(t, nodetest.Node20(t), replyAfterEndServer)
	for _, tc := range []struct {
		name  string
		stdin io.Reader
		n     int
	}{
		{"request", strings.NewReader("question\n"), 9},
		{"upload", bytes.NewReader(make([]byte, 1<<20)), 1 << 20},
		{"dev null", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runConnect(t, tc.stdin, "connect", port, "127.0.0.1")
			if want := fmt.Sprintf("received %d bytes\n", tc.n); code != 0 || string(out) != want {
				t.Errorf("exit %d, printed %q, want %q; stderr:\n%s", code, out, want, stderr)
			}
		})
	}
}
