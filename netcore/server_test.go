package netcore

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 10 * time.Second

// listenLocal starts a server on 127.0.0.1:0 and closes it at the end of
// the test.
func listenLocal(t *testing.T, opts ServerOptions, handler func(*Socket)) *Server {
	t.Helper()
	srv := NewServer(opts, handler)
	if err := srv.Listen(context.Background(), ListenOptions{Host: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Destroy)
	return srv
}

// dialLocal connects to a's port on 127.0.0.1 with the standard library.
func dialLocal(t *testing.T, a Addr) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port)), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// waitFor fails the test when ch is not closed or sent on in time.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// readAll reads c to EOF within the test timeout.
func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(testTimeout))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func TestListenDefaultHostIsDualStack(t *testing.T) {
	srv := NewServer(ServerOptions{}, func(s *Socket) {
		s.Write([]byte(s.RemoteAddr().Address))
	})
	if err := srv.Listen(context.Background(), ListenOptions{}); err != nil {
		t.Fatal(err)
	}
	defer srv.Destroy()
	a := srv.Address()
	if a.Address != "::" || a.Family != "IPv6" || a.Port == 0 {
		t.Fatalf("Address() = %+v, want :: IPv6 with a port", a)
	}
	// An IPv4 client reaches the "::" listener and is seen, as in Node,
	// as an IPv4-mapped IPv6 address.
	got := readAll(t, dialLocal(t, a))
	if got != "::ffff:127.0.0.1" {
		t.Errorf("remote address seen by the server = %q, want ::ffff:127.0.0.1", got)
	}
}

func TestListenAddressInUseWording(t *testing.T) {
	srv := listenLocal(t, ServerOptions{}, nil)
	port := srv.Address().Port
	err := NewServer(ServerOptions{}, nil).Listen(context.Background(), ListenOptions{Host: "127.0.0.1", Port: port})
	var ne *Error
	if !errors.As(err, &ne) {
		t.Fatalf("error %v is not a *netcore.Error", err)
	}
	want := "listen EADDRINUSE: address already in use 127.0.0.1:" + strconv.Itoa(port)
	if ne.Code != "EADDRINUSE" || ne.Syscall != "listen" || ne.Error() != want {
		t.Errorf("got code %q syscall %q message %q, want EADDRINUSE listen %q", ne.Code, ne.Syscall, ne.Error(), want)
	}
}

func TestListenBacklog(t *testing.T) {
	ss, err := exec.LookPath("ss")
	if err != nil {
		t.Skip("skipping: ss (iproute2) is not installed")
	}
	for _, tt := range []struct {
		name    string
		backlog int
		want    string
	}{
		{"node default", 0, "511"},
		{"asked", 17, "17"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewServer(ServerOptions{}, nil)
			if err := srv.Listen(context.Background(), ListenOptions{Host: "127.0.0.1", Backlog: tt.backlog}); err != nil {
				t.Fatal(err)
			}
			defer srv.Destroy()
			// ss shows a listening socket's backlog as its Send-Q.
			out, err := exec.Command(ss, "-Hltn", "sport = :"+strconv.Itoa(srv.Address().Port)).Output()
			if err != nil {
				t.Fatal(err)
			}
			fields := strings.Fields(string(out))
			if len(fields) < 3 || fields[2] != tt.want {
				t.Errorf("ss line %q: want Send-Q (backlog) %s", out, tt.want)
			}
		})
	}
}

func TestReusePortSharesThePort(t *testing.T) {
	a := NewServer(ServerOptions{}, nil)
	if err := a.Listen(context.Background(), ListenOptions{Host: "127.0.0.1", ReusePort: true}); err != nil {
		t.Fatal(err)
	}
	defer a.Destroy()
	b := NewServer(ServerOptions{}, nil)
	if err := b.Listen(context.Background(), ListenOptions{Host: "127.0.0.1", Port: a.Address().Port, ReusePort: true}); err != nil {
		t.Fatalf("second listener with ReusePort: %v", err)
	}
	defer b.Destroy()
	c := NewServer(ServerOptions{}, nil)
	err := c.Listen(context.Background(), ListenOptions{Host: "127.0.0.1", Port: a.Address().Port})
	if !isCode(err, "EADDRINUSE") {
		t.Errorf("third listener without ReusePort: got %v, want EADDRINUSE", err)
	}
}

