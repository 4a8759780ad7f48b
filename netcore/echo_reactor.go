package netcore

import (
	"errors"
	"net"
	"sync"
	"time"
)

// EchoReactor serves echo connections from a few event loops instead of a
// goroutine per connection (Linux only: see EchoReactorSupported). Each
// loop owns an epoll instance and waits in epoll_wait; it accepts
// connections itself (accept4, never a net.Conn), and a connection is a
// descriptor and a small slot in its loop's table: no goroutine stack, no
// read buffer, no runtime poller record. A loop reads into its one buffer
// and writes the bytes straight back, so an idle connection costs the
// kernel's socket and a few dozen bytes in the process. Readiness is
// level-triggered: a loop reads once per event and the kernel reports the
// socket again while data (or the client's FIN) is left, so no read is
// spent collecting EAGAIN, and connections take turns fairly.
//
// When a write cannot finish because the client does not read, the rest
// is kept in one pooled buffer and the loop stops reading from that client
// until the buffer has been written (Node's pause and resume).
//
// The zero EchoReactor echoes without a greeting on GOMAXPROCS loops. Its
// fields must not change after Serve. Its hooks run on the loops'
// goroutines, concurrently when there are several loops; a hook that
// blocks stalls every connection of its loop.
type EchoReactor struct {
	// Greeting is written to each client when it is accepted.
	Greeting []byte
	// Loops is the number of event loops; 0 means GOMAXPROCS. The
	// listeners given to Serve are shared out among the loops; when there
	// are fewer listeners than loops, every loop accepts on every
	// listener, and the kernel wakes one loop per new connection.
	Loops int
	// NoDelay turns Nagle's algorithm off on each TCP connection (Node's
	// noDelay; off by default, which also spares a system call per
	// connection).
	NoDelay bool
	// KeepAlive turns TCP keep-alive on for each TCP connection, probing
	// after KeepAliveIdle of idleness (0: the system's default).
	KeepAlive     bool
	KeepAliveIdle time.Duration
	// Stats, when not nil, counts connections and bytes. The loops add to
	// it once per batch of events, not once per read.
	Stats *EchoStats
	// Hooks are the reactor's events; nil fields cost nothing.
	Hooks EchoHooks

	mu   sync.Mutex
	rt   *echoRuntime // nil until Serve
	addr Addr         // the first listener's, from Serve
}

// EchoHooks are an EchoReactor's events. Each is optional.
type EchoHooks struct {
	// OnConnection is called for each accepted connection before the
	// greeting; returning false closes it at once (a blocked address, too
	// many connections: Node's 'drop'). With any hook set, each
	// connection carries an EchoConn with its addresses.
	OnConnection func(c *EchoConn) bool
	// OnData is called with each chunk read, before it is echoed; p is
	// valid only during the call.
	OnData func(c *EchoConn, p []byte)
	// OnDrain is Node's 'drain': the bytes a connection could not take
	// (its client was not reading) have now all been written, and the
	// connection is read again.
	OnDrain func(c *EchoConn)
	// OnClose is called once a connection has been closed: err is nil
	// when the client ended and everything was echoed (or on Destroy),
	// and the read or write error otherwise, an *Error worded as Node
	// words it ("read ECONNRESET").
	OnClose func(c *EchoConn, err error)
	// OnError reports an accept error, an *Error worded as Node words it
	// ("accept EMFILE"): the first lack of descriptors or memory (EMFILE,
	// ENFILE, ENOBUFS, ENOMEM; see IsAcceptLimitError), after which the
	// loops go on serving and retry accepting with a growing pause (5ms
	// doubling to 1s), and any error that ends a listener.
	OnError func(err error)
}

// EchoConn is one connection of an EchoReactor, as its hooks see it.
type EchoConn struct {
	Local, Remote net.Addr
	// BytesRead and BytesWritten are the connection's counts (greeting
	// included), up to date in OnData (read) and OnClose (both).
	BytesRead, BytesWritten int64
	// Value is the caller's, for example the connection's event id; the
	// reactor never looks at it.
	Value any
}

// RemoteAddr is the client's address in Node's form (remoteAddress,
// remotePort, remoteFamily); for a Unix socket client it is empty, as
// Node gives none.
func (c *EchoConn) RemoteAddr() Addr { return addrOf(c.Remote) }

// LocalAddr is the address the client reached in Node's form
// (localAddress, localPort, localFamily), or the socket's path.
func (c *EchoConn) LocalAddr() Addr { return addrOf(c.Local) }

var errReactorNotServing = errors.New("netcore: EchoReactor is not serving")

// Serve starts the loops on the listeners and returns. The listeners must
// be *net.TCPListener or *net.UnixListener, or wrap one through
// syscall.Conn. Serve takes them over: it keeps a copy of each socket and
// closes the net.Listener, so that the Go runtime's poller no longer
// watches it. A Unix socket file stays in place (a listener with
// SetUnlinkOnClose, such as *net.UnixListener, is told to keep it);
// removing it is the caller's, once Close has been called. Where EchoReactorSupported is false, Serve returns
// an error that wraps errors.ErrUnsupported and leaves the listeners open.
func (r *EchoReactor) Serve(lns ...net.Listener) error {
	if len(lns) == 0 {
		return errors.New("netcore: EchoReactor.Serve needs a listener")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rt != nil {
		return errors.New("netcore: EchoReactor.Serve called twice")
	}
	addr := addrOf(lns[0].Addr())
	rt, err := r.start(lns)
	if err != nil {
		return err
	}
	r.rt, r.addr = rt, addr
	return nil
}

// Address is Node's server.address(): the first listener's address, as
// bound. It is the zero Addr before Serve.
func (r *EchoReactor) Address() Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr
}

// Close stops accepting and lets the open connections end, as Node's
// server.close() does; Done is closed when the last one has.
func (r *EchoReactor) Close() error {
	rt := r.runtime()
	if rt == nil {
		return errReactorNotServing
	}
	rt.signal(echoClosing)
	return nil
}

// Destroy stops accepting and closes every connection at once.
func (r *EchoReactor) Destroy() error {
	rt := r.runtime()
	if rt == nil {
		return errReactorNotServing
	}
	rt.signal(echoDestroying)
	return nil
}

// Done is closed when every loop has ended, after Close or Destroy. It is
// nil before Serve.
func (r *EchoReactor) Done() <-chan struct{} {
	if rt := r.runtime(); rt != nil {
		return rt.done
	}
	return nil
}

// Open returns the number of connections open now.
func (r *EchoReactor) Open() int {
	if rt := r.runtime(); rt != nil {
		return rt.open()
	}
	return 0
}

func (r *EchoReactor) runtime() *echoRuntime {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rt
}

// The reactor's states, in the order they can follow one another.
const (
	echoRunning = iota
	echoClosing
	echoDestroying
)
