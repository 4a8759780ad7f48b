package netcore

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// RelayOptions change how Relay ends.
type RelayOptions struct {
	// NoShutdown never half-closes the socket when In ends (for peers
	// that take a FIN as an abort); the relay then ends when the peer
	// does.
	NoShutdown bool
	// EndGrace, when not 0, holds our FIN after in ends while the peer
	// may still be answering: many servers (nginx, ncat, nc -N) take a FIN
	// as the end of the exchange and cut short the answer they are
	// sending. The FIN then goes once the peer has ended, or once nothing
	// has come from the peer (and nothing waits to be read) for EndGrace,
	// counted from the later of the first byte of in and the last byte
	// from the peer; for five times EndGrace when the peer is answering
	// (it has sent since in started, or in was the null device: only
	// receiving), since an answer may pause; plus two round-trip times.
	// It goes at once, without holding, after an upload (in gave
	// UploadBytes or more: a peer that answers waits for the request to
	// end, and that wait is what the FIN ends) and after an empty in that
	// is not the null device (an empty message). A peer that answers only
	// after our end (Node's c.on('end', ...)) gets the FIN EndGrace
	// late. 0 sends the FIN as soon as in ends, as Node's pipe() does.
	EndGrace time.Duration
	// EndOut passes the peer's end on to out: when the peer ends, out is
	// half-closed (CloseWrite) or, lacking that, closed, so that whoever
	// reads out sees its end (a child's stdin, for Exec).
	EndOut bool
	// Stop, when set, is what ends the relay instead of the peer's end:
	// the relay is over once in has ended and Stop is closed (Exec: the
	// child's output is all sent and it has exited), whether or not the
	// peer has ended; a failure, or the socket's destruction, still ends
	// it at once. EndGrace and NoShutdown do not apply.
	Stop <-chan struct{}
	// FDs are descriptors sent with the first bytes of in (WriteFDs; Node
	// v0.4's write(data, encoding, fd)): the socket must be a Unix socket.
	// When in ends before its first byte, nothing can carry them, and the
	// relay fails with ENODATA rather than drop them unsaid.
	FDs []int
}

// DefaultEndGrace is the EndGrace of `nodenet connect`.
const DefaultEndGrace = 100 * time.Millisecond

// UploadBytes is the size of an input after which Relay's EndGrace does
// not hold the FIN: the input was an upload, not a request.
const UploadBytes = 64 << 10

// OutputError is how Relay reports a failure to write to out, as opposed
// to a failure of the socket: Err is "write EPIPE" when out is a pipe
// whose reader has gone, "write ENOSPC" on a full disk. The socket is
// destroyed without an error: it did not fail.
type OutputError struct{ Err *Error }

func (e *OutputError) Error() string { return e.Err.Error() }
func (e *OutputError) Unwrap() error { return e.Err }

// Relay copies in to s and s to out at the same time, byte-exact, and
// returns when the conversation is over:
//
//   - when in ends, our side is ended (FIN, unless NoShutdown; held while
//     the peer is still sending when EndGrace is set) and the relay goes
//     on printing until the peer ends;
//   - when the peer ends first, s.AllowHalfOpen decides, as in Node:
//     false ends our side at once and returns; true keeps sending in
//     until its end;
//   - with NoShutdown, the relay returns when the peer ends;
//   - a failure on either side destroys s and is returned, named as Node
//     names it ("write EPIPE", "read ECONNRESET"): nothing is dropped
//     silently. A failure to write to out is an *OutputError.
//
// s is destroyed when Relay returns. A nil in is an empty input.
//
// Relay hands io.Copy the bare connection and, when in and out are
// *os.File, the bare files, so that Linux moves the bytes with splice(2)
// and sendfile(2) without copying them through user space; an in that
// is a pipe is spliced straight into the socket (spliceFromPipe), which
// io.Copy cannot do. The byte counts come from the copies' results. These
// cases copy through a buffer instead: SocketHooks.OnData or OnFD is set
// (they must see every chunk and every descriptor that comes with one),
// OnDrain is
// set (in to s only: it must see a full send buffer), an idle timeout or
// EndGrace is set on a connection whose kernel keeps no byte counters (a
// Unix socket; s to out only), or out is a device that splice(2) cannot
// write to (anything but /dev/null: /dev/full, a terminal).
//
// When the relay returns before in has ended (the peer ended, or a
// failure), a Read of in that is blocked stays blocked: the goroutine that
// made it ends when that Read returns.
func Relay(s *Socket, in io.Reader, out io.Writer, opts RelayOptions) error {
	r := &relay{s: s, opts: opts, start: time.Now()}
	if opts.Stop != nil {
		return r.until(in, out)
	}
	if opts.EndGrace > 0 {
		r.peer = watchPeer(s.conn)
	}
	up := make(chan error, 1)
	down := make(chan error, 1)
	go func() { down <- r.downThenEnd(out) }()
	go func() { up <- r.up(in) }()
	inDone := false
	var hold *time.Timer
	var holdC <-chan time.Time
	defer func() {
		if hold != nil {
			hold.Stop()
		}
	}()
	for {
		select {
		case err := <-up:
			if err == nil {
				inDone = true
				if opts.NoShutdown {
					continue
				}
				wait := time.Duration(0)
				if r.hold(in) {
					wait = r.quietLeft()
				}
				if wait <= 0 {
					err = s.End()
				} else {
					hold = time.NewTimer(wait)
					holdC = hold.C
				}
			}
			if err != nil {
				s.Destroy(err)
				<-down
				return err
			}
		case <-holdC:
			wait := r.quietLeft()
			if wait > 0 {
				hold.Reset(wait)
				continue
			}
			holdC = nil
			if err := s.End(); err != nil {
				s.Destroy(err)
				<-down
				return err
			}
		case err := <-down:
			if err != nil {
				s.destroyAfterDown(err)
				return err
			}
			// The peer ended (and Socket.peerEnded ended our side too
			// unless AllowHalfOpen).
			if holdC != nil {
				// The FIN that waited for the peer goes now.
				if err := s.End(); err != nil {
					s.Destroy(err)
					return err
				}
			}
			if inDone || opts.NoShutdown || !s.allowHalfOpen {
				s.Destroy(nil)
				return nil
			}
			// The peer has ended: our FIN goes when in ends, no need to
			// hold it.
			err = <-up
			if err == nil {
				err = s.End()
			}
			if err != nil {
				s.Destroy(err)
				return err
			}
			s.Destroy(nil)
			return nil
		}
	}
}