// TestWorkersShareOneSocket: accept loops share one listening socket, so
// no other listener can join the port, with SO_REUSEPORT or without;
// with ReusePort each loop binds a socket of its own.
func TestWorkersShareOneSocket(t *testing.T) {
	for _, tt := range []struct {
		name      string
		reusePort bool
		sockets   int
	}{
		{name: "default", sockets: 1},
		{name: "reusePort", reusePort: true, sockets: 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			served := 0
			srv := NewServer(ServerOptions{}, func(s *Socket) {
				mu.Lock()
				served++
				mu.Unlock()
				s.Write([]byte("x"))
			})
			if err := srv.Listen(context.Background(), ListenOptions{Host: "127.0.0.1", Workers: 3, ReusePort: tt.reusePort}); err != nil {
				t.Fatal(err)
			}
			defer srv.Destroy()
			if n := len(srv.listeners); n != tt.sockets {
				t.Fatalf("%d listening sockets, want %d", n, tt.sockets)
			}
			for i := 0; i < 20; i++ {
				if got := readAll(t, dialLocal(t, srv.Address())); got != "x" {
					t.Fatalf("connection %d read %q", i, got)
				}
			}
			mu.Lock()
			if served != 20 {
				t.Errorf("served %d connections, want 20", served)
			}
			mu.Unlock()
			if !tt.reusePort {
				for _, reuse := range []bool{false, true} {
					other := NewServer(ServerOptions{}, nil)
					err := other.Listen(context.Background(), ListenOptions{Host: "127.0.0.1", Port: srv.Address().Port, ReusePort: reuse})
					if err == nil {
						other.Destroy()
					}
					if !isCode(err, "EADDRINUSE") {
						t.Errorf("another listener (reusePort %v) on the port of three loops: %v; want EADDRINUSE", reuse, err)
					}
				}
			}
		})
	}
}

