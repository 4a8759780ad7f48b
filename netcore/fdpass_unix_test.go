//go:build unix

package netcore

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// unixSocketPair returns two connected Sockets over a Unix socket pair.
func unixSocketPair(t *testing.T, ha, hb *SocketHooks) (a, b *Socket) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.CloseOnExec(fds[0])
	unix.CloseOnExec(fds[1])
	conn := func(fd int) net.Conn {
		f := os.NewFile(uintptr(fd), "pair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b = NewSocket(conn(fds[0]), ha, true), NewSocket(conn(fds[1]), hb, true)
	t.Cleanup(func() { a.Destroy(nil); b.Destroy(nil) })
	return a, b
}

// tempFile writes content to a new file and opens it for reading.
func tempFile(t *testing.T, content string) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "passed")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestWriteFDsOnFDTakesAFileByteExact(t *testing.T) {
	const content = "a file passed over a Unix socket\x00\xff\n"
	f := tempFile(t, content)
	var mu sync.Mutex
	var got []int
	var order []string
	hb := &SocketHooks{
		OnFD: func(s *Socket, fd int) bool {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, fd)
			order = append(order, "fd")
			return true
		},
		OnData: func(s *Socket, p []byte) {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, "data")
		},
	}
	a, b := unixSocketPair(t, nil, hb)
	if n, err := a.WriteFDs([]byte("hello"), []int{int(f.Fd())}); err != nil || n != 5 {
		t.Fatalf("WriteFDs = %d, %v", n, err)
	}
	p := make([]byte, 16)
	n, err := b.Read(p)
	if err != nil || string(p[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", p[:n], err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || strings.Join(order, ",") != "fd,data" {
		t.Fatalf("OnFD got %v, events %v; want one descriptor, fd before data", got, order)
	}
	rf := os.NewFile(uintptr(got[0]), "received")
	defer rf.Close()
	all, err := io.ReadAll(rf)
	if err != nil || string(all) != content {
		t.Fatalf("read through the received descriptor: %q, %v", all, err)
	}
	if a.BytesWritten() != 5 || b.BytesRead() != 5 {
		t.Fatalf("counts: written %d, read %d", a.BytesWritten(), b.BytesRead())
	}
}

// countFDs counts this process's open descriptors.
func countFDs(t *testing.T) int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors in /proc/self/fd")
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestReceivedFDsNobodyTakesAreClosed sends descriptors to Sockets that
// have no OnFD, or one that declines them, and counts this process's
// descriptors: the received duplicates must all be closed.
func TestReceivedFDsNobodyTakesAreClosed(t *testing.T) {
	f := tempFile(t, "x")
	for _, tc := range []struct {
		name  string
		hooks *SocketHooks
	}{
		{"no hook", nil},
		{"hook declines", &SocketHooks{OnFD: func(*Socket, int) bool { return false }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := unixSocketPair(t, nil, tc.hooks)
			before := countFDs(t)
			const rounds = 20
			fds := []int{int(f.Fd()), int(f.Fd()), int(f.Fd())}
			for i := 0; i < rounds; i++ {
				if _, err := a.WriteFDs([]byte{'x'}, fds); err != nil {
					t.Fatal(err)
				}
				p := make([]byte, 1)
				if _, err := b.Read(p); err != nil {
					t.Fatal(err)
				}
			}
			if after := countFDs(t); after != before {
				t.Fatalf("open descriptors: %d before, %d after %d received: leaked", before, after, rounds*len(fds))
			}
		})
	}
}

