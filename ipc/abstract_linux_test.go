package ipc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// abstractName returns an abstract socket name no other test (or test
// run) uses, without the @.
func abstractName(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("nodenet-test-%d-%x", os.Getpid(), randomBytes(t, 6))
}

// procNetUnix returns the paths of the sockets in /proc/net/unix: abstract
// names start with @, and the kernel shows every NUL in a name as @ too,
// so a name bound with trailing padding would show as @name@@@@.
func procNetUnix(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		t.Skipf("no /proc/net/unix: %v", err)
	}
	defer f.Close()
	var paths []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Num RefCount Protocol Flags Type St Inode Path
		if fields := strings.Fields(sc.Text()); len(fields) == 8 {
			paths = append(paths, fields[7])
		}
	}
	return paths
}

func TestAbstractListen(t *testing.T) {
	name := abstractName(t)
	ln := listenT(t, &ListenConfig{ReadableAll: true, WritableAll: true}, "@"+name)
	if ln.Path() != "@"+name || ln.Addr().String() != "@"+name {
		t.Errorf("Path() = %q, Addr() = %q; want @%s", ln.Path(), ln.Addr(), name)
	}
	var found []string
	for _, p := range procNetUnix(t) {
		if strings.HasPrefix(p, "@"+name) {
			found = append(found, p)
		}
	}
	if len(found) != 1 || found[0] != "@"+name {
		t.Errorf("/proc/net/unix shows %q, want exactly [@%s] (bound with its exact length)", found, name)
	}
	if exists("@" + name) {
		t.Errorf("a file named @%s was created", name)
	}
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	c, err := dialer("@" + name)()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if sc := await(t, acc, "Accept"); sc == nil {
		t.Error("Accept failed")
	} else {
		if got := sc.LocalAddr().String(); got != "@"+name {
			t.Errorf("accepted connection's LocalAddr() = %q, want @%s", got, name)
		}
		sc.Close()
	}
	halfCloseRoundTrip(t, ln, dialer("@"+name), randomBytes(t, 100000))
	// Node's form names the same socket.
	halfCloseRoundTrip(t, ln, dialer("\x00"+name), []byte("node form"))
}

func TestAbstractNodeForm(t *testing.T) {
	name := abstractName(t)
	ln := listenT(t, nil, "\x00"+name)
	if ln.Path() != "@"+name {
		t.Errorf("Path() = %q, want @%s", ln.Path(), name)
	}
	halfCloseRoundTrip(t, ln, dialer("@"+name), []byte("at form"))
}

func TestAbstractInUse(t *testing.T) {
	name := abstractName(t)
	ln := listenT(t, nil, "@"+name)
	_, err := Listen(context.Background(), "@"+name)
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second Listen on @%s: %v, want EADDRINUSE", name, err)
	}
	// No probe for abstract names: nothing is ever removed, so the first
	// server's next connection is a real one.
	halfCloseRoundTrip(t, ln, dialer("@"+name), []byte("first"))
}

func TestAbstractLongName(t *testing.T) {
	base := abstractName(t)
	nameOf := func(n int) string { return base + strings.Repeat("a", n-len(base)) }
	_, err := Listen(context.Background(), "@"+nameOf(108))
	want := "abstract socket name is 108 bytes long; the limit is 107 bytes on Linux"
	if !errors.Is(err, syscall.EINVAL) || !errors.Is(err, ErrPathTooLong) || !strings.Contains(fmt.Sprint(err), want) {
		t.Errorf("Listen of a 108-byte abstract name: %v, want EINVAL, ErrPathTooLong and %q", err, want)
	}
	if _, err := Dial(context.Background(), "@"+nameOf(108)); !errors.Is(err, ErrPathTooLong) {
		t.Errorf("Dial of a 108-byte abstract name: %v, want ErrPathTooLong", err)
	}
	fits := nameOf(107)
	ln := listenT(t, nil, "@"+fits)
	halfCloseRoundTrip(t, ln, dialer("@"+fits), []byte("107"))
}

func TestDotSlashAtIsAFile(t *testing.T) {
	dir := shortTempDir(t)
	t.Chdir(dir)
	name := abstractName(t)
	ln := listenT(t, nil, "./@"+name)
	if ln.Path() != "./@"+name {
		t.Errorf("Path() = %q, want ./@%s", ln.Path(), name)
	}
	if st := lstat(t, filepath.Join(dir, "@"+name)); st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
		t.Fatalf("./@%s is not a socket file", name)
	}
	for _, p := range procNetUnix(t) {
		if p == "@"+name {
			t.Errorf("./@%s was bound as an abstract name", name)
		}
	}
	// The abstract name @name is another socket, not bound.
	if _, err := Dial(context.Background(), "@"+name); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Dial(@%s): %v, want ECONNREFUSED", name, err)
	}
	halfCloseRoundTrip(t, ln, dialer("./@"+name), []byte("a file"))
	ln.Close()
	if exists(filepath.Join(dir, "@"+name)) {
		t.Error("./@name not unlinked on Close")
	}
}

