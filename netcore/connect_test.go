//go:build unix

package netcore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// streamSocket opens a TCP socket that child processes do not inherit
// (SOCK_CLOEXEC is not on every Unix, so the flag is set afterwards).
func streamSocket(family int, nonblock bool) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(fd)
	if nonblock {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// unusedPort returns a port on ip that refuses connections without any
// race: a socket is bound to it, and never listens, until the test ends.
func unusedPort(t *testing.T, ip netip.Addr) int {
	t.Helper()
	family, sa := unix.AF_INET, unix.Sockaddr(&unix.SockaddrInet4{Addr: ip.As4()})
	if ip.Is6() {
		family, sa = unix.AF_INET6, &unix.SockaddrInet6{Addr: ip.As16()}
	}
	fd, err := streamSocket(family, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, sa); err != nil {
		t.Fatal(err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	switch v := got.(type) {
	case *unix.SockaddrInet4:
		return v.Port
	case *unix.SockaddrInet6:
		return v.Port
	}
	t.Fatalf("getsockname: %T", got)
	return 0
}

// recorder collects a socket's events in order.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(format string, a ...any) {
	r.mu.Lock()
	r.events = append(r.events, fmt.Sprintf(format, a...))
	r.mu.Unlock()
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, "\n")
}

func (r *recorder) hooks() *SocketHooks {
	return &SocketHooks{
		OnLookup: func(e LookupEvent) {
			if e.Err != nil {
				r.add("lookup %s err=%v", e.Host, e.Err)
				return
			}
			r.add("lookup %s %s %d", e.Host, e.Address, e.Family)
		},
		OnConnectionAttempt:        func(a Attempt) { r.add("attempt %s %d", a.Address, a.Family) },
		OnConnectionAttemptFailed:  func(a Attempt, err error) { r.add("failed %s %v", a.Address, err) },
		OnConnectionAttemptTimeout: func(a Attempt) { r.add("timeout %s", a.Address) },
		OnConnect:                  func(s *Socket) { r.add("connect %s", s.RemoteAddr().Address) },
		OnEnd:                      func(*Socket) { r.add("end") },
		OnFinish:                   func(*Socket) { r.add("finish") },
		OnError:                    func(_ *Socket, err error) { r.add("error %v", err) },
		OnClose:                    func(_ *Socket, hadError bool) { r.add("close %v", hadError) },
	}
}

func connectCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func TestConnectRefusedWording(t *testing.T) {
	port := unusedPort(t, netip.MustParseAddr("127.0.0.1"))
	_, err := Connect(connectCtx(t), ConnectOptions{Host: "127.0.0.1", Port: port})
	var ne *Error
	if !errors.As(err, &ne) {
		t.Fatalf("error %v is not a *netcore.Error", err)
	}
	want := "connect ECONNREFUSED 127.0.0.1:" + strconv.Itoa(port)
	if ne.Code != "ECONNREFUSED" || ne.Syscall != "connect" || ne.Address != "127.0.0.1" || ne.Port != port || ne.Error() != want {
		t.Errorf("got %+v (%q), want %q", ne, ne.Error(), want)
	}
}

func TestConnectNotFoundWording(t *testing.T) {
	r := newFakeDNS(t, nil)
	rec := &recorder{}
	_, err := Connect(connectCtx(t), ConnectOptions{Host: "nosuchhost.nodenet.test", Port: 80, Resolver: r, Hooks: rec.hooks()})
	if err == nil || err.Error() != "getaddrinfo ENOTFOUND nosuchhost.nodenet.test" || !isCode(err, "ENOTFOUND") {
		t.Fatalf("got %v, want getaddrinfo ENOTFOUND nosuchhost.nodenet.test", err)
	}
	if !strings.HasPrefix(rec.String(), "lookup nosuchhost.nodenet.test err=") {
		t.Errorf("events:\n%s", rec)
	}
}

func TestConnectHappyEyeballsFallsBack(t *testing.T) {
	// Both families at one port: nobody on ::1, a server on 127.0.0.1.
	srv := listenLocal(t, ServerOptions{}, func(s *Socket) { s.Write([]byte("v4")) })
	port := srv.Address().Port
	if p := unusedPortAt(t, netip.MustParseAddr("::1"), port); p != port {
		t.Skipf("skipping: [::1]:%d is in use", port)
	}
	r := newFakeDNS(t, map[string][]netip.Addr{"both.nodenet.test": {netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")}})
	rec := &recorder{}
	s, err := Connect(connectCtx(t), ConnectOptions{Host: "both.nodenet.test", Port: port, Resolver: r, Hooks: rec.hooks()})
	if err != nil {
		t.Fatalf("connect: %v\nevents:\n%s", err, rec)
	}
	defer s.Destroy(nil)
	want := []string{
		"lookup both.nodenet.test ::1 6",
		"lookup both.nodenet.test 127.0.0.1 4",
		"attempt ::1 6",
		"failed ::1 connect ECONNREFUSED ::1:" + strconv.Itoa(port),
		"attempt 127.0.0.1 4",
		"connect 127.0.0.1",
	}
	if got := rec.String(); got != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// unusedPortAt holds port on ip with a bound, non-listening socket, and
// returns it (0 when the port is taken there).
func unusedPortAt(t *testing.T, ip netip.Addr, port int) int {
	t.Helper()
	fd, err := streamSocket(unix.AF_INET6, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet6{Addr: ip.As16(), Port: port}); err != nil {
		return 0
	}
	return port
}

func TestConnectAllAttemptsFail(t *testing.T) {
	port := unusedPort(t, netip.MustParseAddr("127.0.0.1"))
	if unusedPortAt(t, netip.MustParseAddr("::1"), port) == 0 {
		t.Skipf("skipping: [::1]:%d is in use", port)
	}
	r := newFakeDNS(t, map[string][]netip.Addr{"none.nodenet.test": {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}})
	_, err := Connect(connectCtx(t), ConnectOptions{Host: "none.nodenet.test", Port: port, Resolver: r})
	p := strconv.Itoa(port)
	// The resolver sorts as RFC 6724 says (as glibc's getaddrinfo does for
	// Node): ::1 before 127.0.0.1.
	want := "connect ECONNREFUSED ::1:" + p + "; connect ECONNREFUSED 127.0.0.1:" + p
	if err == nil || err.Error() != want || !isCode(err, "ECONNREFUSED") {
		t.Errorf("got %v, want %q with code ECONNREFUSED (Node's AggregateError)", err, want)
	}
}

// fullListener listens on ip with a backlog of 0 and fills its accept
// queue, so that the kernel drops further SYNs: a connection attempt to
// it hangs, as to a host that does not answer, without leaving loopback.
func fullListener(t *testing.T, ip netip.Addr) int {
	t.Helper()
	fd, err := streamSocket(unix.AF_INET6, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet6{Addr: ip.As16()}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	port := sa.(*unix.SockaddrInet6).Port
	for i := 0; i < 4; i++ {
		c, err := streamSocket(unix.AF_INET6, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(c) })
		unix.Connect(c, &unix.SockaddrInet6{Addr: ip.As16(), Port: port}) //nolint:errcheck // EINPROGRESS
	}
	time.Sleep(50 * time.Millisecond) // let the handshakes that can complete, complete
	return port
}

func TestConnectAttemptTimeout(t *testing.T) {
	port := fullListener(t, netip.MustParseAddr("::1"))
	srv := NewServer(ServerOptions{}, func(s *Socket) { s.Write([]byte("ok")) })
	if err := srv.Listen(context.Background(), ListenOptions{Host: "127.0.0.1", Port: port}); err != nil {
		t.Skipf("skipping: 127.0.0.1:%d: %v", port, err)
	}
	defer srv.Destroy()
	r := newFakeDNS(t, map[string][]netip.Addr{"slow.nodenet.test": {netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")}})
	rec := &recorder{}
	s, err := Connect(connectCtx(t), ConnectOptions{
		Host: "slow.nodenet.test", Port: port, Resolver: r, Hooks: rec.hooks(),
		AutoSelectFamilyAttemptTimeout: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("connect: %v\nevents:\n%s", err, rec)
	}
	defer s.Destroy(nil)
	got := rec.String()
	if !strings.Contains(got, "attempt ::1 6\ntimeout ::1\nattempt 127.0.0.1 4\nconnect 127.0.0.1") {
		t.Errorf("events:\n%s\nwant the ::1 attempt to time out, then 127.0.0.1 to connect", got)
	}
}

func TestConnectBlockedBeforeAnyPacket(t *testing.T) {
	// Nothing listens on the port: if a SYN were sent, the error would be
	// ECONNREFUSED.
	port := unusedPort(t, netip.MustParseAddr("127.0.0.1"))
	_, err := Connect(connectCtx(t), ConnectOptions{Host: "127.0.0.1", Port: port, BlockList: blockOne(netip.MustParseAddr("127.0.0.1"))})
	want := "ERR_IP_BLOCKED: IP(127.0.0.1) is blocked by net.BlockList"
	if err == nil || err.Error() != want || !isCode(err, "ERR_IP_BLOCKED") {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestConnectArgumentErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts ConnectOptions
		code string
		msg  string
	}{
		{"port", ConnectOptions{Port: 70000}, "ERR_SOCKET_BAD_PORT", "Port should be >= 0 and < 65536. Received type number (70000)."},
		{"local port", ConnectOptions{Port: 80, LocalPort: -1}, "ERR_SOCKET_BAD_PORT", "Port should be >= 0 and < 65536. Received type number (-1)."},
		{"local address", ConnectOptions{Port: 80, LocalAddress: "localhost"}, "ERR_INVALID_IP_ADDRESS", "Invalid IP address: localhost"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Connect(connectCtx(t), tt.opts)
			var ne *Error
			if !errors.As(err, &ne) || ne.Code != tt.code || ne.Message != tt.msg {
				t.Errorf("got %v, want %s: %s", err, tt.code, tt.msg)
			}
		})
	}
}

func TestConnectLocalPortBindError(t *testing.T) {
	srv := listenLocal(t, ServerOptions{}, nil)
	taken := listenLocal(t, ServerOptions{}, nil).Address().Port
	_, err := Connect(connectCtx(t), ConnectOptions{Host: "127.0.0.1", Port: srv.Address().Port, LocalAddress: "127.0.0.1", LocalPort: taken})
	want := "bind EADDRINUSE 127.0.0.1:" + strconv.Itoa(taken)
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestConnectPathNotFoundWording(t *testing.T) {
	path := t.TempDir() + "/nope.sock"
	_, err := Connect(connectCtx(t), ConnectOptions{Path: path})
	if want := "connect ENOENT " + path; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}
