package netcore

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseProxy(t *testing.T) {
	tests := []struct {
		in   string
		want Proxy
		err  string
	}{
		{in: "socks5://127.0.0.1:1080", want: Proxy{Scheme: "socks5", Host: "127.0.0.1", Port: 1080}},
		{in: "SOCKS5H://proxy.example:1080", want: Proxy{Scheme: "socks5h", Host: "proxy.example", Port: 1080}},
		{in: "http://bob:s%40cret@[::1]:3128/", want: Proxy{Scheme: "http", Host: "::1", Port: 3128, User: "bob", Password: "s@cret"}},
		{in: "socks5://bob@h:1", want: Proxy{Scheme: "socks5", Host: "h", Port: 1, User: "bob"}},
		{in: "ftp://h:21", err: `Invalid proxy URL "ftp://h:21": unknown scheme "ftp" (want socks5, socks5h or http)`},
		{in: "https://h:443", err: `unknown scheme "https"`},
		{in: "socks5://h", err: `Invalid proxy URL "socks5://h": no port`},
		{in: "socks5://h:0", err: `port 0 should be > 0 and < 65536`},
		{in: "socks5://h:70000", err: `port 70000 should be > 0 and < 65536`},
		{in: "socks5://:1080", err: `no host`},
		{in: "h:1080", err: `Invalid proxy URL "h:1080"`},
		{in: "127.0.0.1:1080", err: `Invalid proxy URL`},
		{in: "http://h:1/path", err: `no path, query or fragment`},
		{in: "http://:pw@h:1", err: `an empty user name`},
		{in: "http://bob:pw@h", err: `Invalid proxy URL "http://bob:xxxxx@h": no port`},
		{in: "socks5://" + strings.Repeat("u", 256) + ":p@h:1", err: `at most 255 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParseProxy(tt.in)
			if tt.err != "" {
				var ne *Error
				if !errors.As(err, &ne) || ne.Code != "ERR_PROXY_INVALID_CONFIG" || !ne.Usage || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseProxy(%q) = %v, want ERR_PROXY_INVALID_CONFIG usage error with %q", tt.in, err, tt.err)
				}
				if strings.Contains(err.Error(), "pw") {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil || *p != tt.want {
				t.Fatalf("ParseProxy(%q) = %+v, %v; want %+v", tt.in, p, err, tt.want)
			}
		})
	}
}

func FuzzParseProxy(f *testing.F) {
	for _, s := range []string{"socks5://a:b@h:1", "http://[::1]:3128", "socks5h://h", "x", "http://a:b@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProxy(s)
		if err != nil {
			if p != nil {
				t.Fatal("a proxy and an error")
			}
			return
		}
		if p.Port < 1 || p.Port > 65535 || p.Host == "" {
			t.Fatalf("ParseProxy(%q) = %+v", s, p)
		}
		// String round-trips, but for the password it hides.
		q, err := ParseProxy(p.String())
		if err != nil || q.Scheme != p.Scheme || q.Host != p.Host || q.Port != p.Port || q.User != p.User {
			t.Fatalf("ParseProxy(%q).String() = %q does not parse back: %+v, %v", s, p.String(), q, err)
		}
	})
}

// fakeProxy accepts one connection on a loopback port and hands it to
// serve; it returns the proxy's address.
func fakeProxy(t *testing.T, serve func(c net.Conn)) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // test bound
		serve(c)
	}()
	a := ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

func proxyConnect(t *testing.T, scheme, host string, port int, target string, targetPort int, timeout time.Duration) (*Socket, error) {
	t.Helper()
	p, err := ParseProxy(scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return Connect(ctx, ConnectOptions{Host: target, Port: targetPort, Proxy: p})
}

// TestProxySOCKSReply: a SOCKS5 server that answers the CONNECT with
// reply 0x02 (RFC 1928: "connection not allowed by ruleset") is named in
// ERR_PROXY_TUNNEL; the request it got names the target by name with
// socks5h.
func TestProxySOCKSReply(t *testing.T) {
	got := make(chan []byte, 1)
	host, port := fakeProxy(t, func(c net.Conn) {
		b := make([]byte, 3)
		io.ReadFull(c, b)     //nolint:errcheck // checked through got
		c.Write([]byte{5, 0}) //nolint:errcheck // the client reports
		req := make([]byte, 4+1+len("target.example")+2)
		io.ReadFull(c, req) //nolint:errcheck // checked through got
		got <- req
		c.Write([]byte{5, 2, 0, 1, 0, 0, 0, 0, 0, 0}) //nolint:errcheck // the client reports
	})
	_, err := proxyConnect(t, "socks5h", host, port, "target.example", 8080, 10*time.Second)
	var ne *Error
	if !errors.As(err, &ne) || ne.Code != "ERR_PROXY_TUNNEL" {
		t.Fatalf("err = %v, want ERR_PROXY_TUNNEL", err)
	}
	want := "ERR_PROXY_TUNNEL: Failed to establish tunnel to target.example:8080 via socks5h://" + net.JoinHostPort(host, strconv.Itoa(port)) + ": connection not allowed by ruleset"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	req := <-got
	wantReq := append([]byte{5, 1, 0, 3, byte(len("target.example"))}, "target.example"...)
	wantReq = append(wantReq, 8080>>8, 8080&0xff)
	if string(req) != string(wantReq) {
		t.Errorf("CONNECT request % x, want % x", req, wantReq)
	}
}

// TestProxyHTTPTunnelKeepsBytes: bytes a proxy sends right after its 200
// reply belong to the tunnel and reach the relay.
func TestProxyHTTPTunnelKeepsBytes(t *testing.T) {
	reqs := make(chan string, 1)
	host, port := fakeProxy(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		var req strings.Builder
		for {
			line, err := r.ReadString('\n')
			req.WriteString(line)
			if err != nil || line == "\r\n" {
				break
			}
		}
		reqs <- req.String()
		c.Write([]byte("HTTP/1.1 200 Connection established\r\nX-Via: test\r\n\r\nbanner from the target\n")) //nolint:errcheck // the client reports
	})
	s, err := proxyConnect(t, "http", host, port, "::1", 22, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy(nil)
	if got := <-reqs; got != "CONNECT [::1]:22 HTTP/1.1\r\nHost: [::1]:22\r\n\r\n" {
		t.Errorf("request %q", got)
	}
	b, err := io.ReadAll(s)
	if err != nil || string(b) != "banner from the target\n" {
		t.Errorf("tunnel read %q, %v", b, err)
	}
	if _, ok := s.Conn().(*net.TCPConn); !ok {
		t.Errorf("the tunnel is a %T, not the bare *net.TCPConn the relay splices", s.Conn())
	}
}

func TestProxyHTTPErrors(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		want  string
	}{
		{"status", "HTTP/1.1 403 Forbidden\r\n\r\n", "via http://%s: HTTP/1.1 403 Forbidden"},
		{"hang-up", "HTTP/1.1 200 OK\r\n", "Connection to establish proxy tunnel ended unexpectedly"},
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n", `via http://%s: not an HTTP reply: "SSH-2.0-OpenSSH"`},
		{"huge header", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: b\r\n", 3000), "Proxy response headers exceeded 16384 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port := fakeProxy(t, func(c net.Conn) {
				c.Read(make([]byte, 4096)) //nolint:errcheck // the request
				c.Write([]byte(tt.reply))  //nolint:errcheck // the client reports
			})
			_, err := proxyConnect(t, "http", host, port, "127.0.0.1", 80, 10*time.Second)
			var ne *Error
			want := strings.Replace(tt.want, "%s", net.JoinHostPort(host, strconv.Itoa(port)), 1)
			if !errors.As(err, &ne) || ne.Code != "ERR_PROXY_TUNNEL" || !strings.HasSuffix(err.Error(), want) {
				t.Fatalf("err = %v, want ERR_PROXY_TUNNEL ending %q", err, want)
			}
		})
	}
}

