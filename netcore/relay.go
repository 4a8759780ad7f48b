package netcore

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// RelayOptions change how Relay ends.
type RelayOptions struct {
	// NoShutdown never half-closes the socket when In ends (for peers
	// that take a FIN as an abort); the relay then ends when the peer
	// does.
	NoShutdown bool
	// EndOut passes the peer's end on to out: when the peer ends, out is
	// half-closed (CloseWrite) or, lacking that, closed, so that whoever
	// reads out sees its end (a child's stdin, for Exec).
	EndOut bool
	// Stop, when set, is what ends the relay instead of the peer's end:
	// the relay is over once in has ended and Stop is closed (Exec: the
	// child's output is all sent and it has exited), whether or not the
	// peer has ended; a failure, or the socket's destruction, still ends
	// it at once.
	Stop <-chan struct{}
}

// Relay copies in to s and s to out at the same time, byte-exact, and
// returns when the conversation is over:
//
//   - when in ends, our side is ended (FIN, unless NoShutdown) and the
//     relay goes on printing until the peer ends;
//   - when the peer ends first, s.AllowHalfOpen decides, as in Node:
//     false ends our side at once and returns; true keeps sending in
//     until its end;
//   - with NoShutdown, the relay returns when the peer ends;
//   - a failure on either side destroys s and is returned, named as Node
//     names it ("write EPIPE", "read ECONNRESET"): nothing is dropped
//     silently.
//
// s is destroyed when Relay returns. A nil in is an empty input.
//
// Relay hands io.Copy the bare connection and, when in and out are
// *os.File, the bare files, so that Linux moves the bytes with splice(2)
// and sendfile(2) without copying them through user space; the byte
// counts come from io.Copy's results. Three cases copy through a buffer
// instead: SocketHooks.OnData is set (it must see every chunk), OnDrain is
// set (in to s only: it must see a full send buffer), or an idle timeout
// is set on a connection whose kernel keeps no byte counters (a Unix
// socket).
//
// When the relay returns before in has ended (the peer ended, or a
// failure), a Read of in that is blocked stays blocked: the goroutine that
// made it ends when that Read returns.
func Relay(s *Socket, in io.Reader, out io.Writer, opts RelayOptions) error {
	if opts.Stop != nil {
		return relayUntil(s, in, out, opts)
	}
	up := make(chan error, 1)
	down := make(chan error, 1)
	go func() { down <- relayDown(s, out, opts.EndOut) }()
	go func() { up <- relayUp(s, in, opts) }()
	inDone := false
	for {
		select {
		case err := <-up:
			if err != nil {
				s.Destroy(err)
				<-down
				return err
			}
			inDone = true
		case err := <-down:
			if err != nil {
				s.Destroy(err)
				return err
			}
			// The peer ended (and Socket.peerEnded ended our side too
			// unless AllowHalfOpen).
			if inDone || opts.NoShutdown || !s.allowHalfOpen {
				s.Destroy(nil)
				return nil
			}
			if err := <-up; err != nil {
				s.Destroy(err)
				return err
			}
			s.Destroy(nil)
			return nil
		}
	}
}

// relayUntil is how a relay with a Stop ends: once in has ended (our
// side ended) and stop is closed, whether or not the peer has ended. When
// the peer has ended first, our end waits for stop, so that the
// connection closes after it (Exec: the close event then knows how the
// child ended). A failure on either side ends the relay at once, and so
// does the socket's destruction by someone else (net.ErrClosed), since in
// may never end.
func relayUntil(s *Socket, in io.Reader, out io.Writer, opts RelayOptions) error {
	up := make(chan error, 1)
	down := make(chan error, 1)
	go func() { down <- relayDown(s, out, opts.EndOut) }()
	go func() { up <- relayUpCopy(s, in) }()
	stop, closed := opts.Stop, s.closed
	inDone, downDone, stopped, ended := false, false, false, false
	for {
		select {
		case err := <-up:
			if err != nil {
				s.Destroy(err)
				return err
			}
			inDone = true
		case err := <-down:
			if err != nil {
				s.Destroy(err)
				return err
			}
			downDone = true
		case <-stop:
			stop, stopped = nil, true
		case <-closed:
			closed = nil
			if !ended {
				return net.ErrClosed
			}
			// Our end closed the socket after the peer's: a normal end.
		}
		if inDone && !ended && (stopped || !downDone) {
			ended = true
			if err := s.End(); err != nil {
				return err
			}
		}
		if inDone && stopped {
			s.Destroy(nil)
			return nil
		}
	}
}

