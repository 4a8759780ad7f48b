//go:build unix

package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// shortTempDir returns a new temporary directory with a short path:
// t.TempDir's paths can be longer than sun_path allows.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func listenT(t *testing.T, lc *ListenConfig, path string) *Listener {
	t.Helper()
	if lc == nil {
		lc = &ListenConfig{}
	}
	ln, err := lc.Listen(context.Background(), path)
	if err != nil {
		t.Fatalf("Listen(%q): %v", path, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func dialer(path string) func() (net.Conn, error) {
	return func() (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		return Dial(ctx, path)
	}
}

// staleSocket leaves a socket file at path that nobody listens on, as a
// process that died without unlinking it does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
}

func lstat(t *testing.T, path string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatalf("lstat %s: %v", path, err)
	}
	return &st
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestUnixRoundTripHalfClose(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "echo.sock")
	ln := listenT(t, nil, path)
	if ln.Path() != path || ln.Addr().String() != path || ln.Addr().Network() != "unix" {
		t.Errorf("Path() = %q, Addr() = %s %q; want %q", ln.Path(), ln.Addr().Network(), ln.Addr(), path)
	}
	if st := lstat(t, path); st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		t.Fatalf("%s is not a socket (mode %o)", path, st.Mode)
	}
	halfCloseRoundTrip(t, ln, dialer(path), randomBytes(t, 4<<20+7))
}

func TestUnixConnIsUnixConn(t *testing.T) {
	// io.Copy from an *os.File into the connection uses sendfile(2) only
	// when the connection is a *net.UnixConn (see the package doc).
	path := filepath.Join(shortTempDir(t), "s")
	ln := listenT(t, nil, path)
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	c, err := dialer(path)()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc := await(t, acc, "Accept")
	if sc == nil {
		t.Fatal("Accept failed")
	}
	defer sc.Close()
	if _, ok := c.(*net.UnixConn); !ok {
		t.Errorf("Dial returned %T, want *net.UnixConn", c)
	}
	// The path netcore puts in a connection's events.
	if got := sc.LocalAddr().String(); got != path {
		t.Errorf("accepted connection's LocalAddr() = %q, want %q", got, path)
	}
	if _, ok := sc.(*net.UnixConn); !ok {
		t.Errorf("Accept returned %T, want *net.UnixConn", sc)
	}
}

func TestUnixStaleSocketReused(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "stale.sock")
	staleSocket(t, path)
	var notices []string
	ln := listenT(t, &ListenConfig{OnStaleRemoved: func(p string) { notices = append(notices, p) }}, path)
	if len(notices) != 1 || notices[0] != path {
		t.Errorf("OnStaleRemoved calls: %q, want one with %q", notices, path)
	}
	halfCloseRoundTrip(t, ln, dialer(path), []byte("reused"))
	ln.Close()
	if exists(path) {
		t.Error("the socket file that replaced the stale one was not unlinked on Close")
	}
}

func TestUnixLiveSocketInUse(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "live.sock")
	ln := listenT(t, nil, path)
	before := lstat(t, path)
	called := false
	_, err := (&ListenConfig{OnStaleRemoved: func(string) { called = true }}).Listen(context.Background(), path)
	var op *net.OpError
	var inUse *AddrInUseError
	if !errors.As(err, &op) || op.Op != "listen" || !errors.Is(err, syscall.EADDRINUSE) || !errors.As(err, &inUse) {
		t.Fatalf("Listen on a live socket: %v, want a listen OpError with an AddrInUseError (EADDRINUSE)", err)
	}
	if !strings.Contains(inUse.Reason, "live") {
		t.Errorf("reason %q does not say the socket is live", inUse.Reason)
	}
	if called {
		t.Error("OnStaleRemoved was called for a live socket")
	}
	if after := lstat(t, path); after.Ino != before.Ino {
		t.Fatal("the live socket file was replaced")
	}
	// The probe reached nobody's accept queue (a queued probe would be
	// the first connection the server accepts, and the round trip below
	// would read its empty stream), and the first server still serves.
	halfCloseRoundTrip(t, ln, dialer(path), []byte("still serving"))
}

