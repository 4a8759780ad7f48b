package netcore

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nodenet/nodenet/internal/nodeerr"
)

// SocketHooks are the events of a Socket, named as Node names them. Every
// field is optional: a nil hook costs nothing. Hooks run synchronously on
// the goroutine that caused the event, so they must not block; they may be
// called from several goroutines of one socket at once (the relay reads
// and writes in parallel).
type SocketHooks struct {
	// OnLookup is called for each address a host name resolved to (Node's
	// 'lookup': err, address, family, host), and once with Err set when the
	// lookup failed.
	OnLookup func(LookupEvent)
	// OnConnectionAttempt, OnConnectionAttemptFailed and
	// OnConnectionAttemptTimeout follow Node's happy-eyeballs events: they
	// fire only when a host name resolved to several addresses.
	OnConnectionAttempt        func(Attempt)
	OnConnectionAttemptFailed  func(Attempt, error)
	OnConnectionAttemptTimeout func(Attempt)
	// OnConnect is Node's 'connect' (and 'ready', which follows it at once).
	OnConnect func(*Socket)
	// OnSecureConnect is Node's 'secureConnect': a client's TLS handshake
	// is done (TLSContext.Info describes it).
	OnSecureConnect func(*Socket)
	// OnData is Node's 'data'. Setting it makes the relay copy through a
	// buffer instead of splice or sendfile, since it must see every chunk.
	OnData func(s *Socket, p []byte)
	// OnFD is Node v0.4's 'fd': a descriptor came over a Unix socket with
	// the bytes of a read (the peer's WriteFDs), once per descriptor and
	// before OnData of those bytes. It returns true to take the descriptor
	// (it is then the hook's to close); one it declines, or every one when
	// OnFD is nil, is closed at once: no received descriptor is leaked.
	// Reads of a Unix socket through Read, Relay, Hub and Broker always
	// make room for descriptors; setting OnFD makes the relay copy through
	// a buffer instead of splice, which would let the kernel drop them
	// unseen. The echo handler reads the connection itself: there the
	// kernel closes any descriptor sent, and OnFD is not called.
	OnFD func(s *Socket, fd int) bool
	// OnEnd is Node's 'end': the peer half-closed (FIN received).
	OnEnd func(*Socket)
	// OnFinish is Node's 'finish': our side half-closed (FIN sent).
	OnFinish func(*Socket)
	// OnDrain is Node's 'drain': a Write found the kernel's send buffer
	// full (where Node's write() returns false), waited for the peer to
	// read, and has now handed over all its bytes. Setting it makes the
	// relay send through Write instead of splice or sendfile, since it
	// must see the wait. It fires on Unix systems; a Windows named pipe
	// never reports a wait.
	OnDrain func(*Socket)
	// OnTimeout is Node's 'timeout', once per idle period (SetTimeout).
	OnTimeout func(*Socket)
	// OnError is Node's 'error', just before OnClose with hadError true.
	OnError func(*Socket, error)
	// OnClose is Node's 'close'.
	OnClose func(s *Socket, hadError bool)
}

// LookupEvent is the payload of Node's 'lookup' event.
type LookupEvent struct {
	Err     error
	Address string
	Family  int // 4 or 6; 0 with Err
	Host    string
}

// Attempt is the payload of Node's connectionAttempt* events.
type Attempt struct {
	Address string
	Port    int
	Family  int
}

// socketIDs numbers sockets 1, 2, ... in the order they are made, across
// the process: the id of connection events.
var socketIDs atomic.Uint64

