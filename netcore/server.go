package netcore

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Blocker decides whether an address is blocked: *blocklist.BlockList
// satisfies it. It must be safe for concurrent use.
type Blocker interface {
	CheckAddr(addr netip.Addr) bool
}

// Engine names how a Server serves its connections.
type Engine string

const (
	// EngineAuto serves with event loops where the handler and the
	// options allow it (NewEchoServer on Linux, with no idle timeout, no
	// TLS and listeners whose descriptors can be taken over): io_uring
	// loops where the kernel offers io_uring, else epoll loops; and with
	// a goroutine per connection otherwise.
	EngineAuto Engine = ""
	// EngineEpoll serves from a few epoll loops: a connection costs a
	// descriptor and a slot in a table, not a goroutine. Only the echo
	// handler runs there, on Linux; Serve fails when it cannot be used.
	EngineEpoll Engine = "epoll"
	// EngineUring serves as EngineEpoll does, from io_uring loops that
	// batch the system calls of many connections into one per turn
	// (Linux 6.1 or later). Where io_uring is not available (an older
	// kernel, a seccomp filter, kernel.io_uring_disabled) it serves from
	// epoll loops instead; Server.Engine tells which.
	EngineUring Engine = "uring"
	// EngineGoroutines serves each connection with its own Socket on its
	// own goroutine: every handler, every option, every system.
	EngineGoroutines Engine = "goroutines"
)

// ServerOptions are Node's net.createServer options, with the policy a
// server applies to every connection it accepts (maxConnections, the
// block list, an idle timeout), whatever engine serves them.
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
	// Timeout is every connection's idle timeout (Node's
	// socket.setTimeout): after Timeout without reading or writing,
	// SocketHooks.OnTimeout fires and the server ends the connection; if
	// it is still idle one period later, it is destroyed. 0 for none.
	Timeout time.Duration
	// TLS, when set, makes every connection a TLS server connection
	// (Node's tls.createServer): the handshake runs after the
	// MaxConnections and BlockList checks and before the handler, within
	// HandshakeTimeout (0: Node's 120 s). A client that fails it is
	// reported to Hooks.OnTLSClientError and closed; the server goes on.
	TLS              *tls.Config
	HandshakeTimeout time.Duration
	// Engine chooses how connections are served; the zero value chooses
	// by itself (see EngineAuto).
	Engine Engine
	// Processes, when set, serves the connections in worker processes
	// (Node's cluster): the Server listens, accepts and applies its policy,
	// and hands each connection to a worker (see ProcessOptions).
	Processes *ProcessOptions
	// Hooks are the server's events; SocketHooks are given to every
	// connection, on every engine.
	Hooks       ServerHooks
	SocketHooks *SocketHooks
}

// DefaultHandshakeTimeout is Node's tls.Server handshakeTimeout.
const DefaultHandshakeTimeout = 120 * time.Second

// ServerHooks are a Server's events, named as Node names them. Every
// field is optional; hooks run synchronously and must not block.
type ServerHooks struct {
	// OnListening is Node's 'listening', with server.address().
	OnListening func(Addr)
	// OnConnection is Node's 'connection', before the handler runs. On
	// the event-loop engine the Socket carries the connection's id,
	// addresses and counts; its I/O belongs to the loop, and Destroy
	// closes the connection.
	OnConnection func(*Socket)
	// OnSecureConnection is Node's 'secureConnection': the TLS handshake
	// of a connection finished (ServerOptions.TLS).
	OnSecureConnection func(*Socket)
	// OnTLSClientError is Node's 'tlsClientError': a client failed the
	// TLS handshake, with Node's code for the failure (HandshakeError);
	// the connection is closed after the call.
	OnTLSClientError func(*Socket, error)
	// OnDrop is Node's 'drop': a connection closed at once because
	// MaxConnections were open.
	OnDrop func(DropInfo)
	// OnBlocked reports a connection closed at once because its address
	// is in the BlockList (Node closes it without an event).
	OnBlocked func(DropInfo)
	// OnError reports an accept failure. When the process is out of
	// descriptors or memory (EMFILE, ENFILE), the server goes on serving
	// the connections it has and retries with a growing pause; that is
	// reported once in the server's life, however many accept loops meet
	// it. Any other failure stops that accept loop.
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
	// means the port is never shared: it conflicts with ReusePort.
	Exclusive bool
	// IPv6Only makes an IPv6 listener refuse IPv4 clients.
	IPv6Only bool
	// ReusePort sets SO_REUSEPORT, so that several listeners (in this
	// process or others of the same user) share the port (current Node's
	// reusePort). Without it a port in use is EADDRINUSE, whatever the
	// number of Workers.
	ReusePort bool
	// Workers is the number of accept loops (goroutines, or event loops);
	// 0 or 1 means one. They share one listening socket, so no other
	// process can join the port; with ReusePort each loop binds a socket
	// of its own and the kernel spreads connections over them.
	Workers int
	// Listener, when set, is served as it is (an inherited or activated
	// socket); the fields above but Workers are ignored.
	Listener net.Listener
}

