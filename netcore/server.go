package netcore

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Blocker decides whether an address is blocked: *blocklist.BlockList
// satisfies it. It must be safe for concurrent use.
type Blocker interface {
	CheckAddr(addr netip.Addr) bool
}

// ServerOptions are Node's net.createServer options.
type ServerOptions struct {
	// AllowHalfOpen keeps a connection writable after the client ends
	// (Node's default: false, the server ends its side too).
	AllowHalfOpen bool
	// PauseOnConnect hands each connection to the handler paused: nothing
	// is read until Socket.Resume.
	PauseOnConnect bool
	// NoDelay turns Nagle's algorithm off on every connection. Node's
	// default is false (Nagle on), and so is netcore's, though Go's own
	// default is the opposite.
	NoDelay bool
	// KeepAlive turns TCP keep-alive on for every connection, probing
	// after KeepAliveInitialDelay (0: the system's delay). Node's default
	// is off, and so is netcore's, though Go's own default is on.
	KeepAlive             bool
	KeepAliveInitialDelay time.Duration
	// BlockList, when set, closes a connection from a blocked address at
	// once, before a byte is read (Hooks.OnBlocked).
	BlockList Blocker
	// Hooks are the server's events; SocketHooks are given to every
	// connection.
	Hooks       ServerHooks
	SocketHooks *SocketHooks
}

// ServerHooks are a Server's events, named as Node names them. Every
// field is optional; hooks run synchronously and must not block.
type ServerHooks struct {
	// OnListening is Node's 'listening', with server.address().
	OnListening func(Addr)
	// OnConnection is Node's 'connection', before the handler runs.
	OnConnection func(*Socket)
	// OnDrop is Node's 'drop': a connection closed at once because
	// MaxConnections were open.
	OnDrop func(DropInfo)
	// OnBlocked reports a connection closed at once because its address
	// is in the BlockList (Node closes it without an event).
	OnBlocked func(DropInfo)
	// OnError reports an accept failure. When the process is out of
	// descriptors or memory (EMFILE, ENFILE), the server goes on serving
	// the connections it has and retries with a growing pause; that is
	// reported once, not at every retry. Any other failure stops
	// accepting.
	OnError func(error)
	// OnClose is Node's 'close': the server has stopped listening and
	// its last connection has ended.
	OnClose func()
	// OnStaleRemoved reports that Listen removed a stale socket file (a
	// socket nobody accepted on) at path before binding it again.
	OnStaleRemoved func(path string)
}

// DropInfo is the payload of Node's 'drop' event: the local and remote
// ends of the connection that was closed.
type DropInfo struct {
	Local, Remote Addr
}

// ListenOptions are Node's server.listen options.
type ListenOptions struct {
	// Host is the address to listen on; "" listens on "::" (dual-stack,
	// IPv4 clients seen as ::ffff:a.b.c.d) or, where IPv6 is unavailable,
	// on "0.0.0.0". A host name listens on its first address.
	Host string
	// Port 0 asks the system for one; Server.Address tells which.
	Port int
	// Path, when set, listens on an IPC endpoint instead: a Unix socket
	// path, a Linux abstract name "@name", or a Windows named pipe.
	Path string
	// ReadableAll and WritableAll add read and write permission for all
	// users to the socket file's mode (IPC only).
	ReadableAll, WritableAll bool
	// Backlog is the listen queue length; 0 means Node's 511.
	Backlog int
	// Exclusive is Node's cluster option. nodenet has no cluster, so it
	// means the port is never shared: it conflicts with ReusePort and
	// Workers.
	Exclusive bool
	// IPv6Only makes an IPv6 listener refuse IPv4 clients.
	IPv6Only bool
	// ReusePort sets SO_REUSEPORT, so that several listeners (in this
	// process or others) share the port (current Node's reusePort).
	ReusePort bool
	// Workers is the number of listening sockets, each with its own
	// accept loop, sharing the port through SO_REUSEPORT so that the
	// kernel spreads connections over them. 0 or 1 means one.
	Workers int
	// Listener, when set, is served as it is (an inherited or activated
	// socket); the fields above are ignored.
	Listener net.Listener
}

// DefaultBacklog is Node's listen backlog.
const DefaultBacklog = 511

// Server is Node's net.Server: it listens, accepts, and runs a handler
// per connection on its own goroutine. When the handler returns, the
// connection is destroyed if it is still open.
type Server struct {
	opts    ServerOptions
	handler func(*Socket)

	mu        sync.Mutex
	listeners []net.Listener
	addr      Addr
	conns     map[*Socket]struct{}
	maxConns  int // < 0: no limit
	listening bool
	closing   bool
	stopping  chan struct{} // closed by Close: accept loops stop waiting
	done      chan struct{} // closed when the last connection has ended
	accepting sync.WaitGroup
}

