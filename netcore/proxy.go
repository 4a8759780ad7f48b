package netcore

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/proxy"
)

// Proxy is a proxy that Connect tunnels through: SOCKS5 (RFC 1928, with
// RFC 1929's username and password) or an HTTP proxy's CONNECT method
// (RFC 9110, with Basic authentication).
type Proxy struct {
	// Scheme is "socks5" (the target's name is looked up here, and the
	// proxy is given an address), "socks5h" (the proxy looks the name up)
	// or "http" (CONNECT; the proxy looks the name up).
	Scheme string
	// Host and Port are the proxy's own address.
	Host string
	Port int
	// User and Password authenticate to the proxy when User is not "".
	User     string
	Password string
}

// maxProxyHeader is the most an HTTP proxy's reply header may take, as in
// Node's proxy tunnel (its default maxHeaderSize).
const maxProxyHeader = 16 << 10

// ParseProxy reads a proxy URL: socks5://[user:pass@]host:port,
// socks5h://[user:pass@]host:port or http://[user:pass@]host:port. The
// port is required. A URL it cannot use fails with Node's
// ERR_PROXY_INVALID_CONFIG, marked as a usage error.
func ParseProxy(s string) (*Proxy, error) {
	bad := func(why string) error {
		e := codeError("ERR_PROXY_INVALID_CONFIG", "Invalid proxy URL %s: %s", strconv.Quote(redactURL(s)), why)
		e.Usage = true
		return e
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" {
		return nil, bad("want socks5://, socks5h:// or http://[user:pass@]host:port")
	}
	p := &Proxy{Scheme: strings.ToLower(u.Scheme)}
	switch p.Scheme {
	case "socks5", "socks5h", "http":
	case "":
		return nil, bad("no scheme (want socks5, socks5h or http)")
	default:
		return nil, bad("unknown scheme " + strconv.Quote(u.Scheme) + " (want socks5, socks5h or http)")
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return nil, bad("a proxy URL has no path, query or fragment")
	}
	p.Host = u.Hostname()
	if p.Host == "" {
		return nil, bad("no host")
	}
	if strings.Contains(p.Host, ":") && !strings.HasPrefix(u.Host, "[") {
		// socks5://::1 reads as host ":" and port 1: an IPv6 address
		// needs its brackets, as in socks5://[::1]:1080.
		return nil, bad("an IPv6 address goes in brackets: [" + u.Host + "]:PORT")
	}
	port := u.Port()
	if port == "" {
		return nil, bad("no port")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return nil, bad("port " + port + " should be > 0 and < 65536")
	}
	p.Port = n
	if u.User != nil {
		p.User = u.User.Username()
		p.Password, _ = u.User.Password()
		if p.User == "" {
			return nil, bad("an empty user name")
		}
		if strings.HasPrefix(p.Scheme, "socks5") && (len(p.User) > 255 || len(p.Password) > 255) {
			return nil, bad("SOCKS5 takes a user name and password of at most 255 bytes")
		}
	}
	return p, nil
}

// String is the proxy's URL with the password hidden, as errors show it.
func (p *Proxy) String() string {
	u := url.URL{Scheme: p.Scheme, Host: net.JoinHostPort(p.Host, strconv.Itoa(p.Port))}
	if p.User != "" {
		u.User = url.UserPassword(p.User, "xxxxx")
		if p.Password == "" {
			u.User = url.User(p.User)
		}
	}
	return u.String()
}

// redactURL hides the password of a URL that may not parse.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// dialProxy connects to opts.Proxy as Connect connects to any host (with
// its lookup, happy eyeballs, block list and errors, which then name the
// proxy's address), and asks it for a tunnel to opts.Host and opts.Port.
// It returns the connection to the proxy itself, so that the relay still
// hands the kernel a bare *net.TCPConn.
func dialProxy(ctx context.Context, opts ConnectOptions, hooks *SocketHooks) (net.Conn, error) {
	p := opts.Proxy
	if opts.Path != "" {
		e := codeError("ERR_INVALID_ARG_VALUE", "a proxy tunnels TCP connections only, not to %s", opts.Path)
		e.Usage = true
		return nil, e
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, badPortError("Port", strconv.Itoa(opts.Port))
	}
	host := opts.Host
	if host == "" {
		host = "localhost"
	}
	if ip, ok := parseIP(host); ok && opts.BlockList != nil && opts.BlockList.CheckAddr(ip) {
		e := codeError("ERR_IP_BLOCKED", "IP(%s) is blocked by net.BlockList", ip)
		e.Syscall, e.Address, e.Port = "connect", ip.String(), opts.Port
		return nil, e
	}
	popts := opts
	popts.Host, popts.Port, popts.Proxy = p.Host, p.Port, nil
	c, err := dialTCP(ctx, popts, hooks)
	if err != nil {
		return nil, err
	}
	target, err := p.target(ctx, opts, host)
	if err != nil {
		c.Close()
		return nil, err
	}
	// The handshake obeys ctx: its deadline, and its cancellation (a
	// signal), which unblocks a proxy that never answers.
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d) //nolint:errcheck // a closed conn fails the handshake anyway
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) }) //nolint:errcheck // as above
	if p.Scheme == "http" {
		err = p.httpConnect(c, target)
	} else {
		err = p.socksConnect(ctx, c, target)
	}
	stop()
	if err == nil {
		err = c.SetDeadline(time.Time{})
	}
	if err != nil {
		c.Close()
		// The conn's deadline is ctx's, and may fire a moment before
		// ctx says so.
		if ctx.Err() != nil || isTimeout(err) {
			cause := ctx.Err()
			if cause == nil {
				cause = errTimeout
			}
			return nil, dialError(cause, Attempt{Address: p.Host, Port: p.Port})
		}
		return nil, p.tunnelError(target, err)
	}
	return c, nil
}

