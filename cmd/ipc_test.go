//go:build linux

package cmd

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// shortDir is a temp dir with a short path: sun_path holds 107 bytes,
// and t.TempDir's names can be long.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "nn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// The Node docs' echo server on a Unix socket, with `nodenet connect -U`
// in place of `nc -U`.
func TestNodeDocsEchoServerOnUnixSocket(t *testing.T) {
	sock := filepath.Join(shortDir(t), "echo.sock")
	startNode(t, nodetest.Node20(t), `
const net = require('net');
const server = net.createServer((c) => { c.write('hello\r\n'); c.pipe(c); });
server.listen(`+strconv.Quote(sock)+`, () => console.log('ready'));
`)
	out, stderr, code := runNodenet(t, strings.NewReader("over a path\n"), "connect", "-U", sock)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "hello\r\nover a path\n"; string(out) != want {
		t.Errorf("printed %q, want %q", out, want)
	}
}

// A Node client against `nodenet listen -U`, on a file and on an abstract
// name (current Node writes it '\0name').
func TestNodeClientAgainstListenUnix(t *testing.T) {
	for _, tt := range []struct {
		name, path, nodePath string
		node                 func(testing.TB) string
	}{
		{"file", "", "", nodetest.Node20},
		{"abstract", "@nodenet-test-" + strconv.Itoa(os.Getpid()), "\x00nodenet-test-" + strconv.Itoa(os.Getpid()), nodetest.Current},
	} {
		t.Run(tt.name, func(t *testing.T) {
			node := tt.node(t)
			path, nodePath := tt.path, tt.nodePath
			if path == "" {
				path = filepath.Join(shortDir(t), "l.sock")
				nodePath = path
			}
			ready := filepath.Join(t.TempDir(), "ready")
			type result struct {
				out, stderr []byte
				code        int
			}
			done := make(chan result, 1)
			go func() {
				out, stderr, code := runNodenet(t, strings.NewReader("from nodenet\n"), "listen", "-U", path, "--ready-file", ready)
				done <- result{out, stderr, code}
			}()
			if got := waitReady(t, ready); got != path {
				t.Errorf("ready file says %q, want %q", got, path)
			}
			script := `
const c = require('net').connect(` + strconv.Quote(nodePath) + `);
let got = '';
c.on('data', (d) => { got += d; });
c.on('end', () => { console.log(JSON.stringify(got)); });
c.end('from node\n');
`
			got := nodetest.Run(t, node, script, nil, peerTimeout)
			if want := `"from nodenet\n"`; strings.TrimSpace(string(got)) != want {
				t.Errorf("node received %s, want %s", got, want)
			}
			r := <-done
			if r.code != 0 {
				t.Fatalf("listen exit %d: %s", r.code, r.stderr)
			}
			if string(r.out) != "from node\n" {
				t.Errorf("listen printed %q", r.out)
			}
			if !strings.HasPrefix(path, "@") {
				if _, err := os.Lstat(path); !os.IsNotExist(err) {
					t.Errorf("socket file left behind: %v", err)
				}
			}
		})
	}
}

// A Node v26 server on an abstract name, reached with `connect -U @name`.
func TestNodeAbstractServer(t *testing.T) {
	name := "nodenet-abs-" + strconv.Itoa(os.Getpid())
	startNode(t, nodetest.Current(t), `
const server = require('net').createServer((c) => { c.end('abstract hello\n'); });
server.listen('\0`+name+`', () => console.log('ready'));
`)
	out, stderr, code := runNodenet(t, nil, "connect", "-U", "@"+name)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if string(out) != "abstract hello\n" {
		t.Errorf("printed %q", out)
	}
}

