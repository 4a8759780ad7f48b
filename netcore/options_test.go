//go:build linux

package netcore

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sockopt reads an integer socket option of c.
func sockopt(t *testing.T, c net.Conn, level, opt int) int {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	rc.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), level, opt) })
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

// TestSocketOptions checks each option on the socket itself, as the
// kernel reports it, for a client and for a server's connection.
func TestSocketOptions(t *testing.T) {
	tests := []struct {
		name        string
		client      ConnectOptions
		server      ServerOptions
		level, opt  int
		want        int
		wantOnServe bool // check the server's side instead of the client's
	}{
		{"nagle on by default (client)", ConnectOptions{}, ServerOptions{}, unix.IPPROTO_TCP, unix.TCP_NODELAY, 0, false},
		{"noDelay (client)", ConnectOptions{NoDelay: true}, ServerOptions{}, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1, false},
		{"nagle on by default (server)", ConnectOptions{}, ServerOptions{}, unix.IPPROTO_TCP, unix.TCP_NODELAY, 0, true},
		{"noDelay (server)", ConnectOptions{}, ServerOptions{NoDelay: true}, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1, true},
		{"keep-alive off by default (client)", ConnectOptions{}, ServerOptions{}, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 0, false},
		{"keep-alive (client)", ConnectOptions{KeepAlive: true}, ServerOptions{}, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1, false},
		{"keep-alive delay (client)", ConnectOptions{KeepAlive: true, KeepAliveInitialDelay: 42 * time.Second}, ServerOptions{}, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 42, false},
		{"keep-alive off by default (server)", ConnectOptions{}, ServerOptions{}, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 0, true},
		{"keep-alive (server)", ConnectOptions{}, ServerOptions{KeepAlive: true, KeepAliveInitialDelay: 17 * time.Second}, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 17, true},
		{"type of service", ConnectOptions{TypeOfService: 0x10}, ServerOptions{}, unix.IPPROTO_IP, unix.IP_TOS, 0x10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			served := make(chan int, 1)
			srv := listenLocal(t, tt.server, func(s *Socket) {
				served <- sockopt(t, s.Conn(), tt.level, tt.opt)
				<-s.Closed()
			})
			c := connectLocal(t, srv, tt.client)
			got := waitFor(t, served, "server")
			if !tt.wantOnServe {
				got = sockopt(t, c.Conn(), tt.level, tt.opt)
			}
			if got != tt.want {
				t.Errorf("option = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestConnectLocalAddress: the socket is bound to the local address asked.
// (The local port is proved by TestConnectLocalPortBindError: asking for a
// port that is taken fails with a bind error naming it.)
func TestConnectLocalAddress(t *testing.T) {
	srv := listenLocal(t, ServerOptions{}, func(s *Socket) { <-s.Closed() })
	c := connectLocal(t, srv, ConnectOptions{LocalAddress: "127.0.0.1"})
	if la := c.LocalAddr(); la.Address != "127.0.0.1" || la.Family != "IPv4" || la.Port == 0 {
		t.Errorf("local address %+v", la)
	}
}

func TestPauseOnConnect(t *testing.T) {
	got := make(chan string, 1)
	var paused *Socket
	ready := make(chan struct{})
	srv := listenLocal(t, ServerOptions{PauseOnConnect: true}, func(s *Socket) {
		paused = s
		close(ready)
		buf := make([]byte, 5)
		n, _ := s.Read(buf) // blocks until Resume
		got <- string(buf[:n])
	})
	c := connectLocal(t, srv, ConnectOptions{})
	c.Write([]byte("hello"))
	waitFor(t, ready, "handler")
	select {
	case v := <-got:
		t.Fatalf("a paused socket read %q before Resume", v)
	case <-time.After(100 * time.Millisecond):
	}
	paused.Resume()
	if v := waitFor(t, got, "read after Resume"); v != "hello" {
		t.Errorf("read %q", v)
	}
}

// TestConnectTimeoutAgainstSilentPeer: a peer that never answers the SYN
// (its accept queue is full) gives ETIMEDOUT at the caller's deadline.
func TestConnectTimeoutAgainstSilentPeer(t *testing.T) {
	port := fullListener(t, netip.MustParseAddr("::1"))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := Connect(ctx, ConnectOptions{Host: "::1", Port: port})
	want := "connect ETIMEDOUT ::1:" + strconv.Itoa(port)
	if err == nil || err.Error() != want || !isCode(err, "ETIMEDOUT") {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestExclusiveConflicts(t *testing.T) {
	err := NewServer(ServerOptions{}, nil).Listen(context.Background(), ListenOptions{Host: "127.0.0.1", Exclusive: true, ReusePort: true})
	if !isCode(err, "ERR_INVALID_ARG_VALUE") {
		t.Errorf("Exclusive with ReusePort: %v, want ERR_INVALID_ARG_VALUE", err)
	}
}