// DefaultBacklog is Node's listen backlog.
const DefaultBacklog = 511

// Server is Node's net.Server: it listens, accepts, applies its policy
// (MaxConnections, the BlockList, the idle timeout, TLS) to every
// connection, and serves it with its handler. One Server type serves
// every handler; its engine (a goroutine per connection, or io_uring or
// epoll loops for the echo handler) is chosen inside, and the policy, the
// events and the counters are the same on every engine.
//
// On the goroutine engine the handler runs on the connection's own
// goroutine; when it returns, the connection is destroyed if it is still
// open.
type Server struct {
	opts    ServerOptions
	handler func(*Socket)
	echo    *EchoOptions // the echo handler's options, for the event loops

	maxConns atomic.Int64 // < 0: no limit
	open     atomic.Int64 // admitted and not yet closed
	closing  atomic.Bool
	limitMet atomic.Bool // an accept limit error was reported
	stats    serverStats

	mu        sync.Mutex
	listeners []net.Listener
	files     []socketFile // socket files the event loops listen on
	addr      Addr
	conns     map[*Socket]struct{} // goroutine engine
	loops     *reactor             // event-loop engine; nil on goroutines
	procs     *procWorkers         // the master of process workers
	worker    *workerListener      // a worker: the master's connections
	listening bool
	stopping  chan struct{} // closed by Close: accept loops stop waiting
	done      chan struct{} // closed when the last connection has ended
	accepting sync.WaitGroup
	doneOnce  sync.Once
}

// socketFile is a listener that owns a socket file (ipc.Listener).
type socketFile interface {
	SetUnlinkOnClose(bool)
	Unlink() error
}

// NewServer returns a Server that runs handler for each connection, as
// net.createServer(options, connectionListener) does. It serves on the
// goroutine engine.
func NewServer(opts ServerOptions, handler func(*Socket)) *Server {
	s := &Server{
		opts:     opts,
		handler:  handler,
		conns:    map[*Socket]struct{}{},
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	s.maxConns.Store(-1)
	return s
}

// SetMaxConnections is Node's server.maxConnections: once n connections
// are open, further ones are closed at once (Hooks.OnDrop). 0 drops every
// connection, as in current Node; a negative n removes the limit (the
// default). The limit holds across every accept loop: admitting a
// connection and counting it are one atomic step.
func (s *Server) SetMaxConnections(n int) {
	s.maxConns.Store(int64(max(n, -1)))
}

// Connections is the number of open connections (Node's getConnections).
func (s *Server) Connections() int {
	s.mu.Lock()
	loops := s.loops
	s.mu.Unlock()
	if loops != nil && !loops.hooks.watch {
		return loops.open() // nothing admitted them one by one
	}
	return int(s.open.Load())
}

// Stats returns the server's counters now: connections open, accepted
// and dropped (MaxConnections and BlockList), and the bytes read and
// written, open connections included.
func (s *Server) Stats() StatsSample {
	smp := StatsSample{
		Time:         time.Now(),
		Open:         s.Connections(),
		Accepted:     s.stats.Accepted.Load(),
		Dropped:      s.stats.Dropped.Load(),
		BytesRead:    s.stats.BytesRead.Load(),
		BytesWritten: s.stats.BytesWritten.Load(),
	}
	s.mu.Lock()
	if s.procs != nil {
		r, w := s.procs.bytes()
		smp.BytesRead += r
		smp.BytesWritten += w
	}
	if s.loops == nil && s.echo == nil {
		// A handler other than echo counts through its Socket; the
		// closed ones are in s.stats already.
		for c := range s.conns {
			smp.BytesRead += c.BytesRead()
			smp.BytesWritten += c.BytesWritten()
		}
	}
	s.mu.Unlock()
	return smp
}

// Address is Node's server.address(): the address actually bound.
func (s *Server) Address() Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Engine tells which engine serves the connections, once Serve or Listen
// has returned.
func (s *Server) Engine() Engine {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.loops != nil && s.loops.uring:
		return EngineUring
	case s.loops != nil:
		return EngineEpoll
	}
	return EngineGoroutines
}