func TestIPv6OnlyRefusesIPv4(t *testing.T) {
	srv := NewServer(ServerOptions{}, nil)
	if err := srv.Listen(context.Background(), ListenOptions{Host: "::", IPv6Only: true}); err != nil {
		t.Fatal(err)
	}
	defer srv.Destroy()
	_, err := net.DialTimeout("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.Address().Port)), testTimeout)
	if err == nil {
		t.Fatal("an IPv4 client reached an IPv6-only listener")
	}
	c, err := net.DialTimeout("tcp6", net.JoinHostPort("::1", strconv.Itoa(srv.Address().Port)), testTimeout)
	if err != nil {
		t.Fatalf("IPv6 client: %v", err)
	}
	c.Close()
}

func TestMaxConnectionsDrops(t *testing.T) {
	for _, max := range []int{0, 1, 2} {
		t.Run(strconv.Itoa(max), func(t *testing.T) {
			drops := make(chan DropInfo, 10)
			release := make(chan struct{})
			srv := listenLocal(t, ServerOptions{Hooks: ServerHooks{OnDrop: func(d DropInfo) { drops <- d }}},
				func(s *Socket) {
					s.Write([]byte("in"))
					<-release
				})
			srv.SetMaxConnections(max)
			defer close(release)
			// Open max+2 connections one after another: the first max are
			// served and held, the other two dropped.
			for i := 0; i < max+2; i++ {
				c := dialLocal(t, srv.Address())
				c.SetReadDeadline(time.Now().Add(testTimeout))
				buf := make([]byte, 2)
				n, err := io.ReadFull(c, buf)
				if i < max {
					if err != nil || string(buf[:n]) != "in" {
						t.Fatalf("connection %d: read %q, %v; want it served", i, buf[:n], err)
					}
					continue
				}
				if n != 0 {
					t.Fatalf("connection %d beyond the limit read %q", i, buf[:n])
				}
				d := waitFor(t, drops, "drop event")
				if d.Remote.Address != "127.0.0.1" || d.Local.Port != srv.Address().Port || d.Remote.Family != "IPv4" {
					t.Errorf("drop payload %+v", d)
				}
			}
			if n := srv.Connections(); n != max {
				t.Errorf("Connections() = %d, want %d", n, max)
			}
		})
	}
}

// blockAll is a Blocker that blocks one address.
type blockOne netip.Addr

func (b blockOne) CheckAddr(a netip.Addr) bool { return a.Unmap() == netip.Addr(b) }

func TestBlockListClosesBeforeReading(t *testing.T) {
	blocked := make(chan DropInfo, 1)
	handled := make(chan struct{}, 1)
	srv := listenLocal(t, ServerOptions{
		BlockList: blockOne(netip.MustParseAddr("127.0.0.1")),
		Hooks:     ServerHooks{OnBlocked: func(d DropInfo) { blocked <- d }},
	}, func(*Socket) { handled <- struct{}{} })
	c := dialLocal(t, srv.Address())
	c.Write([]byte("ignored")) //nolint:errcheck // may fail: the server closed
	d := waitFor(t, blocked, "blocked event")
	if d.Remote.Address != "127.0.0.1" {
		t.Errorf("blocked %+v", d)
	}
	// The server closes without reading: a FIN, or a RST when "ignored"
	// had arrived by then (the kernel resets a socket closed with unread
	// data). Either way the client reads nothing.
	c.SetReadDeadline(time.Now().Add(testTimeout))
	got, err := io.ReadAll(c)
	if len(got) != 0 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
		t.Errorf("blocked client read %q, %v; want nothing, then EOF or ECONNRESET", got, err)
	}
	select {
	case <-handled:
		t.Error("the handler ran for a blocked connection")
	default:
	}
}

func TestCloseIsGraceful(t *testing.T) {
	closed := make(chan struct{})
	proceed := make(chan struct{})
	srv := listenLocal(t, ServerOptions{Hooks: ServerHooks{OnClose: func() { close(closed) }}}, func(s *Socket) {
		<-proceed
		s.Write([]byte("bye"))
	})
	addr := srv.Address()
	c := dialLocal(t, addr)
	// Wait until the server has the connection before closing.
	for deadline := time.Now().Add(testTimeout); srv.Connections() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server never saw the connection")
		}
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(addr.Port)), testTimeout); err == nil {
		t.Error("a closed server accepted a new connection")
	}
	select {
	case <-closed:
		t.Fatal("close fired while a connection was open")
	default:
	}
	close(proceed)
	if got := readAll(t, c); got != "bye" {
		t.Errorf("the open connection read %q, want bye", got)
	}
	waitFor(t, closed, "close event")
	if err := srv.Close(); !isCode(err, "ERR_SERVER_NOT_RUNNING") {
		t.Errorf("second Close: %v, want ERR_SERVER_NOT_RUNNING", err)
	}
}

func TestDestroyClosesConnections(t *testing.T) {
	srv := listenLocal(t, ServerOptions{}, func(s *Socket) { <-s.Closed() })
	c := dialLocal(t, srv.Address())
	for deadline := time.Now().Add(testTimeout); srv.Connections() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server never saw the connection")
		}
	}
	srv.Destroy()
	readAll(t, c) // returns at EOF: the server closed it
	waitFor(t, srv.Done(), "Done")
}

func isCode(err error, code string) bool {
	var ne *Error
	return errors.As(err, &ne) && ne.Code == code
}