func TestBacklog(t *testing.T) {
	// A Unix socket's accept queue takes backlog+1 connections; the next
	// non-blocking connect fails with EAGAIN. Go's own net.Listen would use
	// somaxconn (4096 on current kernels) instead of Node's 511.
	somaxconn := 4096
	if b, err := os.ReadFile("/proc/sys/net/core/somaxconn"); err == nil {
		fmt.Sscan(string(b), &somaxconn)
	}
	tests := []struct {
		name    string
		backlog int
		want    int
	}{
		{"explicit", 3, 3},
		{"default", 0, min(DefaultBacklog, somaxconn)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(shortTempDir(t), "q")
			listenT(t, &ListenConfig{Backlog: tt.backlog}, path)
			queued := 0
			for queued <= tt.want+1 {
				fd, err := socket(syscall.SOCK_STREAM)
				if err != nil {
					t.Fatal(err)
				}
				defer syscall.Close(fd)
				err = syscall.Connect(fd, &syscall.SockaddrUnix{Name: path})
				if err == syscall.EAGAIN {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				queued++
			}
			if queued != tt.want+1 {
				t.Errorf("%d connections queued, want backlog %d + 1", queued, tt.want)
			}
		})
	}
}

func TestNodeAbstractServer(t *testing.T) {
	node := nodetest.Current(t)
	name := abstractName(t)
	startNode(t, node, strings.Replace(docsEchoServer, "PATH", jsString("\x00"+name), 1))
	// Node v26 binds the exact length: the name is @name, not @name@@@...
	found := false
	for _, p := range procNetUnix(t) {
		found = found || p == "@"+name
	}
	if !found {
		t.Errorf("node's abstract socket is not @%s in /proc/net/unix", name)
	}
	dialDocsEcho(t, "@"+name, []byte("to node v26"))
}

func TestNodeAbstractClient(t *testing.T) {
	node := nodetest.Current(t)
	name := abstractName(t)
	ln := listenT(t, nil, "@"+name)
	done := serveReversed(t, ln)
	payload := []byte("from node v26 over an abstract socket")
	out := nodetest.Run(t, node, strings.Replace(nodeClient, "PATH", jsString("\x00"+name), 1), payload, testTimeout)
	r := await(t, done, "server")
	if r.err != nil || !bytes.Equal(r.data, payload) {
		t.Fatalf("server received %q, %v; want %q", r.data, r.err, payload)
	}
	if !bytes.Equal(out, reversed(payload)) {
		t.Errorf("node received %q, want %q", out, reversed(payload))
	}
}

// TestNodeV20AbstractServer: Node v20 binds '\0name' padded with NULs to
// the whole of sun_path (@name@@@@... in /proc/net/unix), a different name
// to the kernel than v26's exact one. Dial tries the exact name, then
// the padded one, and reaches it: it was ECONNREFUSED.
func TestNodeV20AbstractServer(t *testing.T) {
	node := nodetest.Node20(t)
	name := abstractName(t)
	startNode(t, node, strings.Replace(docsEchoServer, "PATH", jsString("\x00"+name), 1))
	padded, ok := PaddedAbstract("@" + name)
	if !ok {
		t.Fatal("no padded form")
	}
	found := false
	for _, p := range procNetUnix(t) {
		found = found || p == strings.ReplaceAll(padded, "\x00", "@")
	}
	if !found {
		t.Errorf("node v20's socket is not @%s padded with NULs in /proc/net/unix", name)
	}
	dialDocsEcho(t, "@"+name, []byte("to node v20"))
}

func TestPaddedAbstract(t *testing.T) {
	for _, tt := range []struct {
		path string
		ok   bool
	}{
		{"@a", true},
		{"\x00a", true},
		{"@" + strings.Repeat("x", 106), true},
		{"@" + strings.Repeat("x", 107), false}, // fills sun_path already
		{"/tmp/a.sock", false},
		{"./@a", false},
	} {
		p, ok := PaddedAbstract(tt.path)
		if ok != tt.ok {
			t.Errorf("PaddedAbstract(%q) ok = %v, want %v", tt.path, ok, tt.ok)
			continue
		}
		if ok && (len(p) != 108 || p[0] != '@' || p[1:len(tt.path)] != tt.path[1:] || strings.Trim(p[len(tt.path):], "\x00") != "") {
			t.Errorf("PaddedAbstract(%q) = %q", tt.path, p)
		}
	}
}