// Done is closed when the server has closed: it stopped listening and
// its last connection ended.
func (s *Server) Done() <-chan struct{} { return s.done }

var errAlreadyListening = codeError("ERR_SERVER_ALREADY_LISTEN", "Listen method has been called more than once without closing.")

// Listen binds and starts accepting in the background, as Node's
// server.listen does; it returns once the server is listening, after
// Hooks.OnListening. Errors are *Error with Node's wording ("listen
// EADDRINUSE: address already in use :::8124").
func (s *Server) Listen(ctx context.Context, lo ListenOptions) error {
	s.mu.Lock()
	busy := s.listening || s.closing.Load()
	s.mu.Unlock()
	if busy {
		return errAlreadyListening
	}
	lns, err := bind(ctx, lo, s.opts.Hooks.OnStaleRemoved)
	if err != nil {
		return err
	}
	return s.serve(lns, lo.Workers)
}

// bind binds the listening sockets lo asks for: one TCP socket (or, with
// ReusePort and Workers, one per worker), an IPC endpoint (a stale socket
// file is removed and reported to onStaleRemoved, which may be nil), or
// lo.Listener as it is. Errors are worded as Node's server.listen words
// them.
func bind(ctx context.Context, lo ListenOptions, onStaleRemoved func(path string)) ([]net.Listener, error) {
	if lo.Listener != nil {
		return []net.Listener{lo.Listener}, nil
	}
	if lo.Path != "" {
		return listenPath(ctx, lo, onStaleRemoved)
	}
	return listenTCP(ctx, lo)
}

// Serve accepts on listeners that are already bound (a listening Unix
// socket, an inherited fd), with one accept loop each, and returns once it
// is accepting.
func (s *Server) Serve(lns ...net.Listener) error {
	if len(lns) == 0 {
		return errors.New("netcore: Serve needs a listener")
	}
	return s.serve(lns, len(lns))
}

// serve starts the engine on lns with workers accept loops.
func (s *Server) serve(lns []net.Listener, workers int) error {
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	s.mu.Lock()
	if s.listening || s.closing.Load() {
		s.mu.Unlock()
		closeAll()
		return errAlreadyListening
	}
	s.listening = true
	s.addr = addrOf(lns[0].Addr())
	addr := s.addr
	wl, _ := lns[0].(*workerListener)
	s.worker = wl
	s.mu.Unlock()
	loops := max(workers, len(lns), 1)
	useLoops, err := s.chooseLoops(lns)
	if err == nil && useLoops {
		err = s.serveLoops(lns, loops)
	}
	if err == nil && s.opts.Processes != nil {
		err = s.startProcesses()
	}
	if err != nil {
		closeAll()
		s.mu.Lock()
		s.listening = false
		s.mu.Unlock()
		return err
	}
	if !useLoops {
		s.mu.Lock()
		s.listeners = lns
		s.mu.Unlock()
		s.accepting.Add(loops)
		for i := 0; i < loops; i++ {
			go s.acceptLoop(lns[i%len(lns)])
		}
	}
	if wl != nil {
		wl.attach(s)
		return nil // the master listens
	}
	if s.opts.Hooks.OnListening != nil {
		s.opts.Hooks.OnListening(addr)
	}
	return nil
}

// chooseLoops decides whether the event loops serve lns: they need the
// echo handler, Linux, listeners whose descriptors they can take over,
// and no option that needs a Socket of its own per connection.
func (s *Server) chooseLoops(lns []net.Listener) (bool, error) {
	switch s.opts.Engine {
	case EngineGoroutines:
		return false, nil
	case EngineAuto, EngineEpoll, EngineUring:
	default:
		return false, codeError("ERR_INVALID_ARG_VALUE", "The engine %q is not one of %q, %q, %q or %q", string(s.opts.Engine), "auto", EngineEpoll, EngineUring, EngineGoroutines)
	}
	if s.opts.Processes != nil {
		// The master hands its connections on: the engine is its
		// workers'.
		return false, nil
	}
	why := ""
	switch {
	case s.echo == nil:
		why = "only the echo handler runs on it"
	case !reactorSupported:
		why = "this system has none"
	case s.opts.Timeout > 0:
		why = "an idle timeout needs a Socket per connection"
	case s.opts.TLS != nil:
		why = "TLS needs a Socket per connection"
	case s.opts.PauseOnConnect:
		why = "pauseOnConnect needs a Socket per connection"
	}
	for _, ln := range lns {
		if _, ok := ln.(*workerListener); ok {
			continue // the loops take its connections as they come
		}
		if why == "" && !reactorCanServe(ln) {
			why = "the listener does not expose its socket"
		}
	}
	if why == "" {
		return true, nil
	}
	if s.opts.Engine == EngineEpoll || s.opts.Engine == EngineUring {
		return false, codeError("ERR_INVALID_ARG_VALUE", "The %s engine cannot serve here: %s", string(s.opts.Engine), why)
	}
	return false, nil
}

