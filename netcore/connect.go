package netcore

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// ConnectOptions are Node's net.connect options.
type ConnectOptions struct {
	// Host is a host name or an IP address; "" means "localhost".
	Host string
	// Port is the TCP port, 0 to 65535.
	Port int
	// Path, when set, connects to an IPC endpoint instead: a Unix socket
	// path, a Linux abstract name written "@name", or a Windows named
	// pipe (\\.\pipe\NAME). Host, Port, Family, the local address and
	// the happy-eyeballs and TCP options do not apply.
	Path string
	// Family restricts the lookup to IPv4 (4) or IPv6 (6); 0 takes both.
	Family int
	// LocalAddress and LocalPort bind the socket before connecting.
	LocalAddress string
	LocalPort    int
	// NoAutoSelectFamily turns happy eyeballs off (Node's
	// autoSelectFamily: false): only the first address is tried.
	NoAutoSelectFamily bool
	// AutoSelectFamilyAttemptTimeout is how long an attempt may take
	// before the next address is tried; 0 means Node's 500 ms, and
	// anything under 10 ms means 10 ms, as in Node.
	AutoSelectFamilyAttemptTimeout time.Duration
	// AllowHalfOpen keeps the socket writable after the peer ends.
	AllowHalfOpen bool
	// NoDelay turns Nagle's algorithm off (Node's default: on).
	NoDelay bool
	// KeepAlive turns TCP keep-alive on, probing after
	// KeepAliveInitialDelay (0: the system's delay).
	KeepAlive             bool
	KeepAliveInitialDelay time.Duration
	// TypeOfService sets the IP TOS byte when it is not 0.
	TypeOfService int
	// BlockList refuses to connect to a blocked address, before any
	// packet is sent: ERR_IP_BLOCKED.
	BlockList Blocker
	// Hooks are the socket's events, from 'lookup' on.
	Hooks *SocketHooks
	// Resolver looks host names up; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// TLS, when set, speaks TLS on the connection (Node's tls.connect):
	// the handshake follows 'connect' within ctx, then OnSecureConnect
	// fires. A failed handshake or verification is the error of Connect.
	TLS *TLSContext
	// Proxy, when set, connects through a SOCKS5 or HTTP CONNECT proxy
	// (see ParseProxy): Host and Port are the target, and the socket's
	// remote address is the proxy's. TLS, if set, runs in the tunnel.
	Proxy *Proxy
}

// DefaultAttemptTimeout is Node's autoSelectFamilyAttemptTimeout.
const DefaultAttemptTimeout = 500 * time.Millisecond

// minAttemptTimeout is the least attempt timeout Node accepts.
const minAttemptTimeout = 10 * time.Millisecond

// Connect opens a TCP connection as Node's net.connect does: it looks the
// host up, and when the name has addresses of both families and
// NoAutoSelectFamily is false, tries them one after the other, families
// alternating, giving each AutoSelectFamilyAttemptTimeout before moving
// on (the last one has no limit but ctx's). Errors are *Error with Node's
// wording: "connect ECONNREFUSED 127.0.0.1:8124", "getaddrinfo ENOTFOUND
// nosuchhost", "IP(10.0.0.1) is blocked by net.BlockList".
func Connect(ctx context.Context, opts ConnectOptions) (*Socket, error) {
	hooks := opts.Hooks
	if hooks == nil {
		hooks = &noHooks
	}
	if opts.Proxy != nil {
		c, err := dialProxy(ctx, opts, hooks)
		if err != nil {
			return nil, err
		}
		return secured(ctx, connected(c, opts, hooks), opts)
	}
	c, err := dialTCP(ctx, opts, hooks)
	if err != nil {
		return nil, err
	}
	return secured(ctx, connected(c, opts, hooks), opts)
}