// target is the address the proxy is asked for: with socks5 the name is
// looked up here (and checked against the block list); otherwise the
// proxy gets the name as it was given.
func (p *Proxy) target(ctx context.Context, opts ConnectOptions, host string) (string, error) {
	if p.Scheme != "socks5" {
		return net.JoinHostPort(host, strconv.Itoa(opts.Port)), nil
	}
	ip, ok := parseIP(host)
	if !ok {
		addrs, err := lookup(ctx, opts.Resolver, host, opts.Family)
		if err != nil {
			return "", err
		}
		ip = addrs[0]
	}
	if opts.BlockList != nil && opts.BlockList.CheckAddr(ip) {
		e := codeError("ERR_IP_BLOCKED", "IP(%s) is blocked by net.BlockList", ip)
		e.Syscall, e.Address, e.Port = "connect", ip.String(), opts.Port
		return "", e
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(opts.Port)), nil
}

// socksConnect runs the SOCKS5 handshake on c with golang.org/x/net/proxy.
func (p *Proxy) socksConnect(ctx context.Context, c net.Conn, target string) error {
	var auth *proxy.Auth
	if p.User != "" {
		auth = &proxy.Auth{User: p.User, Password: p.Password}
	}
	d, err := proxy.SOCKS5("tcp", net.JoinHostPort(p.Host, strconv.Itoa(p.Port)), auth, nil)
	if err != nil {
		return err
	}
	// x/net's SOCKS dialer can run its handshake on a connection it did
	// not make; keeping our own connection keeps Node's errors for the
	// proxy and the bare *net.TCPConn for the relay.
	wc, ok := d.(interface {
		DialWithConn(ctx context.Context, c net.Conn, network, address string) (net.Addr, error)
	})
	if !ok {
		return errors.New("golang.org/x/net/proxy: the SOCKS5 dialer cannot use a given connection")
	}
	_, err = wc.DialWithConn(ctx, c, "tcp", target)
	return err
}

// httpConnect asks an HTTP proxy for a tunnel with CONNECT and reads its
// reply header a byte at a time, so that no byte of the tunnel that may
// follow it is read into a buffer and lost to the relay.
func (p *Proxy) httpConnect(c net.Conn, target string) error {
	var req bytes.Buffer
	req.WriteString("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n")
	if p.User != "" {
		req.WriteString("Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(p.User+":"+p.Password)) + "\r\n")
	}
	req.WriteString("\r\n")
	if _, err := c.Write(req.Bytes()); err != nil {
		return err
	}
	var head []byte
	b := make([]byte, 1)
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		if len(head) >= maxProxyHeader {
			return &tunnelRefused{msg: "Proxy response headers exceeded " + strconv.Itoa(maxProxyHeader) + " bytes"}
		}
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		head = append(head, b[0])
	}
	status, _, _ := bytes.Cut(head, []byte("\r\n"))
	f := strings.Fields(string(status))
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return &tunnelRefused{reply: "not an HTTP reply: " + strconv.Quote(string(status))}
	}
	// Node accepts 200 only; RFC 9110 makes any 2xx a tunnel.
	if code, err := strconv.Atoi(f[1]); err != nil || code < 200 || code > 299 {
		return &tunnelRefused{reply: string(status)}
	}
	return nil
}

// tunnelRefused is a proxy's refusal: the HTTP status line or a message.
type tunnelRefused struct{ reply, msg string }

func (e *tunnelRefused) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return e.reply
}

// tunnelError words a failed handshake as Node's ERR_PROXY_TUNNEL: "Failed
// to establish tunnel to HOST:PORT via URL: REPLY", REPLY being the HTTP
// status line or the SOCKS reply, and "Connection to establish proxy
// tunnel ended unexpectedly" when the proxy hung up.
func (p *Proxy) tunnelError(target string, err error) *Error {
	e := &Error{Code: "ERR_PROXY_TUNNEL", Syscall: "connect", Address: p.Host, Port: p.Port, Err: err}
	var tr *tunnelRefused
	var oe *net.OpError
	switch {
	case errors.As(err, &tr) && tr.msg != "":
		e.Message = tr.msg
		return e
	case errors.As(err, &tr):
		e.Message = "Failed to establish tunnel to " + target + " via " + p.String() + ": " + tr.reply
		return e
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e.Message = "Connection to establish proxy tunnel ended unexpectedly"
		return e
	case errors.As(err, &oe) && oe.Err != nil:
		err = oe.Err // x/net's "socks connect" wrapper
	}
	if _, ok := Errno(err); ok {
		// The proxy reset the connection (or it timed out) mid-handshake.
		se := sysError(err, "read", p.Host, p.Port)
		se.Message = "Connection to establish proxy tunnel ended unexpectedly: " + se.Message
		se.Code = "ERR_PROXY_TUNNEL"
		se.Err = err
		return se
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		e.Message = "Connection to establish proxy tunnel ended unexpectedly"
		return e
	}
	// x/net words a SOCKS reply as "unknown error " + RFC 1928's name of
	// it ("connection refused", "host unreachable").
	reply := strings.TrimPrefix(err.Error(), "unknown error ")
	e.Message = "Failed to establish tunnel to " + target + " via " + p.String() + ": " + reply
	return e
}