// Socket is a connected stream socket with Node's net.Socket vocabulary:
// End half-closes, Destroy closes, ResetAndDestroy closes with RST, and the
// hooks report Node's events. Read and Write count bytes and keep the idle
// timer (SetTimeout) informed; Relay bypasses them to let the kernel copy
// (splice, sendfile) and counts from its results.
//
// A Socket's methods are safe for concurrent use.
type Socket struct {
	conn  net.Conn
	id    uint64
	hooks *SocketHooks

	allowHalfOpen bool
	server        *Server // nil for a client socket

	bytesRead    atomic.Int64
	bytesWritten atomic.Int64

	mu       sync.Mutex
	state    uint8 // socketReadable | socketWritable | socketDestroyed
	ended    bool  // End was called (FIN queued or sent)
	hadError bool
	idle     *idleTimer    // nil until SetTimeout
	idleEnd  bool          // a timeout ends the socket, a second destroys it
	timedOut bool          // the first timeout of idleEnd has ended it
	resume   chan struct{} // non-nil while paused
	closed   chan struct{}
}

const (
	socketReadable = 1 << iota
	socketWritable
	socketDestroyed
)

// newSocket wraps a connected conn.
func newSocket(conn net.Conn, hooks *SocketHooks, allowHalfOpen bool) *Socket {
	if hooks == nil {
		hooks = &noHooks
	}
	return &Socket{
		conn:          conn,
		id:            socketIDs.Add(1),
		hooks:         hooks,
		allowHalfOpen: allowHalfOpen,
		state:         socketReadable | socketWritable,
		closed:        make(chan struct{}),
	}
}

var noHooks SocketHooks

// NewSocket wraps an already connected conn (TCP, Unix or a named pipe)
// in a Socket, as Node's new net.Socket({handle}) does.
func NewSocket(conn net.Conn, hooks *SocketHooks, allowHalfOpen bool) *Socket {
	return newSocket(conn, hooks, allowHalfOpen)
}

// ID is the socket's number in this process: 1, 2, ...
func (s *Socket) ID() uint64 { return s.id }

// Conn returns the underlying connection, for callers that hand it to the
// kernel themselves. Bytes moved through it are not counted.
func (s *Socket) Conn() net.Conn { return s.conn }

// Hooks returns the socket's hooks.
func (s *Socket) Hooks() *SocketHooks { return s.hooks }

// AllowHalfOpen reports Node's allowHalfOpen: whether the socket stays
// writable after the peer ends.
func (s *Socket) AllowHalfOpen() bool { return s.allowHalfOpen }

// BytesRead is Node's socket.bytesRead.
func (s *Socket) BytesRead() int64 { return s.bytesRead.Load() }

// BytesWritten is Node's socket.bytesWritten.
func (s *Socket) BytesWritten() int64 { return s.bytesWritten.Load() }

// Closed is closed when the socket has been destroyed.
func (s *Socket) Closed() <-chan struct{} { return s.closed }

// ReadyState is Node's socket.readyState: "open", "readOnly",
// "writeOnly" or "closed" ("opening" belongs to a Socket that Connect has
// not returned yet, which callers never see).
func (s *Socket) ReadyState() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.state&socketDestroyed != 0:
		return "closed"
	case s.state&socketReadable != 0 && s.state&socketWritable != 0:
		return "open"
	case s.state&socketReadable != 0:
		return "readOnly"
	case s.state&socketWritable != 0:
		return "writeOnly"
	}
	return "closed"
}

// Read reads from the peer. At the peer's end it returns io.EOF, fires
// OnEnd, and, unless AllowHalfOpen, ends our side too, as Node does.
func (s *Socket) Read(p []byte) (int, error) {
	if err := s.waitResumed(); err != nil {
		return 0, err
	}
	var n int
	var err error
	if uc, ok := s.conn.(*net.UnixConn); ok {
		n, err = s.readUnix(uc, p)
	} else {
		n, err = s.conn.Read(p)
	}
	if n > 0 {
		s.bytesRead.Add(int64(n))
		s.touch()
		if s.hooks.OnData != nil {
			s.hooks.OnData(s, p[:n])
		}
	}
	if err == io.EOF {
		s.peerEnded()
	} else if err != nil {
		err = s.ioError(err, "read")
	}
	return n, err
}