// serveLoops serves lns from event loops, with the server's policy and
// events as the loops' hooks.
func (s *Server) serveLoops(lns []net.Listener, loops int) error {
	o := s.opts
	r := &reactor{
		greeting:      s.echo.Greeting,
		loops:         loops,
		noDelay:       o.NoDelay,
		keepAlive:     o.KeepAlive,
		keepAliveIdle: o.KeepAliveInitialDelay,
		stats:         &s.stats,
		// io_uring when asked for, or by default, and the kernel has
		// it; else epoll.
		uring: o.Engine != EngineEpoll && uringAvailable() == nil,
	}
	r.hooks = s.loopHooks()
	var files []socketFile
	for _, ln := range lns {
		if sf, ok := ln.(socketFile); ok {
			files = append(files, sf)
		}
	}
	if s.worker != nil {
		// A worker: its master hands the connections over.
		r.feed, r.lost = s.worker.acceptFD, s.worker.ended
		lns = nil
	}
	if err := r.serve(lns); err != nil {
		return err
	}
	s.mu.Lock()
	s.loops, s.files = r, files
	s.mu.Unlock()
	go func() {
		<-r.done()
		s.finish()
	}()
	return nil
}

// loopHooks are the event loops' hooks: the server's policy, and Sockets
// for its events when any is watched.
func (s *Server) loopHooks() reactorHooks {
	o := s.opts
	sh := o.SocketHooks
	if sh == nil {
		sh = &noHooks
	}
	events := o.Hooks.OnConnection != nil || sh.OnClose != nil || sh.OnError != nil ||
		sh.OnData != nil || sh.OnDrain != nil || sh.OnEnd != nil || sh.OnFinish != nil
	h := reactorHooks{onError: s.acceptError}
	// A worker tells its master of each connection's end, by the
	// master's id: it needs each connection's reactorConn.
	h.watch = events || o.BlockList != nil || s.maxConns.Load() >= 0 || o.Hooks.OnDrop != nil || s.worker != nil
	h.onConnection = func(c *reactorConn) bool {
		if !s.admit(c.local, c.remote) {
			if s.worker != nil {
				s.worker.ended(c.id)
			}
			return false
		}
		if events {
			sock := newSocket(c, o.SocketHooks, o.AllowHalfOpen)
			sock.server = s
			if s.worker != nil {
				sock.id = c.id // the master numbers connections
			}
			c.sock = sock
			if o.Hooks.OnConnection != nil {
				o.Hooks.OnConnection(sock)
			}
		}
		return true
	}
	h.onClose = func(c *reactorConn, err error) {
		if c.sock != nil {
			c.sock.Destroy(err) // the events, then forget: release
			return
		}
		s.release(nil)
		if s.worker != nil {
			s.worker.ended(c.id)
		}
	}
	if sh.OnEnd != nil || sh.OnFinish != nil {
		h.onEnd = func(c *reactorConn) {
			// The client ended and everything was echoed: Node's 'end',
			// then, allowHalfOpen or not, the 'finish' of c.pipe(c).
			if sock := c.sock; sock != nil {
				if sh.OnEnd != nil {
					sh.OnEnd(sock)
				}
				if sh.OnFinish != nil {
					sh.OnFinish(sock)
				}
			}
		}
	}
	if sh.OnData != nil {
		h.onData = func(c *reactorConn, p []byte) { sh.OnData(c.sock, p) }
	}
	if sh.OnDrain != nil {
		h.onDrain = func(c *reactorConn) { sh.OnDrain(c.sock) }
	}
	return h
}