// relayDown copies the socket to out until the peer ends (nil) or a
// failure; with endOut, the peer's end is passed on to out.
func relayDown(s *Socket, out io.Writer, endOut bool) error {
	err := relayDownCopy(s, out)
	if err == nil && endOut {
		if cw, ok := out.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite() //nolint:errcheck // the reader may be gone already
		} else if c, ok := out.(io.Closer); ok {
			c.Close() //nolint:errcheck // the reader may be gone already
		}
	}
	return err
}

// relayDownCopy is relayDown's copy.
func relayDownCopy(s *Socket, out io.Writer) error {
	if err := s.waitResumed(); err != nil {
		return err
	}
	if s.hooks.OnData == nil && s.kernelCopyOK() {
		n, err := io.Copy(out, s.conn)
		if n > 0 {
			s.bytesRead.Add(n)
			s.touch()
		}
		if err != nil {
			return relayError(err, "read")
		}
		s.peerEnded()
		return nil
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				return relayError(werr, "write")
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// relayUp copies in to the socket, then ends our side.
func relayUp(s *Socket, in io.Reader, opts RelayOptions) error {
	if err := relayUpCopy(s, in); err != nil {
		return err
	}
	if opts.NoShutdown {
		return nil
	}
	return s.End()
}

// relayUpCopy copies in to the socket until in ends.
func relayUpCopy(s *Socket, in io.Reader) error {
	if in == nil {
		return nil
	}
	var n int64
	var err error
	if s.kernelCopyOK() && s.hooks.OnDrain == nil {
		n, err = io.Copy(s.conn, in)
		if n > 0 {
			s.bytesWritten.Add(n)
			s.touch()
		}
	} else {
		_, err = io.Copy(socketWriter{s}, readerOnly{in})
	}
	if err != nil {
		return relayError(err, "write")
	}
	return nil
}

// kernelCopyOK reports whether the relay may let the kernel move bytes
// past the Socket: always, unless an idle timer needs to see them and
// the kernel keeps no counters for this connection.
func (s *Socket) kernelCopyOK() bool {
	t := s.idleTimer()
	return t == nil || t.probe != nil
}

// socketWriter writes through the Socket, so that bytes are counted and
// re-arm the idle timer.
type socketWriter struct{ s *Socket }

func (w socketWriter) Write(p []byte) (int, error) { return w.s.Write(p) }

// readerOnly hides a reader's WriteTo, so that io.Copy uses the buffer
// path through socketWriter.
type readerOnly struct{ io.Reader }

// relayError names a relay failure as Node does. A splice reports one
// error for both of its ends, so the side is told by the errno: a
// connection reset or timeout is the socket's ("read ECONNRESET"), a
// broken pipe or a full disk the writer's ("write EPIPE"). An error on a
// socket we closed ourselves is returned as it is.
func relayError(err error, op string) error {
	if errors.Is(err, net.ErrClosed) {
		return err
	}
	var ne *Error
	if errors.As(err, &ne) {
		return err
	}
	if errno, ok := Errno(err); ok {
		switch errno {
		case syscall.ECONNRESET, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ECONNABORTED:
			if op == "read" {
				return sysError(err, "read", "", 0)
			}
		case syscall.EPIPE, syscall.ENOSPC, syscall.EIO, syscall.EBADF:
			return sysError(err, "write", "", 0)
		}
	}
	return sysError(err, op, "", 0)
}