// Write writes to the peer. Writing after End fails with EPIPE, as in
// Node ("This socket has been ended").
func (s *Socket) Write(p []byte) (int, error) {
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	if ended {
		return 0, &Error{Code: "EPIPE", Syscall: "write", Message: "This socket has been ended by the other party"}
	}
	if s.hooks.OnDrain != nil {
		return s.writeWatched(p)
	}
	n, err := s.conn.Write(p)
	if n > 0 {
		s.bytesWritten.Add(int64(n))
		s.touch()
	}
	if err != nil {
		err = s.ioError(err, "write")
	}
	return n, err
}

// writeWatched is Write when OnDrain is set: it notices a full send buffer,
// and fires OnDrain once the bytes that waited for it are all sent.
func (s *Socket) writeWatched(p []byte) (int, error) {
	n, waited, err := writeNoticingWait(s.conn, p, func(m int) {
		s.bytesWritten.Add(int64(m))
		s.touch()
	})
	if err != nil {
		return n, s.ioError(err, "write")
	}
	if waited {
		s.hooks.OnDrain(s)
	}
	return n, nil
}

// ioError names a read or write failure as Node does ("read ECONNRESET").
// An error after Destroy is net.ErrClosed, returned as is.
func (s *Socket) ioError(err error, op string) error {
	if errors.Is(err, net.ErrClosed) {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return sysError(err, op, "", 0)
}

// peerEnded records the peer's FIN: Node's onReadableStreamEnd.
func (s *Socket) peerEnded() {
	s.mu.Lock()
	if s.state&socketReadable == 0 {
		s.mu.Unlock()
		return
	}
	s.state &^= socketReadable
	writable := s.state&socketWritable != 0
	s.mu.Unlock()
	if s.hooks.OnEnd != nil {
		s.hooks.OnEnd(s)
	}
	switch {
	case !writable:
		s.Destroy(nil)
	case !s.allowHalfOpen:
		s.End() //nolint:errcheck // reported through the hooks; Destroy follows
	}
}

// End half-closes the socket: our FIN is sent, the peer may go on
// sending (Node's socket.end()). When the peer has already ended, the
// socket is destroyed, as Node does once both sides are done.
func (s *Socket) End() error {
	s.mu.Lock()
	if s.ended || s.state&socketDestroyed != 0 {
		s.mu.Unlock()
		return nil
	}
	s.ended = true
	s.mu.Unlock()
	err := closeWrite(s.conn)
	if noHalfClose(err) {
		err = nil
	}
	s.mu.Lock()
	s.state &^= socketWritable
	readable := s.state&socketReadable != 0
	s.mu.Unlock()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		err = s.ioError(err, "shutdown")
		s.Destroy(err)
		return err
	}
	if s.hooks.OnFinish != nil {
		s.hooks.OnFinish(s)
	}
	if !readable {
		s.Destroy(nil)
	}
	return nil
}