// admit applies the server's policy to a new connection, in Node's order:
// a closing server takes nothing; then maxConnections (Node's 'drop');
// then the block list. Checking the limit and counting the connection as
// open are one atomic step, so the limit holds across accept loops. A
// refused connection is counted and reported here; the caller closes it.
func (s *Server) admit(local, remote net.Addr) bool {
	if s.closing.Load() {
		return false
	}
	if s.worker != nil {
		// The master applied the policy before it handed this one over.
		s.open.Add(1)
		s.stats.Accepted.Add(1)
		return true
	}
	blocked := s.opts.BlockList != nil && blockedAddr(s.opts.BlockList, remote)
	limit := s.maxConns.Load()
	for {
		n := s.open.Load()
		if limit >= 0 && n >= limit {
			s.refuse(local, remote, s.opts.Hooks.OnDrop)
			return false
		}
		if blocked {
			s.refuse(local, remote, s.opts.Hooks.OnBlocked)
			return false
		}
		if s.open.CompareAndSwap(n, n+1) {
			break
		}
	}
	s.stats.Accepted.Add(1)
	return true
}

// refuse counts a connection closed at once and reports it to hook.
func (s *Server) refuse(local, remote net.Addr, hook func(DropInfo)) {
	s.stats.Dropped.Add(1)
	if hook != nil {
		hook(DropInfo{Local: addrOf(local), Remote: addrOf(remote)})
	}
}

// release counts an admitted connection as closed; sock, on the
// goroutine engine, leaves the server's set and its bytes join the
// totals.
func (s *Server) release(sock *Socket) {
	s.stats.Closed.Add(1)
	last := false
	s.mu.Lock()
	if sock != nil && s.loops == nil {
		delete(s.conns, sock)
		if s.echo == nil {
			// Echo counted its bytes as they moved.
			s.stats.BytesRead.Add(sock.BytesRead())
			s.stats.BytesWritten.Add(sock.BytesWritten())
		}
	}
	n := s.open.Add(-1)
	last = s.loops == nil && s.closing.Load() && n == 0
	s.mu.Unlock()
	if s.worker != nil && sock != nil {
		s.worker.ended(sock.id)
	}
	if last {
		s.finishAfterAccepting()
	}
}

// blockedAddr checks a TCP client's address against the block list; a
// Unix socket client has none.
func blockedAddr(bl Blocker, a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	return ok && bl.CheckAddr(ip)
}

// acceptError reports an accept failure. A lack of descriptors or memory
// is reported once in the server's life, however many loops meet it and
// however often: the server goes on serving and retries.
func (s *Server) acceptError(err error) {
	if isAcceptLimitErr(err) && !s.limitMet.CompareAndSwap(false, true) {
		return
	}
	if s.opts.Hooks.OnError != nil {
		s.opts.Hooks.OnError(err)
	}
}

// acceptLoop accepts until the listener is closed (goroutine engine).
func (s *Server) acceptLoop(ln net.Listener) {
	defer s.accepting.Done()
	report := func(err error) { s.acceptError(sysError(err, "accept", "", 0)) }
	backoff := acceptBackoff{onLimit: report, stop: s.stopping}
	for {
		c, err := ln.Accept()
		if err != nil {
			if backoff.Wait(err) {
				continue
			}
			if !errors.Is(err, net.ErrClosed) && !s.closing.Load() {
				report(err)
			}
			return
		}
		backoff.Reset()
		s.serveConn(c)
	}
}

// serveConn applies the policy to a new connection, sets Node's socket
// options, and runs the handler on the connection's own goroutine.
func (s *Server) serveConn(c net.Conn) {
	if !s.admit(c.LocalAddr(), c.RemoteAddr()) {
		c.Close()
		if s.worker != nil {
			s.worker.ended(s.worker.take(c))
		}
		return
	}
	if s.procs != nil {
		s.procs.handOff(c)
		return
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
	if s.worker != nil {
		sock.id = s.worker.take(c) // the master numbers connections
	}
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
		defer sock.Destroy(nil)
		if s.opts.TLS != nil && !s.handshake(sock) {
			return
		}
		if s.opts.Timeout > 0 {
			sock.setIdleEnd(s.opts.Timeout)
		}
		if s.handler != nil {
			s.handler(sock)
		}
	}()
}

// handshake runs the TLS handshake of a new connection; a failure is
// reported as Node's tlsClientError.
func (s *Server) handshake(sock *Socket) bool {
	d := s.opts.HandshakeTimeout
	if d <= 0 {
		d = DefaultHandshakeTimeout
	}
	tc := tls.Server(sock.conn, s.opts.TLS)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		select {
		case <-sock.closed:
		default:
			sock.conn.SetDeadline(time.Unix(1, 0)) //nolint:errcheck // the handshake fails, as asked
		}
	})
	err := tc.HandshakeContext(ctx)
	stop()
	if err != nil {
		if s.opts.Hooks.OnTLSClientError != nil {
			s.opts.Hooks.OnTLSClientError(sock, HandshakeError(err, false))
		}
		return false
	}
	sock.mu.Lock()
	sock.conn = tc
	sock.mu.Unlock()
	if s.opts.Hooks.OnSecureConnection != nil {
		s.opts.Hooks.OnSecureConnection(sock)
	}
	return true
}