// TestRelayShowsFDsToOnFD: a relay from a Unix socket to a pipe would
// splice, which drops descriptors unseen; with OnFD set, it must read
// through the Socket.
func TestRelayShowsFDsToOnFD(t *testing.T) {
	f := tempFile(t, "x")
	seen := make(chan int, 4)
	hb := &SocketHooks{OnFD: func(s *Socket, fd int) bool { seen <- fd; return false }}
	a, b := unixSocketPair(t, nil, hb)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	done := relayAsync(b, nil, pw, RelayOptions{})
	if _, err := a.WriteFDs([]byte("data"), []int{int(f.Fd())}); err != nil {
		t.Fatal(err)
	}
	a.End() //nolint:errcheck // checked by the relay's end
	select {
	case <-seen:
	case <-time.After(10 * time.Second):
		t.Fatal("OnFD was not called for a descriptor relayed to a pipe")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	pw.Close()
	got, _ := io.ReadAll(pr)
	if string(got) != "data" {
		t.Fatalf("relayed %q", got)
	}
}

// TestRelaySendsFDsWithFirstBytes: RelayOptions.FDs ride with the first
// bytes of in, and an empty in fails rather than drop them.
func TestRelaySendsFDsWithFirstBytes(t *testing.T) {
	f := tempFile(t, "content")
	got := make(chan int, 4)
	hb := &SocketHooks{OnFD: func(s *Socket, fd int) bool { got <- fd; return true }}
	a, b := unixSocketPair(t, nil, hb)
	done := relayAsync(a, strings.NewReader("first bytes"), io.Discard, RelayOptions{FDs: []int{int(f.Fd())}})
	all, err := io.ReadAll(b)
	if err != nil || string(all) != "first bytes" {
		t.Fatalf("read %q, %v", all, err)
	}
	b.End() //nolint:errcheck // lets the relay end
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case fd := <-got:
		rf := os.NewFile(uintptr(fd), "received")
		defer rf.Close()
		if c, _ := io.ReadAll(rf); string(c) != "content" {
			t.Fatalf("received file reads %q", c)
		}
	default:
		t.Fatal("no descriptor came with the first bytes")
	}

	c, _ := unixSocketPair(t, nil, nil)
	select {
	case err = <-relayAsync(c, strings.NewReader(""), io.Discard, RelayOptions{FDs: []int{int(f.Fd())}}):
	case <-time.After(10 * time.Second):
		t.Fatal("Relay of an empty input with FDs did not fail")
	}
	var ne *Error
	if !errors.As(err, &ne) || ne.Code != "ENODATA" || !strings.Contains(ne.Message, "descriptors "+fdList([]int{int(f.Fd())})+" were not sent") {
		t.Fatalf("Relay of an empty input with FDs = %v; want ENODATA naming the descriptors", err)
	}
}

func TestWriteFDsRefusesTCPAndEmptyData(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := NewSocket(c, nil, false)
	defer s.Destroy(nil)
	_, err = s.WriteFDs([]byte("x"), []int{0})
	var ne *Error
	if !errors.As(err, &ne) || ne.Code != "ERR_INVALID_HANDLE_TYPE" || !strings.Contains(ne.Message, "TCP connection") {
		t.Fatalf("WriteFDs over TCP = %v; want ERR_INVALID_HANDLE_TYPE", err)
	}
	a, _ := unixSocketPair(t, nil, nil)
	if _, err := a.WriteFDs(nil, []int{0}); !errors.As(err, &ne) || ne.Code != "ERR_INVALID_ARG_VALUE" {
		t.Fatalf("WriteFDs without data = %v; want ERR_INVALID_ARG_VALUE", err)
	}
}

func TestSocketFromFD(t *testing.T) {
	dupOf := func(fd uintptr) int {
		d, err := unix.Dup(int(fd))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lf, _ := ln.(*net.TCPListener).File()
	defer lf.Close()
	unconnected, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(unconnected)
	udp, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(udp)
	file := tempFile(t, "x")
	closed := dupOf(file.Fd())
	unix.Close(closed)
	for _, tc := range []struct {
		fd   int
		want string
	}{
		{closed, "is not open"},
		{int(file.Fd()), "is not a socket"},
		{udp, "is not a stream socket (datagram)"},
		{int(lf.Fd()), "is a listening socket, not a connection"},
		{unconnected, "is not connected"},
	} {
		_, err := SocketFromFD(tc.fd, ConnectOptions{})
		var ne *Error
		if !errors.As(err, &ne) || ne.Code != "ERR_INVALID_FD_TYPE" || !ne.Usage || !strings.Contains(ne.Message, "fd ") || !strings.HasSuffix(ne.Message, tc.want) {
			t.Errorf("SocketFromFD(%d) = %v; want a usage ERR_INVALID_FD_TYPE ending %q", tc.fd, err, tc.want)
		}
	}

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	cf, _ := c.(*net.TCPConn).File()
	c.Close()
	connected := false
	s, err := SocketFromFD(int(cf.Fd()), ConnectOptions{Hooks: &SocketHooks{OnConnect: func(*Socket) { connected = true }}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy(nil)
	if !connected || s.RemoteAddr().String() != peer.LocalAddr().String() {
		t.Fatalf("OnConnect %v, remote %v; want %v", connected, s.RemoteAddr(), peer.LocalAddr())
	}
	if _, err := s.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 2)
	if _, err := io.ReadFull(peer, p); err != nil || string(p) != "ok" {
		t.Fatalf("peer read %q, %v", p, err)
	}
}