// closeWrite sends FIN on connections that can half-close, and closes
// the others (a named pipe in byte mode has no half-close). Over TLS it
// sends close_notify, then the FIN of the connection beneath, as Node's
// end() does.
func closeWrite(c net.Conn) error {
	if tc, ok := c.(*tls.Conn); ok {
		return tlsCloseWrite(tc)
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

// TLSConnectionState returns the TLS state of a connection that a TLS
// server accepted (ServerOptions.TLS) or that a TLS client made; false for
// a plain connection.
func (s *Socket) TLSConnectionState() (tls.ConnectionState, bool) {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	// A *tls.Conn, or a client's *tlsClientConn around one.
	if tc, ok := c.(interface{ ConnectionState() tls.ConnectionState }); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// Destroy closes the socket at once (Node's socket.destroy(err)): OnError
// fires when err is not nil, then OnClose. Calling it again does nothing.
func (s *Socket) Destroy(err error) {
	s.mu.Lock()
	if s.state&socketDestroyed != 0 {
		s.mu.Unlock()
		return
	}
	s.state = socketDestroyed
	s.hadError = err != nil
	if s.resume != nil {
		close(s.resume)
		s.resume = nil
	}
	idle, conn := s.idle, s.conn
	s.mu.Unlock()
	if idle != nil {
		idle.stop()
	}
	conn.Close() //nolint:errcheck // nothing to do about it
	if err != nil && s.hooks.OnError != nil {
		s.hooks.OnError(s, err)
	}
	if s.hooks.OnClose != nil {
		s.hooks.OnClose(s, err != nil)
	}
	close(s.closed)
	if s.server != nil {
		s.server.forget(s)
	}
}

// ResetAndDestroy closes the socket with a TCP RST instead of a FIN
// (Node's socket.resetAndDestroy()): SO_LINGER with a zero timeout on
// the TCP connection, beneath TLS too (there, TLS's close_notify goes
// first and the RST follows it; Node refuses a TLS socket with
// ERR_INVALID_HANDLE_TYPE, which a user of --rst does not want). For a
// connection that is not TCP it is Destroy.
func (s *Socket) ResetAndDestroy() error {
	if tc, ok := tcpBeneath(s.conn); ok {
		if err := tc.SetLinger(0); err != nil {
			return s.ioError(err, "setsockopt")
		}
	}
	s.Destroy(nil)
	return nil
}

// tcpBeneath is the TCP connection c is, or carries (TLS).
func tcpBeneath(c net.Conn) (*net.TCPConn, bool) {
	for i := 0; i < 4 && c != nil; i++ {
		if tc, ok := c.(*net.TCPConn); ok {
			return tc, true
		}
		nc, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = nc.NetConn()
	}
	return nil, false
}

// Pause stops the relay and Read from reading until Resume: Node's
// socket.pause() and the server's pauseOnConnect.
func (s *Socket) Pause() {
	s.mu.Lock()
	if s.resume == nil && s.state&socketDestroyed == 0 {
		s.resume = make(chan struct{})
	}
	s.mu.Unlock()
}

// Resume lets a paused socket read again.
func (s *Socket) Resume() {
	s.mu.Lock()
	if s.resume != nil {
		close(s.resume)
		s.resume = nil
	}
	s.mu.Unlock()
}

// waitResumed blocks while the socket is paused.
func (s *Socket) waitResumed() error {
	s.mu.Lock()
	ch := s.resume
	s.mu.Unlock()
	if ch == nil {
		return nil
	}
	<-ch
	s.mu.Lock()
	destroyed := s.state&socketDestroyed != 0
	s.mu.Unlock()
	if destroyed {
		return net.ErrClosed
	}
	return nil
}

// SetNoDelay turns Nagle's algorithm off (true) or on (false), as Node's
// socket.setNoDelay. It does nothing for a socket that is not TCP.
func (s *Socket) SetNoDelay(noDelay bool) error {
	if tc, ok := tcpBeneath(s.conn); ok {
		if err := tc.SetNoDelay(noDelay); err != nil {
			return s.ioError(err, "setsockopt")
		}
	}
	return nil
}

// SetKeepAlive turns TCP keep-alive on or off, probing after
// initialDelay of idleness (Node's socket.setKeepAlive; 0 keeps the
// system's delay). It does nothing for a socket that is not TCP.
func (s *Socket) SetKeepAlive(enable bool, initialDelay time.Duration) error {
	tc, ok := s.conn.(*net.TCPConn)
	if !ok {
		return nil
	}
	if err := tc.SetKeepAlive(enable); err != nil {
		return s.ioError(err, "setsockopt")
	}
	if enable && initialDelay > 0 {
		if err := tc.SetKeepAlivePeriod(initialDelay); err != nil {
			return s.ioError(err, "setsockopt")
		}
	}
	return nil
}

// SetTypeOfService sets the IP TOS byte (IPv4) or traffic class (IPv6),
// as Node's socket.setTypeOfService.
func (s *Socket) SetTypeOfService(tos int) error {
	if tos < 0 || tos > 255 {
		return nodeerr.OutOfRange("tos", ">= 0 && <= 255", tos)
	}
	if err := setTOS(s.conn, tos); err != nil {
		return s.ioError(err, "setsockopt")
	}
	return nil
}

// RemoteAddr is Node's remoteAddress, remotePort and remoteFamily.
func (s *Socket) RemoteAddr() Addr { return addrOf(s.conn.RemoteAddr()) }

// LocalAddr is Node's localAddress, localPort and localFamily
// (socket.address()).
func (s *Socket) LocalAddr() Addr { return addrOf(s.conn.LocalAddr()) }

// Addr is an endpoint as Node reports it: server.address(), and a
// socket's local and remote address. For TCP, Address is the IP, Family
// "IPv4" or "IPv6" and Port the port; for IPC, Path is the socket path
// (an abstract name shown as "@name") and the rest is empty.
type Addr struct {
	Address string
	Family  string
	Port    int
	Path    string
}

// String is the address as nodenet prints it: "127.0.0.1:41234",
// "[::1]:41234", or the path.
func (a Addr) String() string {
	if a.Address == "" {
		return a.Path
	}
	return net.JoinHostPort(a.Address, strconv.Itoa(a.Port))
}

// addrOf converts a net.Addr to Node's form. An IPv4-mapped IPv6 address
// keeps its IPv6 form, as Node shows it on a dual-stack socket
// ("::ffff:127.0.0.1").
func addrOf(a net.Addr) Addr {
	switch v := a.(type) {
	case *net.TCPAddr:
		ip, ok := netip.AddrFromSlice(v.IP)
		if !ok {
			return Addr{}
		}
		family := "IPv6"
		if len(v.IP) == net.IPv4len {
			ip = ip.Unmap()
			family = "IPv4"
		}
		s := ip.WithZone(v.Zone).String()
		return Addr{Address: s, Family: family, Port: v.Port}
	case *net.UnixAddr:
		if v.Name == "@" {
			// Go shows an unnamed socket (a client's own end) as "@":
			// it has no path, and the peer's is the one to show.
			return Addr{}
		}
		return Addr{Path: displayPath(v.Name)}
	case nil:
		return Addr{}
	}
	return Addr{Path: a.String()}
}

// displayPath shows a Linux abstract socket name ("\x00name", which Go
// reports as "@name") as "@name".
func displayPath(p string) string {
	if len(p) > 0 && p[0] == 0 {
		return "@" + p[1:]
	}
	return p
}

// touch records I/O for the idle timer.
func (s *Socket) touch() {
	if t := s.idleTimer(); t != nil {
		t.touch()
	}
}

func (s *Socket) idleTimer() *idleTimer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idle
}

// SetTimeout arms Node's idle timeout: after d without reading or writing,
// OnTimeout fires, and again after each further idle period. Like Node,
// it never closes the socket itself; the caller decides (End, Destroy).
// 0 turns it off. I/O through Read and Write re-arms it; so do bytes the
// kernel moves for the relay, which it learns from the TCP stack's own
// counters where the platform has them (Linux TCP_INFO), so that an idle
// timeout does not cost the relay its zero-copy path.
func (s *Socket) SetTimeout(d time.Duration) {
	s.mu.Lock()
	old := s.idle
	s.idle = nil
	if d > 0 && s.state&socketDestroyed == 0 {
		s.idle = newIdleTimer(s, d)
	}
	s.mu.Unlock()
	if old != nil {
		old.stop()
	}
}

// setIdleEnd is SetTimeout with the server's action (ServerOptions.Timeout):
// after OnTimeout, the socket is ended; if it times out again, still idle
// one period later, it is destroyed.
func (s *Socket) setIdleEnd(d time.Duration) {
	s.mu.Lock()
	s.idleEnd = true
	s.mu.Unlock()
	s.SetTimeout(d)
}

// timedOut is the action after OnTimeout of a socket with setIdleEnd.
func (s *Socket) afterTimeout() {
	s.mu.Lock()
	if !s.idleEnd {
		s.mu.Unlock()
		return
	}
	again := s.timedOut
	s.timedOut = true
	s.mu.Unlock()
	if again {
		s.Destroy(nil)
		return
	}
	s.End() //nolint:errcheck // reported through the hooks
}

// idleTimer fires OnTimeout after each period of d without activity.
//
// Activity is I/O through the Socket's methods, whose time touch records,
// so the timeout fires exactly d after the last of it, as Node's does.
// Where the kernel keeps byte counters (Linux TCP_INFO), the timer also
// sees bytes that the relay let the kernel move past the Socket (splice,
// sendfile): the kernel's counts beyond what the Socket counted. Their
// time is not known, so they count as activity at the check that sees
// them: a relay that goes quiet after zero-copy traffic times out
// between d and 2d after its last byte.
type idleTimer struct {
	s     *Socket
	d     time.Duration
	last  atomic.Int64 // time of the last Read or Write, in ns since start
	start time.Time
	probe func() (received, acked uint64, ok bool) // kernel counters, when available

	mu      sync.Mutex
	t       *time.Timer
	base    kernelCounts // at the timer's start
	beyond  uint64       // the kernel's bytes beyond the Socket's, at the last check
	stopped bool
}

// kernelCounts are the kernel's and the Socket's byte counts at a check.
type kernelCounts struct {
	received, acked, read, written uint64
	ok                             bool
}

func newIdleTimer(s *Socket, d time.Duration) *idleTimer {
	t := &idleTimer{s: s, d: d, start: time.Now(), probe: kernelProgress(s.conn)}
	if t.probe != nil {
		t.base = t.counts()
	}
	t.t = time.AfterFunc(d, t.fire)
	return t
}

// counts reads the kernel's counters and the Socket's.
func (t *idleTimer) counts() kernelCounts {
	var c kernelCounts
	c.received, c.acked, c.ok = t.probe()
	c.read, c.written = uint64(t.s.BytesRead()), uint64(t.s.BytesWritten())
	return c
}

// beyondSocket is how many bytes, since the timer started, the kernel
// received or had acknowledged beyond those the Socket read or wrote. A
// byte written through the Socket is acknowledged later, and one received
// is read later: neither makes it grow. Only bytes that bypassed the
// Socket, or that arrived and wait unread, do.
func (t *idleTimer) beyondSocket(c kernelCounts) uint64 {
	over := func(kernel, kernel0, sock, sock0 uint64) uint64 {
		k, s := kernel-kernel0, sock-sock0
		if k > s {
			return k - s
		}
		return 0
	}
	b := t.base
	return over(c.received, b.received, c.read, b.read) + over(c.acked, b.acked, c.written, b.written)
}

func (t *idleTimer) touch() { t.last.Store(int64(time.Since(t.start))) }

// fire checks for activity in the last period. Without any, it is a
// timeout; else the timer waits for the rest of the period after it.
func (t *idleTimer) fire() {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	now := time.Since(t.start)
	idleFor := now - time.Duration(t.last.Load())
	active := idleFor < t.d
	if t.probe != nil && t.base.ok {
		if c := t.counts(); c.ok {
			if b := t.beyondSocket(c); b > t.beyond {
				t.beyond = b
				active, idleFor = true, 0
			}
		}
	}
	next := t.d
	if active && idleFor > 0 {
		next = t.d - idleFor
	}
	t.t.Reset(next)
	t.mu.Unlock()
	if !active {
		if t.s.hooks.OnTimeout != nil {
			t.s.hooks.OnTimeout(t.s)
		}
		t.s.afterTimeout()
	}
}

func (t *idleTimer) stop() {
	t.mu.Lock()
	t.stopped = true
	t.t.Stop()
	t.mu.Unlock()
}