// forget is called by a destroyed socket of this server.
func (s *Server) forget(sock *Socket) { s.release(sock) }

// Close stops accepting and lets the open connections end (Node's
// server.close()); Done is closed, and Hooks.OnClose called, when the
// last one has. A socket file the server bound is removed now. It
// returns ERR_SERVER_NOT_RUNNING when the server was not listening.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.listening || s.closing.Load() {
		s.mu.Unlock()
		return codeError("ERR_SERVER_NOT_RUNNING", "Server is not running.")
	}
	s.closing.Store(true)
	close(s.stopping)
	lns, loops, files, procs := s.listeners, s.loops, s.files, s.procs
	idle := s.open.Load() == 0
	s.mu.Unlock()
	if procs != nil {
		procs.close()
	}
	if loops != nil {
		if s.worker != nil {
			s.worker.Close() // no more from the master
		}
		loops.close() //nolint:errcheck // it is serving
		for _, sf := range files {
			sf.SetUnlinkOnClose(true)
			sf.Unlink() //nolint:errcheck // best effort, as a listener's Close
		}
		return nil
	}
	for _, ln := range lns {
		ln.Close()
	}
	if idle {
		s.finishAfterAccepting()
	}
	return nil
}

// finishAfterAccepting waits for the accept loops, then reports the
// close (goroutine engine).
func (s *Server) finishAfterAccepting() {
	go func() {
		s.accepting.Wait()
		s.mu.Lock()
		procs := s.procs
		s.mu.Unlock()
		if procs != nil {
			<-procs.exited() // the last connections ended with their workers
		}
		s.finish()
	}()
}

// finish closes Done and reports the close, once.
func (s *Server) finish() {
	s.doneOnce.Do(func() {
		// The event first: whoever waits on Done sees it reported.
		if s.opts.Hooks.OnClose != nil {
			s.opts.Hooks.OnClose()
		}
		close(s.done)
	})
}

// Destroy stops accepting and destroys every open connection at once.
func (s *Server) Destroy() {
	s.Close() //nolint:errcheck // not running is fine here
	s.mu.Lock()
	loops, procs := s.loops, s.procs
	socks := make([]*Socket, 0, len(s.conns))
	for c := range s.conns {
		socks = append(socks, c)
	}
	s.mu.Unlock()
	if procs != nil {
		procs.destroy()
	}
	if loops != nil {
		loops.destroy() //nolint:errcheck // it is serving
		return
	}
	for _, c := range socks {
		c.Destroy(nil)
	}
}

// listenTCP binds the TCP listeners lo asks for.
func listenTCP(ctx context.Context, lo ListenOptions) ([]net.Listener, error) {
	if lo.Port < 0 || lo.Port > 65535 {
		return nil, badPortError("options.port", strconv.Itoa(lo.Port))
	}
	if lo.Exclusive && lo.ReusePort {
		return nil, codeError("ERR_INVALID_ARG_VALUE", "exclusive cannot be combined with reusePort: an exclusive port is not shared")
	}
	backlog := lo.Backlog
	if backlog <= 0 {
		backlog = DefaultBacklog
	}
	sockets := 1
	if lo.ReusePort {
		sockets = max(lo.Workers, 1)
	}
	host := lo.Host
	if host == "" {
		lns, err := bindTCP(ctx, "::", lo, sockets, backlog)
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
	return bindTCP(ctx, host, lo, sockets, backlog)
}

// bindTCP binds n listeners to host and lo.Port; when the port is 0, the
// first listener's port is shared by the others (they exist only with
// ReusePort).
func bindTCP(ctx context.Context, host string, lo ListenOptions, n, backlog int) ([]net.Listener, error) {
	network := "tcp"
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		network = "tcp4"
	}
	lc := net.ListenConfig{
		KeepAlive: -1, // Node's default: keep-alive off until asked
		Control:   listenControl(lo.ReusePort, lo.IPv6Only),
	}
	port := lo.Port
	var lns []net.Listener
	for i := 0; i < n; i++ {
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