func TestUnixNonSocketUntouched(t *testing.T) {
	dir := shortTempDir(t)
	stale := filepath.Join(dir, "target.sock")
	staleSocket(t, stale)
	tests := []struct {
		name   string
		make   func(path string) error
		reason string
	}{
		{"regular file", func(p string) error { return os.WriteFile(p, []byte("keep me"), 0o600) }, "regular file"},
		{"empty regular file", func(p string) error { return os.WriteFile(p, nil, 0o600) }, "regular file"},
		{"directory", func(p string) error {
			if err := os.Mkdir(p, 0o700); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(p, "inside"), []byte("x"), 0o600)
		}, "directory"},
		{"symlink to a stale socket", func(p string) error { return os.Symlink(stale, p) }, "symbolic link"},
		{"dangling symlink", func(p string) error { return os.Symlink(filepath.Join(dir, "nowhere"), p) }, "symbolic link"},
		{"fifo", func(p string) error { return unix.Mkfifo(p, 0o600) }, "FIFO"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprint("p", i))
			if err := tt.make(path); err != nil {
				t.Fatal(err)
			}
			before := lstat(t, path)
			target, _ := os.Readlink(path)
			var content []byte
			if before.Mode&unix.S_IFMT == unix.S_IFREG {
				content, _ = os.ReadFile(path)
			}
			_, err := (&ListenConfig{OnStaleRemoved: func(string) { t.Error("OnStaleRemoved called") }}).Listen(context.Background(), path)
			var inUse *AddrInUseError
			if !errors.Is(err, syscall.EADDRINUSE) || !errors.As(err, &inUse) {
				t.Fatalf("Listen: %v, want an AddrInUseError (EADDRINUSE)", err)
			}
			if !strings.Contains(inUse.Reason, tt.reason) {
				t.Errorf("reason %q does not name a %s", inUse.Reason, tt.reason)
			}
			after := lstat(t, path)
			if after.Ino != before.Ino || after.Mode != before.Mode || after.Size != before.Size || after.Mtim != before.Mtim {
				t.Errorf("%s changed: %+v, was %+v", path, after, before)
			}
			if got, _ := os.Readlink(path); got != target {
				t.Errorf("symlink now points to %q, was %q", got, target)
			}
			if before.Mode&unix.S_IFMT == unix.S_IFREG {
				if got, _ := os.ReadFile(path); string(got) != string(content) {
					t.Errorf("content now %q, was %q", got, content)
				}
			}
			if !exists(stale) {
				t.Error("the symlink's target, a stale socket, was removed")
			}
		})
	}
}

func TestUnixLongPath(t *testing.T) {
	dir := shortTempDir(t)
	pathOf := func(n int) string {
		p := dir + "/"
		return p + strings.Repeat("s", n-len(p))
	}
	tooLong := pathOf(maxPathLen + 1)
	wantMsg := fmt.Sprintf("socket path is %d bytes long; the limit is %d bytes on %s", maxPathLen+1, maxPathLen, osName())
	if goos := osName(); goos == "Linux" && maxPathLen != 107 {
		t.Fatalf("maxPathLen = %d on Linux, want 107", maxPathLen)
	}
	_, lerr := Listen(context.Background(), tooLong)
	_, derr := Dial(context.Background(), tooLong)
	for op, err := range map[string]error{"listen": lerr, "dial": derr} {
		var op2 *net.OpError
		if !errors.As(err, &op2) || op2.Op != op {
			t.Errorf("%s: %v, want a %s OpError", op, err, op)
		}
		if !errors.Is(err, syscall.EINVAL) || !errors.Is(err, ErrPathTooLong) {
			t.Errorf("%s: %v, want EINVAL and ErrPathTooLong", op, err)
		}
		if !strings.Contains(fmt.Sprint(err), wantMsg) {
			t.Errorf("%s: %q does not say %q", op, err, wantMsg)
		}
	}
	// Nothing was created, not even a truncated file (as Node v20 leaves).
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%s holds %d entries after failing; want none", dir, len(ents))
	}
	// The longest path that fits works.
	fits := pathOf(maxPathLen)
	ln := listenT(t, nil, fits)
	halfCloseRoundTrip(t, ln, dialer(fits), []byte("at the limit"))
}

func TestUnixNULInPath(t *testing.T) {
	dir := shortTempDir(t)
	_, err := Listen(context.Background(), dir+"/a\x00b")
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Listen of a path with a NUL: %v, want EINVAL", err)
	}
	if exists(dir + "/a") {
		t.Error("the path was truncated at the NUL and bound")
	}
}

