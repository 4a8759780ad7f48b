package netcore

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestTLSResetAndDestroySendsRST: --rst over TLS resets the TCP
// connection beneath instead of closing it with a FIN. The server's
// kernel tells which came: a FIN leaves its socket in CLOSE_WAIT, an RST
// in CLOSE.
func TestTLSResetAndDestroySendsRST(t *testing.T) {
	certs := makeCerts(t)
	srv, err := NewServerTLS(TLSOptions{Cert: certs.Path("leaf.pem"), Key: certs.Path("leaf.key")})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	state := make(chan uint8, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			state <- 0
			return
		}
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		c := tls.Server(raw, srv.Config())
		io.ReadAll(c) // to close_notify, or the reset
		rc, _ := raw.(*net.TCPConn).SyscallConn()
		var st uint8
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			rc.Control(func(fd uintptr) {
				if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
					st = info.State
				}
			})
			if st != unix.BPF_TCP_ESTABLISHED {
				break
			}
		}
		state <- st
	}()
	cli, err := NewClientTLS(TLSOptions{CA: certs.Path("ca.pem")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Connect(ctx, ConnectOptions{Host: "localhost", Port: ln.Addr().(*net.TCPAddr).Port, TLS: cli})
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("x"))
	if err := s.ResetAndDestroy(); err != nil {
		t.Fatal(err)
	}
	if st := waitFor(t, state, "the server's socket state"); st != unix.BPF_TCP_CLOSE {
		t.Fatalf("the server's socket is in TCP state %d; want %d (CLOSE: reset; CLOSE_WAIT, %d, is a FIN)", st, unix.BPF_TCP_CLOSE, unix.BPF_TCP_CLOSE_WAIT)
	}
}