// dialTCP is Connect without the Socket: the connection to opts.Path, or
// to Host and Port with happy eyeballs.
func dialTCP(ctx context.Context, opts ConnectOptions, hooks *SocketHooks) (net.Conn, error) {
	if opts.Path != "" {
		c, err := dialPath(ctx, opts.Path)
		if err != nil {
			return nil, pathError(err, "connect", opts.Path)
		}
		return c, nil
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, badPortError("Port", strconv.Itoa(opts.Port))
	}
	if opts.LocalPort < 0 || opts.LocalPort > 65535 {
		return nil, badPortError("Port", strconv.Itoa(opts.LocalPort))
	}
	local, host, err := localAndHost(opts.LocalAddress, opts.Host)
	if err != nil {
		return nil, err
	}
	timeout := opts.AutoSelectFamilyAttemptTimeout
	switch {
	case timeout == 0:
		timeout = DefaultAttemptTimeout
	case timeout < minAttemptTimeout:
		timeout = minAttemptTimeout
	}

	var addrs []netip.Addr
	multi := false
	if ip, ok := parseIP(host); ok {
		addrs = []netip.Addr{ip}
	} else {
		found, err := lookup(ctx, opts.Resolver, host, opts.Family)
		if err != nil {
			if hooks.OnLookup != nil {
				hooks.OnLookup(LookupEvent{Err: err, Host: host})
			}
			return nil, err
		}
		auto := opts.Family == 0 && !local.IsValid() && !opts.NoAutoSelectFamily
		if !auto {
			found = found[:1]
		}
		for _, a := range found {
			if hooks.OnLookup != nil {
				hooks.OnLookup(LookupEvent{Address: a.String(), Family: familyOf(a), Host: host})
			}
		}
		addrs = interleave(found)
		multi = len(addrs) > 1
	}

	var errs []*Error
	for i, addr := range addrs {
		att := Attempt{Address: addr.String(), Port: opts.Port, Family: familyOf(addr)}
		if opts.BlockList != nil && opts.BlockList.CheckAddr(addr) {
			e := codeError("ERR_IP_BLOCKED", "IP(%s) is blocked by net.BlockList", att.Address)
			e.Syscall, e.Address, e.Port = "connect", att.Address, opts.Port
			if !multi {
				return nil, e
			}
			errs = append(errs, e)
			if hooks.OnConnectionAttemptFailed != nil {
				hooks.OnConnectionAttemptFailed(att, e)
			}
			continue
		}
		if multi && hooks.OnConnectionAttempt != nil {
			hooks.OnConnectionAttempt(att)
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		last := i == len(addrs)-1
		if multi && !last {
			actx, cancel = context.WithTimeout(ctx, timeout)
		}
		c, err := dialOne(actx, addr, opts.Port, local, opts.LocalPort)
		// The dialer reports the deadline as its own timeout error, which
		// may come a moment before actx's timer has fired.
		attemptTimedOut := err != nil && ctx.Err() == nil && (actx.Err() != nil || isTimeout(err))
		cancel()
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			// The caller's deadline (--connect-timeout) or cancellation.
			return nil, dialError(ctx.Err(), att)
		}
		e := dialError(err, att)
		if attemptTimedOut {
			e = dialError(errTimeout, att)
			errs = append(errs, e)
			if hooks.OnConnectionAttemptTimeout != nil {
				hooks.OnConnectionAttemptTimeout(att)
			}
			continue
		}
		if !multi {
			return nil, e
		}
		errs = append(errs, e)
		if hooks.OnConnectionAttemptFailed != nil {
			hooks.OnConnectionAttemptFailed(att, e)
		}
	}
	return nil, aggregate(errs)
}

// connected wraps a new connection and applies the socket options.
func connected(c net.Conn, opts ConnectOptions, hooks *SocketHooks) *Socket {
	s := newSocket(c, hooks, opts.AllowHalfOpen)
	if tc, ok := c.(*net.TCPConn); ok {
		if !opts.NoDelay {
			tc.SetNoDelay(false) //nolint:errcheck // best effort, as in Node
		}
		if opts.KeepAlive {
			s.SetKeepAlive(true, opts.KeepAliveInitialDelay) //nolint:errcheck // best effort, as in Node
		}
		if opts.TypeOfService != 0 {
			s.SetTypeOfService(opts.TypeOfService) //nolint:errcheck // best effort, as in Node
		}
	}
	if hooks.OnConnect != nil {
		hooks.OnConnect(s)
	}
	return s
}

// secured runs the TLS handshake when opts ask for TLS; the socket is
// closed when it fails.
func secured(ctx context.Context, s *Socket, opts ConnectOptions) (*Socket, error) {
	if opts.TLS == nil {
		return s, nil
	}
	if err := opts.TLS.secure(ctx, s, opts.Host); err != nil {
		s.conn.Close() //nolint:errcheck // the handshake's error is the one to report
		return nil, err
	}
	return s, nil
}

// dialOne makes one connection attempt.
func dialOne(ctx context.Context, addr netip.Addr, port int, local netip.Addr, localPort int) (net.Conn, error) {
	d := net.Dialer{KeepAlive: -1} // Node's default: keep-alive off until asked
	if local.IsValid() || localPort != 0 {
		la := &net.TCPAddr{Port: localPort}
		if local.IsValid() {
			la.IP, la.Zone = local.AsSlice(), local.Zone()
		}
		d.LocalAddr = la
	}
	network := "tcp4"
	switch {
	case addr.Is4In6():
		// Node dials an IPv4-mapped address ("::ffff:127.0.0.1") on an
		// IPv6 socket, which the kernel connects over IPv4, and reports
		// both ends in that form. Go takes such an address for IPv4 and
		// refuses it on "tcp6"; on "tcp" it opens an IPv6 socket (not
		// IPv6-only) when the local address is IPv6.
		network = "tcp"
		if d.LocalAddr == nil {
			d.LocalAddr = &net.TCPAddr{IP: net.IPv6unspecified}
		}
	case addr.Is6():
		network = "tcp6"
	}
	return d.DialContext(ctx, network, netip.AddrPortFrom(addr, uint16(port)).String())
}