func TestUnixEmptyPath(t *testing.T) {
	if _, err := Listen(context.Background(), ""); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Listen(\"\"): %v, want EINVAL", err)
	}
}

func TestUnixDialErrors(t *testing.T) {
	dir := shortTempDir(t)
	missing := filepath.Join(dir, "missing.sock")
	_, err := Dial(context.Background(), missing)
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" || !errors.Is(err, syscall.ENOENT) {
		t.Errorf("Dial of a missing path: %v, want a dial OpError wrapping ENOENT", err)
	}
	stale := filepath.Join(dir, "stale.sock")
	staleSocket(t, stale)
	if _, err := Dial(context.Background(), stale); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Dial of a stale socket: %v, want ECONNREFUSED", err)
	}
}

func TestUnixUnlinkOnClose(t *testing.T) {
	dir := shortTempDir(t)
	t.Run("unlinked", func(t *testing.T) {
		path := filepath.Join(dir, "a.sock")
		ln := listenT(t, nil, path)
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		if exists(path) {
			t.Error("socket file still there after Close")
		}
		if err := ln.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	t.Run("SetUnlinkOnClose(false)", func(t *testing.T) {
		path := filepath.Join(dir, "b.sock")
		ln := listenT(t, nil, path)
		ln.SetUnlinkOnClose(false)
		ln.Close()
		if !exists(path) {
			t.Error("socket file removed despite SetUnlinkOnClose(false)")
		}
	})
	t.Run("replaced by a file", func(t *testing.T) {
		path := filepath.Join(dir, "c.sock")
		ln := listenT(t, nil, path)
		os.Remove(path)
		if err := os.WriteFile(path, []byte("not yours"), 0o600); err != nil {
			t.Fatal(err)
		}
		ln.Close()
		if b, err := os.ReadFile(path); err != nil || string(b) != "not yours" {
			t.Errorf("the file that replaced the socket: %q, %v", b, err)
		}
	})
	t.Run("replaced by another server's socket", func(t *testing.T) {
		path := filepath.Join(dir, "d.sock")
		ln := listenT(t, nil, path)
		os.Remove(path)
		other := listenT(t, nil, path)
		ln.Close()
		if !exists(path) {
			t.Fatal("Close removed another server's socket")
		}
		halfCloseRoundTrip(t, other, dialer(path), []byte("other"))
	})
	t.Run("relative path after chdir", func(t *testing.T) {
		t.Chdir(dir)
		ln := listenT(t, nil, "e.sock")
		t.Chdir(os.TempDir())
		ln.Close()
		if exists(filepath.Join(dir, "e.sock")) {
			t.Error("socket file bound by a relative path not removed after chdir")
		}
	})
	t.Run("Unlink keeps listening", func(t *testing.T) {
		path := filepath.Join(dir, "f.sock")
		ln := listenT(t, nil, path)
		c, err := dialer(path)()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := ln.Unlink(); err != nil {
			t.Fatal(err)
		}
		if exists(path) {
			t.Fatal("Unlink left the file")
		}
		if _, err := Dial(context.Background(), path); !errors.Is(err, syscall.ENOENT) {
			t.Errorf("Dial after Unlink: %v, want ENOENT", err)
		}
		// The connection already queued is still accepted.
		sc, err := ln.Accept()
		if err != nil {
			t.Fatalf("Accept after Unlink: %v", err)
		}
		sc.Close()
		if err := ln.Close(); err != nil {
			t.Errorf("Close after Unlink: %v", err)
		}
	})
}

func TestUnixCloseUnblocksAccept(t *testing.T) {
	ln := listenT(t, nil, filepath.Join(shortTempDir(t), "s"))
	done := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let Accept block (not needed for correctness)
	ln.Close()
	if err := await(t, done, "Accept after Close"); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
}

func TestUnixModes(t *testing.T) {
	t.Parallel()
	// Socket files are created with 0777 &^ umask; the flags drop the
	// meaningless execute bits and add read / write for everyone. The
	// umask is the process's, so the sockets are made by a helper process.
	tests := []struct {
		umask              string
		readable, writable bool
		want               string
	}{
		{"022", false, false, "0755"},
		{"022", true, false, "0644"},
		{"022", false, true, "0666"},
		{"022", true, true, "0666"},
		{"077", false, false, "0700"},
		{"077", true, false, "0644"},
		{"077", false, true, "0622"},
		{"077", true, true, "0666"},
		{"002", true, true, "0666"},
	}
	dir := shortTempDir(t)
	var cases []modeCase
	for i, tt := range tests {
		cases = append(cases, modeCase{Umask: tt.umask, Path: filepath.Join(dir, fmt.Sprint(i)),
			Readable: tt.readable, Writable: tt.writable})
	}
	js, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	r := startHelper(t, "umask", []string{"MODES=" + string(js)}, nil, false)()
	if r.Err != "" {
		t.Fatal(r.Err)
	}
	if len(r.Modes) != len(tests) {
		t.Fatalf("helper reported %d modes, want %d", len(r.Modes), len(tests))
	}
	for i, tt := range tests {
		if r.Modes[i] != tt.want {
			t.Errorf("umask %s, readable %v, writable %v: mode %s, want %s",
				tt.umask, tt.readable, tt.writable, r.Modes[i], tt.want)
		}
	}
}

// listenerFile returns a duplicate of a listening socket's descriptor as a
// file, and closes the listener: the file is then the socket's only
// holder in this process.
func listenerFile(t *testing.T, network string) (*os.File, string) {
	t.Helper()
	var ln net.Listener
	var err error
	var addr string
	switch network {
	case "tcp":
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case "unix":
		addr = filepath.Join(shortTempDir(t), "inherited.sock")
		ln, err = net.Listen("unix", addr)
		if err == nil {
			// The socket file stays for the child to serve.
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if addr == "" {
		addr = ln.Addr().String()
	}
	f, err := ln.(interface{ File() (*os.File, error) }).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, addr
}

func readGreeting(t *testing.T, network, addr string) string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, testTimeout)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFileListenerInherited(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			f, addr := listenerFile(t, network)
			wait := startHelper(t, "fd", nil, []*os.File{f}, false)
			f.Close() // the child holds the socket now
			if got, want := readGreeting(t, network, addr), "hello from fd 3\n"; got != want {
				t.Errorf("greeting %q, want %q", got, want)
			}
			r := wait()
			if r.Err != "" {
				t.Fatal(r.Err)
			}
			if len(r.Networks) != 1 || r.Networks[0] != network {
				t.Errorf("listener network %q, want %q", r.Networks, network)
			}
			if !r.FDsClosed {
				t.Error("fd 3 still open in the child after its listener closed")
			}
			// The child owned the socket and closed it: nobody listens now.
			if _, err := net.DialTimeout(network, addr, testTimeout); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("dial after the child closed its listener: %v, want ECONNREFUSED", err)
			}
		})
	}
}

