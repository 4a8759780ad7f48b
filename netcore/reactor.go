package netcore

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// reactor is the Server's event-loop engine for the echo handler (Linux:
// see reactorSupported). Each loop owns an epoll instance and waits in
// epoll_wait; it accepts connections itself (accept4, never a net.Conn),
// and a connection is a descriptor and a small slot in its loop's table:
// no goroutine stack, no read buffer, no runtime poller record. A loop
// reads into its one buffer and writes the bytes straight back, so an idle
// connection costs the kernel's socket and a few dozen bytes in the
// process. Readiness is level-triggered: a loop reads once per event and
// the kernel reports the socket again while data (or the client's FIN) is
// left, so no read is spent collecting EAGAIN, and connections take turns
// fairly.
//
// When a write cannot finish because the client does not read, the rest
// is kept in one pooled buffer (or, for a greeting larger than a pooled
// buffer, a buffer of its size) and the loop stops reading from that
// client until the buffer has been written (Node's pause and resume).
//
// Its fields must not change after serve. Its hooks run on the loops'
// goroutines, concurrently when there are several loops; the Server gives
// them its policy (limits, block list, counters) and its events.
type reactor struct {
	// greeting is written to each client when it is accepted.
	greeting []byte
	// loops is the number of event loops (at least 1). The listeners are
	// shared out among the loops; when there are fewer listeners than
	// loops, every loop accepts on every listener, and EPOLLEXCLUSIVE
	// wakes one loop per new connection.
	loops int
	// noDelay, keepAlive and keepAliveIdle are Node's socket options,
	// set on each TCP connection.
	noDelay       bool
	keepAlive     bool
	keepAliveIdle time.Duration
	// stats counts connections and bytes; the loops add to it once per
	// batch of events, not once per read.
	stats *serverStats
	hooks reactorHooks
	// uring serves from io_uring loops (uringloop_linux.go) instead of
	// epoll loops: the same hooks, policy and promises.
	uring bool
	// feed, when set, is where the connections come from instead of
	// listeners: a worker process's master hands them over (feed returns
	// each descriptor and the master's id for it, and an error once
	// there will be no more). The loops take them in turn. lost is told
	// the id of a connection handed over after the loops stopped taking
	// any: it is closed unserved.
	feed func() (fd int, id uint64, err error)
	lost func(id uint64)

	mu sync.Mutex
	rt *reactorRuntime // nil until serve
}

// reactorHooks are what a Server asks of its reactor's connections. The
// Server sets every hook; the reactor calls each one only for a
// connection whose reactorConn onConnection returned.
type reactorHooks struct {
	// onConnection decides on an accepted connection before the
	// greeting: nil closes it at once (the Server has counted the drop
	// and reported it); otherwise the Socket that stands for it in the
	// Server's events, or a Socket-less admission (admitted true, sock
	// nil) when nothing watches the connection.
	onConnection func(c *reactorConn) (admitted bool)
	// onData is called with each chunk read, before it is echoed; p is
	// valid only during the call. Nil when no 'data' event is watched.
	onData func(c *reactorConn, p []byte)
	// onEnd: the client ended and everything it sent was echoed; the
	// close follows. Nil when neither 'end' nor 'finish' is watched.
	onEnd func(c *reactorConn)
	// onDrain: the bytes a client could not take have all been written.
	onDrain func(c *reactorConn)
	// onClose: an admitted connection has been closed; err is nil when
	// the client ended and everything was echoed (or on Destroy), else
	// the read or write error, worded as Node words it.
	onClose func(c *reactorConn, err error)
	// onError reports an accept error: the first lack of descriptors or
	// memory, after which the loops go on serving and retry accepting
	// with a growing pause, and any error that ends a listener.
	onError func(err error)
	// watch tells whether the hooks need a reactorConn (addresses, a
	// Socket) for every connection: false when the Server has no limit,
	// no block list and no events, so that a connection costs nothing
	// beyond its slot.
	watch bool
}