// until is how a relay with a Stop ends: once in has ended (our side
// ended) and Stop is closed, whether or not the peer has ended. When the
// peer has ended first, our end waits for Stop, so that the connection
// closes after it (Exec: the close event then knows how the child
// ended). A failure on either side ends the relay at once, and so does
// the socket's destruction by someone else (net.ErrClosed), since in may
// never end.
func (r *relay) until(in io.Reader, out io.Writer) error {
	s := r.s
	up := make(chan error, 1)
	down := make(chan error, 1)
	go func() { down <- r.downThenEnd(out) }()
	go func() { up <- r.up(in) }()
	stop, closed := r.opts.Stop, s.closed
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
				s.destroyAfterDown(err)
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
		// Our FIN goes when in ends while the peer is still sending; once
		// the peer has ended (its end passed on to out: the child's
		// output may end because of it, and be heard of first), only
		// after Stop.
		if inDone && !ended && (stopped || !downDone && !r.peerDone.Load()) {
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

// downThenEnd is down, and then, with EndOut, passes the peer's end on
// to out.
func (r *relay) downThenEnd(out io.Writer) error {
	err := r.down(out)
	if err == nil {
		r.peerDone.Store(true)
	}
	if err == nil && r.opts.EndOut {
		if cw, ok := out.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite() //nolint:errcheck // the reader may be gone already
		} else if c, ok := out.(io.Closer); ok {
			c.Close() //nolint:errcheck // the reader may be gone already
		}
	}
	return err
}

// relay is one Relay's state.
type relay struct {
	s     *Socket
	opts  RelayOptions
	start time.Time
	peer  peerWatch

	sent        int64        // bytes of in sent, once up has returned
	firstIn     atomic.Int64 // when in gave its first byte, Unix ns; 0 before
	recvAtInput atomic.Int64 // bytes received by then
	lastRecv    atomic.Int64 // when the buffered copy last read, Unix ns
	peerDone    atomic.Bool  // down has met the peer's end, before passing it on
}

// peerWatch tells what the kernel knows of the peer's sending, where the
// platform can tell: since reports the time since data last arrived, the
// smoothed round-trip time and the bytes received so far (TCP on Linux);
// queued reports whether received bytes wait to be read. A nil func knows
// nothing.
type peerWatch struct {
	since  func() (idle, rtt time.Duration, received uint64, ok bool)
	queued func() bool
}

// received is the count of bytes received from the peer: the kernel's,
// which counts what splice(2) moves past us, or the Socket's.
func (r *relay) received() int64 {
	if r.peer.since != nil {
		if _, _, n, ok := r.peer.since(); ok {
			return int64(n)
		}
	}
	return r.s.bytesRead.Load()
}

// hold reports whether the FIN waits for the peer to be quiet (see
// RelayOptions.EndGrace) once in has ended.
func (r *relay) hold(in io.Reader) bool {
	switch {
	case r.opts.EndGrace <= 0, r.sent >= UploadBytes:
		return false
	case r.sent == 0:
		return isNullDevice(in)
	}
	return true
}

// isNullDevice reports whether r is the null device (/dev/null).
func isNullDevice(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err == nil && os.SameFile(st, null)
}

// quietLeft is how much longer the FIN must be held (EndGrace): 0 or
// less when it may go now.
func (r *relay) quietLeft() time.Duration {
	if r.opts.EndGrace <= 0 {
		return 0
	}
	now := time.Now()
	ref := r.start
	// A peer that is answering (it has sent since our input started, or
	// we had nothing to send) may pause in the middle of its answer when
	// it, or the machine, is busy: it gets longer than one that has yet
	// to start.
	grace := r.opts.EndGrace
	if t := r.firstIn.Load(); t != 0 {
		ref = later(ref, time.Unix(0, t))
		if r.received() > r.recvAtInput.Load() {
			grace *= answeringGrace
		}
	} else {
		grace *= answeringGrace
	}
	var rtt time.Duration
	if r.peer.since != nil {
		if idle, srtt, _, ok := r.peer.since(); ok {
			ref = later(ref, now.Add(-idle))
			rtt = srtt
		}
	}
	if t := r.lastRecv.Load(); t != 0 {
		ref = later(ref, time.Unix(0, t))
	}
	grace += 2 * rtt
	if r.peer.queued != nil && r.peer.queued() {
		// Bytes wait for us (out is slower than the peer): the peer is
		// still sending, or would be if we read.
		return grace / 4
	}
	return grace - now.Sub(ref)
}

// answeringGrace is how many EndGraces a peer that is answering may
// pause for.
const answeringGrace = 5

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// down copies the socket to out until the peer ends (nil) or a failure.
func (r *relay) down(out io.Writer) error {
	s := r.s
	if err := s.waitResumed(); err != nil {
		return err
	}
	// Without the kernel's word on when the peer last sent, the buffered
	// copy keeps the time itself.
	watched := r.opts.EndGrace <= 0 || r.peer.since != nil
	if s.hooks.OnData == nil && !s.watchesFDs() && s.kernelCopyOK() && watched && spliceable(out) {
		n, err := io.Copy(out, s.conn)
		if n > 0 {
			s.bytesRead.Add(n)
			s.touch()
		}
		if err != nil {
			return downError(err)
		}
		s.peerEnded()
		return nil
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			r.lastRecv.Store(time.Now().UnixNano())
			if _, werr := out.Write(buf[:n]); werr != nil {
				return &OutputError{Err: asError(relayError(werr, "write"))}
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

// downError names a failure of the kernel's copy from the socket to out.
// One error comes back for both ends: an errno that a socket read cannot
// give (EPIPE, ENOSPC, EIO, EFBIG, EDQUOT, EBADF, EINVAL) is out's.
func downError(err error) error {
	if errno, ok := Errno(err); ok {
		switch errno {
		case syscall.EPIPE, syscall.ENOSPC, syscall.EIO, syscall.EFBIG, syscall.EDQUOT, syscall.EBADF, syscall.EINVAL:
			return &OutputError{Err: sysError(err, "write", "", 0)}
		}
	}
	return relayError(err, "read")
}

// asError returns err as an *Error, wrapping it when it is not one.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Message: err.Error(), Err: err}
}

// up copies in to the socket. Ending our side is Relay's decision.
func (r *relay) up(in io.Reader) error {
	if in == nil {
		return nil
	}
	s := r.s
	if r.opts.EndGrace > 0 || len(r.opts.FDs) > 0 {
		// The first read learns when the input starts (an answer to it is
		// due from then on), and carries the descriptors; the rest may
		// still go through the kernel.
		done, err := r.firstChunk(in)
		if done || err != nil {
			return err
		}
	}
	var n int64
	var err error
	if s.kernelCopyOK() && s.hooks.OnDrain == nil {
		var spliced bool
		n, spliced, err = spliceFromPipe(s.conn, in)
		if !spliced {
			n, err = io.Copy(s.conn, in)
		}
		if n > 0 {
			s.bytesWritten.Add(n)
			s.touch()
		}
	} else {
		n, err = io.Copy(socketWriter{s}, readerOnly{in})
	}
	r.sent += n
	if err != nil {
		return relayError(err, "write")
	}
	return nil
}

// firstChunk reads in until it gives bytes or ends, notes the time, and
// sends them, with the descriptors of FDs. done reports that in has ended.
func (r *relay) firstChunk(in io.Reader) (done bool, err error) {
	buf := make([]byte, 32<<10)
	for {
		n, rerr := in.Read(buf)
		if n > 0 {
			r.recvAtInput.Store(r.received())
			r.firstIn.Store(time.Now().UnixNano())
			m, err := r.s.WriteFDs(buf[:n], r.opts.FDs)
			r.sent += int64(m)
			if err != nil {
				return true, relayError(err, "write")
			}
		}
		if rerr == io.EOF {
			if n == 0 && len(r.opts.FDs) > 0 {
				return true, &Error{Code: "ENODATA", Syscall: "write",
					Message: "write ENODATA: descriptors " + fdList(r.opts.FDs) + " were not sent: the input ended before its first byte, and descriptors ride with data"}
			}
			return true, nil
		}
		if rerr != nil {
			return true, relayError(rerr, "write")
		}
		if n > 0 {
			return false, nil
		}
	}
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

// destroyAfterDown closes the socket after the copy to the output failed
// with err: the socket's own failure is its error event; a failure of the
// output (stdout closed or full) is not the socket's, so it closes
// without one.
func (s *Socket) destroyAfterDown(err error) {
	var oe *OutputError
	if errors.As(err, &oe) {
		s.Destroy(nil)
		return
	}
	s.Destroy(err)
}