func TestFileListenerErrors(t *testing.T) {
	regular, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	udpFile, err := udp.(*net.UDPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer udpFile.Close()
	unbound, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(unbound)
	boundUnix, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(boundUnix)
	if err := unix.Bind(boundUnix, &unix.SockaddrUnix{Name: filepath.Join(shortTempDir(t), "bound")}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		fd    int
		msg   string
		errno syscall.Errno
	}{
		{"not open", 999999, "is not open", syscall.EBADF},
		{"negative", -1, "is not open", syscall.EBADF},
		{"regular file", int(regular.Fd()), "is not a socket", syscall.ENOTSOCK},
		{"udp", int(udpFile.Fd()), "is not a stream socket (datagram)", syscall.EINVAL},
		{"unbound tcp", unbound, "is not a listening socket", syscall.EINVAL},
		{"bound, not listening, unix", boundUnix, "is not a listening socket", syscall.EINVAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := FileListener(tt.fd)
			if err == nil {
				ln.Close()
				t.Fatal("FileListener succeeded")
			}
			var fe *FDError
			if !errors.As(err, &fe) || fe.FD != tt.fd {
				t.Fatalf("error %v (%T), want an *FDError for fd %d", err, err, tt.fd)
			}
			if want := fmt.Sprintf("fd %d %s", tt.fd, tt.msg); err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if !errors.Is(err, tt.errno) {
				t.Errorf("error %v does not wrap %v", err, tt.errno)
			}
			if tt.fd >= 0 && tt.fd < 999999 && fdClosed(tt.fd) {
				t.Error("FileListener closed the descriptor it refused")
			}
		})
	}
}

