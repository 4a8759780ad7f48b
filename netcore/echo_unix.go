//go:build unix

package netcore

import (
	"net"
	"os"
	"syscall"
)

// echoHasRawPath tells whether Echo has its raw fast path here.
const echoHasRawPath = true

// rawEcho is the state of one connection on the fast path. It is allocated
// once per connection, with the method value handed to RawConn.Read, so
// the loop itself allocates nothing.
type rawEcho struct {
	c             net.Conn
	o             *EchoOptions
	large         bool // the last read filled a small buffer: bulk traffic
	eof           bool
	read, written int64
	err           error
}

// echoRaw serves c through its raw descriptor. ok is false when c has
// none, and then nothing has been read.
func echoRaw(c net.Conn, o *EchoOptions) (read, written int64, err error, ok bool) {
	sc, isSC := c.(syscall.Conn)
	if !isSC {
		return 0, 0, nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, 0, nil, false
	}
	e := &rawEcho{c: c, o: o}
	// One Read call for the whole connection: onReadable returns false
	// to wait for the next readability, and true when the connection is
	// over, so the descriptor's lock and the poller's reset are paid
	// once, not per request. While it waits the goroutine is parked in
	// the runtime poller holding no buffer.
	rerr := rc.Read(e.onReadable)
	if e.err == nil {
		e.err = rerr
	}
	return e.read, e.written, e.err, true
}

// onReadable reads what the socket has and writes it back, until the
// socket is drained (false: wait for more) or the connection is over
// (true).
func (e *rawEcho) onReadable(fd uintptr) bool {
	for {
		b := getBuf(e.large)
		buf := *b
		n, err := syscall.Read(int(fd), buf)
		switch {
		case err == syscall.EINTR:
			putBuf(b)
			continue
		case err == syscall.EAGAIN:
			putBuf(b)
			return false
		case err != nil:
			putBuf(b)
			e.err = syscallErr("read", err)
			return true
		case n == 0:
			putBuf(b)
			e.eof = true
			return true
		}
		e.read += int64(n)
		e.o.readIn(buf[:n])
		werr := e.writeAll(fd, buf[:n])
		putBuf(b)
		if werr != nil {
			e.err = werr
			return true
		}
		// Read again until EAGAIN even after a short read: a short
		// read does not prove there is nothing more to learn, since the
		// client's FIN (or a reset) may have come in with the data, and
		// the poller's wake-up for it was used by the wait that led here.
		e.large = n == len(buf)
	}
}

// writeAll writes p to the socket. When the socket's send buffer is full
// it waits, through the connection's own Write, until the client reads or
// a deadline or Close ends the wait; meanwhile nothing more is read.
func (e *rawEcho) writeAll(fd uintptr, p []byte) error {
	for len(p) > 0 {
		n, err := syscall.Write(int(fd), p)
		if n > 0 {
			e.wrote(n)
			p = p[n:]
		}
		switch {
		case err == nil, err == syscall.EINTR:
		case err == syscall.EAGAIN:
			// Back-pressure: park in the poller until the socket
			// is writable, holding this one buffer.
			n, err := e.c.Write(p)
			e.wrote(n)
			if err == nil {
				e.o.drained()
			}
			return err
		default:
			return syscallErr("write", err)
		}
	}
	return nil
}

func (e *rawEcho) wrote(n int) {
	e.written += int64(n)
	e.o.wroteOut(n)
}

// syscallErr names a failed system call the way Node's message needs it
// ("read ECONNRESET"), leaving nil alone.
func syscallErr(name string, err error) error {
	if err == nil {
		return nil
	}
	return os.NewSyscallError(name, err)
}