// reactorConn is one connection of a reactor, as the Server's policy and
// events see it: its addresses, the Socket its events carry (nil when no
// event is watched), and its descriptor's way back to its loop.
//
// As a net.Conn (a Socket's conn) it gives the addresses; Read and Write
// fail, since the loop owns the descriptor; Close asks the loop to close
// the connection, so that Socket.Destroy from a hook works.
type reactorConn struct {
	local, remote net.Addr
	sock          *Socket
	at            loopPlace   // its loop and descriptor
	closing       atomic.Bool // the loop is closing it, or was asked to
	id            uint64      // the master's id of a fed connection, else 0
}

// adoptQueue holds the connections handed to a loop by its reactor's
// feed, until the loop takes them on its own goroutine.
type adoptQueue struct {
	mu   sync.Mutex
	q    []adopted
	done bool // the loop takes no more: close what comes
}

// adopted is one connection handed over: its descriptor and its id.
type adopted struct {
	fd int
	id uint64
}

// put queues a connection for the loop, unless the loop has stopped
// taking them: then it reports false.
func (q *adoptQueue) put(a adopted) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.done {
		return false
	}
	q.q = append(q.q, a)
	return true
}

// take returns the connections queued, and with last, marks the queue
// done: from then on put refuses.
func (q *adoptQueue) take(last bool) []adopted {
	q.mu.Lock()
	defer q.mu.Unlock()
	a := q.q
	q.q = nil
	q.done = q.done || last
	return a
}

var errLoopOwned = errors.New("netcore: the connection is served by an event loop")

func (c *reactorConn) Read([]byte) (int, error)         { return 0, errLoopOwned }
func (c *reactorConn) Write([]byte) (int, error)        { return 0, errLoopOwned }
func (c *reactorConn) LocalAddr() net.Addr              { return c.local }
func (c *reactorConn) RemoteAddr() net.Addr             { return c.remote }
func (c *reactorConn) SetDeadline(time.Time) error      { return errLoopOwned }
func (c *reactorConn) SetReadDeadline(time.Time) error  { return errLoopOwned }
func (c *reactorConn) SetWriteDeadline(time.Time) error { return errLoopOwned }

// Close asks the connection's loop to close it, unless the loop is
// closing it already.
func (c *reactorConn) Close() error {
	if c.closing.CompareAndSwap(false, true) {
		c.at.requestClose(c)
	}
	return nil
}

var errReactorNotServing = errors.New("netcore: the event loops are not serving")

// serve starts the loops on the listeners and returns. The listeners must
// be *net.TCPListener or *net.UnixListener, or wrap one through
// syscall.Conn. serve takes them over: it keeps a copy of each socket and
// closes the net.Listener, so that the Go runtime's poller no longer
// watches it. A Unix socket file stays in place (a listener with
// SetUnlinkOnClose is told to keep it); removing it is the Server's.
func (r *reactor) serve(lns []net.Listener) error {
	if len(lns) == 0 && r.feed == nil {
		return errors.New("netcore: the event loops need a listener")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rt != nil {
		return errors.New("netcore: the event loops were started twice")
	}
	rt, err := r.start(lns)
	if err != nil {
		return err
	}
	r.rt = rt
	return nil
}

// close stops accepting and lets the open connections end, as Node's
// server.close() does; done is closed when the last one has.
func (r *reactor) close() error {
	rt := r.runtime()
	if rt == nil {
		return errReactorNotServing
	}
	rt.signal(reactorClosing)
	return nil
}

// destroy stops accepting and closes every connection at once.
func (r *reactor) destroy() error {
	rt := r.runtime()
	if rt == nil {
		return errReactorNotServing
	}
	rt.signal(reactorDestroying)
	return nil
}

// done is closed when every loop has ended, after close or destroy. It
// is nil before serve.
func (r *reactor) done() <-chan struct{} {
	if rt := r.runtime(); rt != nil {
		return rt.done
	}
	return nil
}

// open returns the number of connections open now.
func (r *reactor) open() int {
	if rt := r.runtime(); rt != nil {
		return rt.open()
	}
	return 0
}

func (r *reactor) runtime() *reactorRuntime {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rt
}

// The reactor's states, in the order they can follow one another.
const (
	reactorRunning = iota
	reactorClosing
	reactorDestroying
)