// NewServer returns a Server that runs handler for each connection, as
// net.createServer(options, connectionListener) does.
func NewServer(opts ServerOptions, handler func(*Socket)) *Server {
	return &Server{
		opts:     opts,
		handler:  handler,
		conns:    map[*Socket]struct{}{},
		maxConns: -1,
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// SetMaxConnections is Node's server.maxConnections: once n connections
// are open, further ones are closed at once (Hooks.OnDrop). 0 drops every
// connection, as in current Node; a negative n removes the limit (the
// default).
func (s *Server) SetMaxConnections(n int) {
	s.mu.Lock()
	s.maxConns = n
	s.mu.Unlock()
}

// Connections is the number of open connections (Node's getConnections).
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Address is Node's server.address(): the address actually bound.
func (s *Server) Address() Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Done is closed when the server has closed: it stopped listening and
// its last connection ended.
func (s *Server) Done() <-chan struct{} { return s.done }

// Listen binds and starts accepting in the background, as Node's
// server.listen does; it returns once the server is listening, after
// Hooks.OnListening. Errors are *Error with Node's wording ("listen
// EADDRINUSE: address already in use :::8124").
func (s *Server) Listen(ctx context.Context, lo ListenOptions) error {
	s.mu.Lock()
	if s.listening || s.closing {
		s.mu.Unlock()
		return codeError("ERR_SERVER_ALREADY_LISTEN", "Listen method has been called more than once without closing.")
	}
	s.mu.Unlock()
	lns, err := Bind(ctx, lo, s.opts.Hooks.OnStaleRemoved)
	if err != nil {
		return err
	}
	return s.Serve(lns...)
}

// Bind binds the listening sockets lo asks for without serving them:
// Workers TCP sockets sharing a port, an IPC endpoint (a stale socket file
// is removed and reported to onStaleRemoved, which may be nil), or
// lo.Listener as it is. Server.Listen is Bind then Serve; an event loop of
// its own (EchoReactor) serves them instead. Errors are worded as Node's
// server.listen words them.
func Bind(ctx context.Context, lo ListenOptions, onStaleRemoved func(path string)) ([]net.Listener, error) {
	if lo.Path != "" && lo.Listener == nil {
		return listenPath(ctx, lo, onStaleRemoved)
	}
	return listenTCP(ctx, lo)
}

// Serve accepts on listeners that are already bound (a listening Unix
// socket, an inherited fd) and returns once it is accepting.
func (s *Server) Serve(lns ...net.Listener) error {
	if len(lns) == 0 {
		return errors.New("netcore: Serve needs a listener")
	}
	s.mu.Lock()
	if s.listening || s.closing {
		s.mu.Unlock()
		for _, ln := range lns {
			ln.Close()
		}
		return codeError("ERR_SERVER_ALREADY_LISTEN", "Listen method has been called more than once without closing.")
	}
	s.listening = true
	s.listeners = lns
	s.addr = addrOf(lns[0].Addr())
	addr := s.addr
	s.accepting.Add(len(lns))
	s.mu.Unlock()
	if s.opts.Hooks.OnListening != nil {
		s.opts.Hooks.OnListening(addr)
	}
	for _, ln := range lns {
		go s.acceptLoop(ln)
	}
	return nil
}

// acceptLoop accepts until the listener is closed.
func (s *Server) acceptLoop(ln net.Listener) {
	defer s.accepting.Done()
	report := func(err error) {
		if s.opts.Hooks.OnError != nil {
			s.opts.Hooks.OnError(sysError(err, "accept", "", 0))
		}
	}
	backoff := acceptBackoff{onLimit: report, stop: s.stopping}
	for {
		c, err := ln.Accept()
		if err != nil {
			if backoff.Wait(err) {
				continue
			}
			if !errors.Is(err, net.ErrClosed) {
				report(err)
			}
			return
		}
		backoff.Reset()
		s.serveConn(c)
	}
}

// serveConn checks a new connection against MaxConnections and the
// BlockList, in Node's order, then runs the handler.
func (s *Server) serveConn(c net.Conn) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		c.Close()
		return
	}
	if s.maxConns >= 0 && len(s.conns) >= s.maxConns {
		s.mu.Unlock()
		info := DropInfo{Local: addrOf(c.LocalAddr()), Remote: addrOf(c.RemoteAddr())}
		c.Close()
		if s.opts.Hooks.OnDrop != nil {
			s.opts.Hooks.OnDrop(info)
		}
		return
	}
	s.mu.Unlock()
	if bl := s.opts.BlockList; bl != nil {
		if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			if ip, ok := netip.AddrFromSlice(ta.IP); ok && bl.CheckAddr(ip) {
				info := DropInfo{Local: addrOf(c.LocalAddr()), Remote: addrOf(c.RemoteAddr())}
				c.Close()
				if s.opts.Hooks.OnBlocked != nil {
					s.opts.Hooks.OnBlocked(info)
				}
				return
			}
		}
	}
	if tc, ok := c.(*net.TCPConn); ok {
		// Go turns TCP_NODELAY on for every connection; Node leaves Nagle
		// on unless asked. Keep-alive is already off (KeepAlive: -1).
		if !s.opts.NoDelay {
			tc.SetNoDelay(false) //nolint:errcheck // best effort, as in Node
		}
		if s.opts.KeepAlive {
			tc.SetKeepAlive(true) //nolint:errcheck // best effort, as in Node
			if d := s.opts.KeepAliveInitialDelay; d > 0 {
				tc.SetKeepAlivePeriod(d) //nolint:errcheck // best effort
			}
		}
	}
	sock := newSocket(c, s.opts.SocketHooks, s.opts.AllowHalfOpen)
	sock.server = s
	s.mu.Lock()
	s.conns[sock] = struct{}{}
	s.mu.Unlock()
	if s.opts.PauseOnConnect {
		sock.Pause()
	}
	if s.opts.Hooks.OnConnection != nil {
		s.opts.Hooks.OnConnection(sock)
	}
	go func() {
		if s.handler != nil {
			s.handler(sock)
		}
		sock.Destroy(nil)
	}()
}

