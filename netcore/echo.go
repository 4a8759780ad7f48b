package netcore

import (
	"errors"
	"io"
	"net"
	"os"
)

// DefaultGreeting is what the Node docs' echo server writes to each client
// before it echoes anything.
const DefaultGreeting = "hello\r\n"

// EchoOptions configures Echo. The zero value (and a nil *EchoOptions)
// echoes without a greeting, counts nothing beyond Echo's return values and
// leaves the connection as it is when the client ends.
type EchoOptions struct {
	// Greeting is written to the client before anything is read; empty for
	// none. The Node docs' server writes DefaultGreeting.
	Greeting []byte

	// HalfClose makes Echo end the writing side (CloseWrite: a FIN) when
	// the client has ended and everything has been echoed, for a server
	// with allowHalfOpen that keeps the socket until it decides otherwise.
	// With Node's default (allowHalfOpen false) the caller closes the
	// connection after Echo returns, which sends the same FIN: nothing is
	// left unread, so no reset.
	HalfClose bool

	// stats, when not nil, counts the bytes of every connection served
	// with it as they move: NewEchoServer points it at the Server's own
	// counters. Nil costs nothing.
	stats *serverStats

	// OnData, when not nil, is called with each chunk read, before it is
	// echoed: Node's 'data' event. p is valid only during the call. The
	// default is no call.
	OnData func(p []byte)

	// sock, set by EchoSocket, is the Socket whose counters, idle timer
	// and data hook follow the bytes as they move.
	sock *Socket
}

// hooked tells whether a hook watches each chunk or each wait. The raw
// path runs inside the descriptor's read lock, where a hook that destroys
// the socket would wait for that very lock; hooked connections take the
// plain path, whose hooks run outside it.
func (o *EchoOptions) hooked() bool {
	if o.OnData != nil {
		return true
	}
	s := o.sock
	return s != nil && (s.hooks.OnData != nil || s.hooks.OnDrain != nil)
}

// readIn accounts for a chunk read from the client, before it is echoed.
func (o *EchoOptions) readIn(p []byte) {
	if o.stats != nil {
		o.stats.BytesRead.Add(int64(len(p)))
	}
	if s := o.sock; s != nil {
		s.bytesRead.Add(int64(len(p)))
		s.touch()
		if s.hooks.OnData != nil {
			s.hooks.OnData(s, p)
		}
	}
	if o.OnData != nil {
		o.OnData(p)
	}
}

// wroteOut accounts for n bytes written to the client.
func (o *EchoOptions) wroteOut(n int) {
	if n <= 0 {
		return
	}
	if o.stats != nil {
		o.stats.BytesWritten.Add(int64(n))
	}
	if s := o.sock; s != nil {
		s.bytesWritten.Add(int64(n))
		s.touch()
	}
}

// Echo serves one accepted connection as the echo server of Node's
// net.createServer example: it writes the greeting, then writes back every
// byte the client sends, in order, until the client ends (EOF). It returns
// the bytes read from and written to the client (greeting included) and
// nil when the client ended and everything was echoed; the caller then
// closes the connection. Any other end (a reset, a write to a client that
// went away, a deadline set by the caller, Close from another goroutine)
// is returned as an error; a read or write error from the system is an
// *os.SyscallError naming "read" or "write", which Node's message needs.
//
// Echo never buffers more than one read: while a write waits for a client
// that does not read, Echo reads nothing more (Node's pause and resume),
// and the kernel's socket buffers push back on the client. When c is a
// syscall.Conn (*net.TCPConn, *net.UnixConn) on a Unix system, Echo waits
// for readability through its syscall.RawConn and takes a pooled buffer
// only when there is data, so an idle connection holds no buffer; it reads
// and writes with plain system calls. Any other net.Conn (a Windows pipe, a
// TLS connection) is served with Read and Write.
//
// After a deadline error nothing is in flight if the deadline was a read
// deadline, and Echo may be called again (without a greeting) to go on.
func Echo(c net.Conn, opts *EchoOptions) (read, written int64, err error) {
	var o EchoOptions
	if opts != nil {
		o = *opts
	}
	if len(o.Greeting) > 0 {
		n, err := c.Write(o.Greeting)
		written += int64(n)
		o.wroteOut(n)
		if err != nil {
			return read, written, err
		}
	}
	var r, w int64
	ok := false
	if echoHasRawPath && !o.hooked() {
		r, w, err, ok = echoRaw(c, &o)
	}
	if !ok {
		r, w, err = echoPlain(c, &o)
	}
	read, written = read+r, written+w
	if err == nil && o.HalfClose {
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			err = cw.CloseWrite()
		}
	}
	return read, written, err
}