// TestProxyTimeout: a proxy that accepts and never answers is bounded by
// the caller's deadline, named as a connect timeout to the proxy.
func TestProxyTimeout(t *testing.T) {
	host, port := fakeProxy(t, func(c net.Conn) { io.Copy(io.Discard, c) }) //nolint:errcheck // until closed
	_, err := proxyConnect(t, "socks5", host, port, "127.0.0.1", 80, 200*time.Millisecond)
	var ne *Error
	if !errors.As(err, &ne) || ne.Code != "ETIMEDOUT" || ne.Port != port {
		t.Fatalf("err = %v, want connect ETIMEDOUT to the proxy", err)
	}
}

// TestProxyBlockList: an IP target that is blocked fails before the proxy
// is asked (or even reached).
func TestProxyBlockList(t *testing.T) {
	p, _ := ParseProxy("socks5://127.0.0.1:9")
	bl := blockOne(netip.MustParseAddr("10.1.2.3"))
	_, err := Connect(context.Background(), ConnectOptions{Host: "10.1.2.3", Port: 80, Proxy: p, BlockList: bl})
	var ne *Error
	if !errors.As(err, &ne) || ne.Code != "ERR_IP_BLOCKED" {
		t.Fatalf("err = %v, want ERR_IP_BLOCKED", err)
	}
}