// inherit runs nodenet with ln's socket as fd 3 and the given extra
// environment, and returns the process.
func inherit(t *testing.T, ln net.Listener, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	f, err := ln.(interface{ File() (*os.File, error) }).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	t.Cleanup(cancel)
	c := exec.CommandContext(ctx, args[0], args[1:]...)
	c.ExtraFiles = []*os.File{f}
	c.Env = append(append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir()), env...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	c.Stdin = strings.NewReader("served from an inherited socket\n")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false) // the socket file is the child's now
	}
	ln.Close() // the child holds the socket now
	return c, &out, &errb
}

// listenToInherit opens a listener for a child to inherit: TCP on a fresh
// loopback port, or a Unix socket in a temporary directory. It returns the
// listener and its address.
func listenToInherit(t *testing.T, network string) (net.Listener, string) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(shortDir(t), "fd.sock")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln, ln.Addr().String()
}

// fetch connects to addr and returns everything it sends.
func fetch(t *testing.T, network, addr string) string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, peerTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(interface{ CloseWrite() error }).CloseWrite()
	c.SetReadDeadline(time.Now().Add(peerTimeout))
	var b bytes.Buffer
	b.ReadFrom(c)
	return b.String()
}

func TestListenInheritedFD(t *testing.T) {
	nn := nodenetPath(t)
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			ln, addr := listenToInherit(t, network)
			c, out, errb := inherit(t, ln, nil, nn, "listen", "--fd", "3")
			if got := fetch(t, network, addr); got != "served from an inherited socket\n" {
				t.Errorf("client read %q", got)
			}
			if err := c.Wait(); err != nil {
				t.Fatalf("listen --fd 3: %v\n%s", err, errb)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q", out)
			}
		})
	}
}

// TestEchoInheritedFD: echo serves an inherited listening socket, TCP or
// Unix, to one client after another, and a SIGINT ends it with status 0.
func TestEchoInheritedFD(t *testing.T) {
	nn := nodenetPath(t)
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			ln, addr := listenToInherit(t, network)
			c, _, errb := inherit(t, ln, nil, nn, "echo", "--fd", "3")
			for i := range 3 {
				conn, err := net.DialTimeout(network, addr, peerTimeout)
				if err != nil {
					t.Fatal(err)
				}
				conn.SetDeadline(time.Now().Add(peerTimeout))
				msg := "ping " + strconv.Itoa(i) + "\n"
				if _, err := conn.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				conn.(interface{ CloseWrite() error }).CloseWrite()
				var b bytes.Buffer
				_, err = b.ReadFrom(conn)
				conn.Close()
				if want := "hello\r\n" + msg; b.String() != want || err != nil {
					t.Errorf("client %d read %q (%v), want %q", i, b.String(), err, want)
				}
			}
			if err := c.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			if err := c.Wait(); err != nil {
				t.Fatalf("echo --fd 3: %v\n%s", err, errb)
			}
		})
	}
}

func TestListenSystemdActivation(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	// LISTEN_PID must be nodenet's own pid: sh sets it, then execs.
	c, _, errb := inherit(t, ln, []string{"LISTEN_FDS=1", "NODENET_BIN=" + nodenetPath(t)},
		"sh", "-c", `LISTEN_PID=$$ exec "$NODENET_BIN" listen --fd systemd`)
	if got := fetch(t, "tcp", addr); got != "served from an inherited socket\n" {
		t.Errorf("client read %q", got)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("listen --fd systemd: %v\n%s", err, errb)
	}
}

func TestListenFDErrors(t *testing.T) {
	for _, tt := range []struct {
		name, fd, want string
		code           int
	}{
		{"not open", "9", "listen EINVAL: invalid argument (fd 9 is not open)", 2},
		{"not a socket", "0", "listen EINVAL: invalid argument (fd 0 is not a socket)", 2},
		{"not a number", "three", `--fd "three": want a file descriptor number or systemd`, 2},
		{"no activation", "systemd", "listen EINVAL: invalid argument", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.CreateTemp(t.TempDir(), "stdin")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, stderr, code := runNodenet(t, f, "listen", "--fd", tt.fd)
			if code != tt.code || !strings.Contains(string(stderr), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}