// forget is called by a destroyed socket of this server.
func (s *Server) forget(sock *Socket) {
	s.mu.Lock()
	delete(s.conns, sock)
	last := s.closing && len(s.conns) == 0
	s.mu.Unlock()
	if last {
		s.finishClose()
	}
}

// Close stops accepting and lets the open connections end (Node's
// server.close()); Done is closed, and Hooks.OnClose called, when the
// last one has. It returns ERR_SERVER_NOT_RUNNING when the server was not
// listening.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.listening || s.closing {
		s.mu.Unlock()
		return codeError("ERR_SERVER_NOT_RUNNING", "Server is not running.")
	}
	s.closing = true
	close(s.stopping)
	lns := s.listeners
	idle := len(s.conns) == 0
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	if idle {
		s.finishClose()
	}
	return nil
}

// finishClose waits for the accept loops and reports the close, once.
func (s *Server) finishClose() {
	go func() {
		s.accepting.Wait()
		s.mu.Lock()
		select {
		case <-s.done:
			s.mu.Unlock()
			return
		default:
		}
		close(s.done)
		s.mu.Unlock()
		if s.opts.Hooks.OnClose != nil {
			s.opts.Hooks.OnClose()
		}
	}()
}

// Destroy stops accepting and destroys every open connection at once.
func (s *Server) Destroy() {
	s.Close() //nolint:errcheck // not running is fine here
	s.mu.Lock()
	socks := make([]*Socket, 0, len(s.conns))
	for c := range s.conns {
		socks = append(socks, c)
	}
	s.mu.Unlock()
	for _, c := range socks {
		c.Destroy(nil)
	}
}

// listenTCP binds the listeners lo asks for.
func listenTCP(ctx context.Context, lo ListenOptions) ([]net.Listener, error) {
	if lo.Listener != nil {
		return []net.Listener{lo.Listener}, nil
	}
	if lo.Port < 0 || lo.Port > 65535 {
		return nil, badPortError("options.port", strconv.Itoa(lo.Port))
	}
	if lo.Exclusive && (lo.ReusePort || lo.Workers > 1) {
		return nil, codeError("ERR_INVALID_ARG_VALUE", "exclusive cannot be combined with reusePort or workers: an exclusive port is not shared")
	}
	backlog := lo.Backlog
	if backlog <= 0 {
		backlog = DefaultBacklog
	}
	workers := max(lo.Workers, 1)
	host := lo.Host
	if host == "" {
		lns, err := bindTCP(ctx, "::", lo, workers, backlog)
		if err == nil || !noIPv6(err) {
			return lns, err
		}
		host = "0.0.0.0"
	} else if _, err := netip.ParseAddr(host); err != nil {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, lookupError(err, host)
		}
		host = ips[0].String()
	}
	return bindTCP(ctx, host, lo, workers, backlog)
}

// bindTCP binds workers listeners to host and lo.Port; when the port is
// 0, the first listener's port is shared by the others.
func bindTCP(ctx context.Context, host string, lo ListenOptions, workers, backlog int) ([]net.Listener, error) {
	network := "tcp"
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		network = "tcp4"
	}
	lc := net.ListenConfig{
		KeepAlive: -1, // Node's default: keep-alive off until asked
		Control:   listenControl(lo.ReusePort || workers > 1, lo.IPv6Only),
	}
	port := lo.Port
	var lns []net.Listener
	for i := 0; i < workers; i++ {
		ln, err := lc.Listen(ctx, network, net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			err = setBacklog(ln, backlog)
			if err != nil {
				ln.Close()
			}
		}
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, uvError(err, "listen", host, port)
		}
		if port == 0 {
			port = ln.Addr().(*net.TCPAddr).Port
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// noIPv6 reports whether listening on "::" failed because this host has
// no IPv6, the case where Node falls back to "0.0.0.0".
func noIPv6(err error) bool {
	errno, ok := Errno(err)
	return ok && (errno == syscall.EAFNOSUPPORT || errno == syscall.EADDRNOTAVAIL || errno == syscall.EPROTONOSUPPORT)
}