// echoPlainSmall is what echoPlain reads into while it waits: a TLS
// connection or a named pipe that has nothing to say holds this, not a
// pooled buffer.
const echoPlainSmall = 512

// echoPlain is Echo's loop for a net.Conn that offers no raw descriptor
// (TLS, a named pipe, a connection whose hooks watch each chunk). Its
// waits in Read hold a small buffer of the connection's own; a read that
// fills it is bulk traffic, and the loop takes a pooled buffer until a
// read comes back short again.
func echoPlain(c net.Conn, o *EchoOptions) (read, written int64, err error) {
	small := make([]byte, echoPlainSmall)
	var pooled *[]byte
	defer func() {
		if pooled != nil {
			putBuf(pooled)
		}
	}()
	for {
		buf := small
		if pooled != nil {
			buf = *pooled
		}
		n, rerr := c.Read(buf)
		if n > 0 {
			read += int64(n)
			o.readIn(buf[:n])
			w, werr := o.write(c, buf[:n])
			written += int64(w)
			if werr != nil {
				return read, written, werr
			}
		}
		switch {
		case pooled == nil && n == len(small):
			pooled = getBuf(false)
		case pooled != nil && n < len(*pooled):
			putBuf(pooled)
			pooled = nil
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return read, written, nil
			}
			return read, written, rerr
		}
	}
}

// NewEchoServer returns a Server whose handler is the echo server of
// Node's net.createServer example, with eo's greeting: each client is
// greeted, then everything it sends comes back, and its end ends the
// connection once everything was echoed (as c.pipe(c) does, whatever
// AllowHalfOpen says). On Linux it is served from io_uring (else epoll)
// loops unless an option needs a Socket per connection (see EngineAuto); its counters,
// policy and events are the same on every engine.
func NewEchoServer(opts ServerOptions, eo EchoOptions) *Server {
	s := NewServer(opts, nil)
	eo.HalfClose, eo.sock = false, nil
	eo.stats = &s.stats
	s.echo = &eo
	s.handler = func(sock *Socket) {
		EchoSocket(sock, s.echo) //nolint:errcheck // reported through the socket's hooks
	}
	return s
}

// write writes p to c for the plain path, accounting for it; when the
// socket's drain event is watched, it notices a full send buffer and
// fires the event once the bytes are out.
func (o *EchoOptions) write(c net.Conn, p []byte) (int, error) {
	if s := o.sock; s != nil && s.hooks.OnDrain != nil {
		n, waited, err := writeNoticingWait(c, p, o.wroteOut)
		if err == nil && waited {
			o.drained()
		}
		return n, err
	}
	n, err := c.Write(p)
	o.wroteOut(n)
	return n, err
}

// drained fires the socket's OnDrain, after a write that waited for the
// client to read has completed.
func (o *EchoOptions) drained() {
	if s := o.sock; s != nil && s.hooks.OnDrain != nil {
		s.hooks.OnDrain(s)
	}
}

// EchoSocket serves a Server's connection as Echo serves a net.Conn, and
// keeps the Socket's books while it does: the bytes count towards
// BytesRead and BytesWritten as they move, each chunk re-arms the idle
// timeout (SetTimeout) and is given to SocketHooks.OnData, and the
// client's end is handled as Socket.Read handles it (OnEnd, then, unless
// AllowHalfOpen, End and the close that follows). opts.HalfClose is
// ignored: the Socket's AllowHalfOpen decides.
//
// A read or write failure destroys the socket with Node's error ("read
// ECONNRESET", "write EPIPE"), which EchoSocket also returns. It returns
// nil when the client ended and everything was echoed, and net.ErrClosed
// when the socket was destroyed meanwhile (Server.Destroy, an idle
// timeout's action).
func EchoSocket(s *Socket, opts *EchoOptions) error {
	var o EchoOptions
	if opts != nil {
		o = *opts
	}
	o.sock, o.HalfClose = s, false
	_, _, err := Echo(s.conn, &o)
	if err == nil {
		s.peerEnded()
		return nil
	}
	select {
	case <-s.closed:
		return net.ErrClosed
	default:
	}
	if errors.Is(err, net.ErrClosed) {
		s.Destroy(nil)
		return err
	}
	e := nodeIOError(err, "read")
	s.Destroy(e)
	return e
}

// nodeIOError names a read or write failure as Node does ("read
// ECONNRESET"), from the system call an *os.SyscallError names, or op
// when it names none. Errors that are Node's already pass as they are.
func nodeIOError(err error, op string) error {
	var e *Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return sysError(se.Err, se.Syscall, "", 0)
	}
	return sysError(err, op, "", 0)
}