func TestFileListenerTakesOwnership(t *testing.T) {
	f, addr := listenerFile(t, "tcp")
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	ln, err := FileListener(fd)
	if err != nil {
		t.Fatal(err)
	}
	if !fdClosed(fd) {
		unix.Close(fd)
		t.Error("FileListener left the inherited descriptor open")
	}
	if _, ok := ln.(*net.TCPListener); !ok {
		t.Errorf("FileListener returned %T for a TCP socket, want *net.TCPListener", ln)
	}
	ln.Close()
	if _, err := net.DialTimeout("tcp", addr, testTimeout); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after Close: %v, want ECONNREFUSED (the socket really closed)", err)
	}
}

func TestSystemdListeners(t *testing.T) {
	t.Parallel()
	tcpFile, tcpAddr := listenerFile(t, "tcp")
	unixFile, unixAddr := listenerFile(t, "unix")
	wait := startHelper(t, "systemd", []string{"LISTEN_FDS=2", "LISTEN_FDNAMES=web:ctl"},
		[]*os.File{tcpFile, unixFile}, true)
	tcpFile.Close()
	unixFile.Close()
	if got, want := readGreeting(t, "tcp", tcpAddr), "hello from web\n"; got != want {
		t.Errorf("tcp greeting %q, want %q", got, want)
	}
	if got, want := readGreeting(t, "unix", unixAddr), "hello from ctl\n"; got != want {
		t.Errorf("unix greeting %q, want %q", got, want)
	}
	r := wait()
	if r.Err != "" {
		t.Fatal(r.Err)
	}
	if fmt.Sprint(r.Networks) != "[tcp unix]" || fmt.Sprint(r.Names) != "[web ctl]" {
		t.Errorf("listeners %v named %v, want [tcp unix] named [web ctl]", r.Networks, r.Names)
	}
	if len(r.Env) != 0 {
		t.Errorf("%v still set after SystemdListeners", r.Env)
	}
	if !r.FDsClosed {
		t.Error("fds 3 and 4 still open after the listeners closed")
	}
}

func TestSystemdListenersNoNames(t *testing.T) {
	t.Parallel()
	f, addr := listenerFile(t, "tcp")
	wait := startHelper(t, "systemd", []string{"LISTEN_FDS=1"}, []*os.File{f}, true)
	f.Close()
	readGreeting(t, "tcp", addr)
	if r := wait(); r.Err != "" || fmt.Sprint(r.Names) != "[unknown]" {
		t.Errorf("names %v, error %q; want [unknown], no error", r.Names, r.Err)
	}
}

func TestSystemdListenersNotForUs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      []string
		viaShell bool // LISTEN_PID=$$: the helper's own id
	}{
		{"not activated", nil, false},
		{"empty", []string{"LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES="}, false},
		{"another process", []string{"LISTEN_PID=1", "LISTEN_FDS=1", "LISTEN_FDNAMES=web"}, false},
		{"no descriptors", []string{"LISTEN_FDS=0"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, _ := listenerFile(t, "tcp")
			r := startHelper(t, "systemd", tt.env, []*os.File{f}, tt.viaShell)()
			if !r.NoFDs {
				t.Errorf("error %q, want one matching ErrNoListenFDs", r.Err)
			}
			if len(r.Env) != 0 {
				t.Errorf("%v still set after SystemdListeners", r.Env)
			}
		})
	}
}

func TestUnixListenErrors(t *testing.T) {
	dir := shortTempDir(t)
	_, err := Listen(context.Background(), filepath.Join(dir, "no-such-dir", "s"))
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "listen" || !errors.Is(err, syscall.ENOENT) {
		t.Errorf("Listen in a missing directory: %v, want a listen OpError wrapping ENOENT", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Listen(ctx, filepath.Join(dir, "s")); !errors.Is(err, context.Canceled) {
		t.Errorf("Listen with a cancelled context: %v, want context.Canceled", err)
	}
	if exists(filepath.Join(dir, "s")) {
		t.Error("Listen with a cancelled context created the socket")
	}
}