// dialError names a failed attempt as Node does: "connect ECONNREFUSED
// 127.0.0.1:8124", or "bind EADDRINUSE 0.0.0.0:5000" when the local
// address could not be bound.
func dialError(err error, att Attempt) *Error {
	if errors.Is(err, context.DeadlineExceeded) {
		err = errTimeout
	}
	var se *os.SyscallError
	var oe *net.OpError
	if errors.As(err, &se) && se.Syscall == "bind" && errors.As(err, &oe) {
		if la, ok := oe.Source.(*net.TCPAddr); ok {
			return sysError(err, "bind", addrOf(la).Address, la.Port)
		}
	}
	if errors.Is(err, context.Canceled) {
		e := sysError(err, "connect", att.Address, att.Port)
		e.Code, e.Message = "ECANCELED", "connect ECANCELED "+hostPort(att.Address, att.Port)
		return e
	}
	return sysError(err, "connect", att.Address, att.Port)
}

// aggregate is Node's NodeAggregateError for happy eyeballs: the code of
// the first failure, and every failure in the message.
func aggregate(errs []*Error) error {
	switch len(errs) {
	case 0:
		return codeError("ERR_SOCKET_CONNECTION_TIMEOUT", "Socket connection timeout")
	case 1:
		return errs[0]
	}
	msgs := make([]string, len(errs))
	inner := make([]error, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
		inner[i] = e
	}
	first := errs[0]
	return &Error{
		Code:    first.Code,
		Syscall: first.Syscall,
		Address: first.Address,
		Port:    first.Port,
		Message: strings.Join(msgs, "; "),
		Err:     errors.Join(inner...),
	}
}

// lookup resolves host as Node's dns.lookup does for net.connect: every
// address of the family asked, in the resolver's order.
func lookup(ctx context.Context, r *net.Resolver, host string, family int) ([]netip.Addr, error) {
	if r == nil {
		r = net.DefaultResolver
	}
	network := "ip"
	switch family {
	case 4:
		network = "ip4"
	case 6:
		network = "ip6"
	}
	addrs, err := r.LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, lookupError(err, host)
	}
	if len(addrs) == 0 {
		return nil, lookupError(&net.DNSError{Err: "no such host", Name: host, IsNotFound: true}, host)
	}
	for i, a := range addrs {
		if a.Is4In6() {
			addrs[i] = a.Unmap()
		}
	}
	return addrs, nil
}

// lookupError is Node's dnsException: "getaddrinfo ENOTFOUND nosuchhost".
func lookupError(err error, host string) *Error {
	code := "ENOTFOUND"
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			code = "ENOTFOUND"
		case de.IsTimeout, de.IsTemporary:
			code = "EAI_AGAIN"
		default:
			code = "EAI_FAIL"
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		code = "EAI_AGAIN"
	}
	return &Error{Code: code, Syscall: "getaddrinfo", Hostname: host, Message: "getaddrinfo " + code + " " + host, Err: err}
}

// interleave orders addresses as Node's happy eyeballs does: the family
// of the first address first, then alternating, each address once.
func interleave(addrs []netip.Addr) []netip.Addr {
	if len(addrs) < 2 {
		return addrs
	}
	var first, second []netip.Addr
	seen := map[netip.Addr]bool{}
	firstIs4 := addrs[0].Is4()
	for _, a := range addrs {
		if seen[a] {
			continue
		}
		seen[a] = true
		if a.Is4() == firstIs4 {
			first = append(first, a)
		} else {
			second = append(second, a)
		}
	}
	out := make([]netip.Addr, 0, len(first)+len(second))
	for i := 0; i < max(len(first), len(second)); i++ {
		if i < len(first) {
			out = append(out, first[i])
		}
		if i < len(second) {
			out = append(out, second[i])
		}
	}
	return out
}

// isTimeout reports whether err is a deadline or timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func familyOf(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// parseIP accepts what Node's isIP accepts as a literal address.
func parseIP(s string) (netip.Addr, bool) {
	if IsIP(s) == 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

// localAndHost checks the local address to bind (Node's localAddress;
// "" for any) and gives the host to reach, "localhost" when none is given,
// as Node's net.connect does.
func localAndHost(localAddress, host string) (netip.Addr, string, error) {
	var local netip.Addr
	if localAddress != "" {
		a, ok := parseIP(localAddress)
		if !ok {
			return local, "", codeError("ERR_INVALID_IP_ADDRESS", "Invalid IP address: %s", localAddress)
		}
		local = a
	}
	if host == "" {
		host = "localhost"
	}
	return local, host, nil
}
