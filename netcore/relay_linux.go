package netcore

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// watchPeer asks the kernel about the peer's sending: for TCP, TCP_INFO's
// time since data last arrived (tcpi_last_data_recv, which sees bytes
// that splice(2) moves past us too), its smoothed round-trip time and its
// count of bytes received; for
// TCP and Unix sockets, whether received bytes wait in the socket
// (SIOCINQ).
func watchPeer(c net.Conn) peerWatch {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return peerWatch{}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return peerWatch{}
	}
	var w peerWatch
	w.queued = func() bool {
		n := 0
		rc.Control(func(fd uintptr) { //nolint:errcheck // a closed socket has nothing queued
			n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
		})
		return n > 0
	}
	if _, ok := c.(*net.TCPConn); ok {
		w.since = func() (idle, rtt time.Duration, received uint64, ok bool) {
			rc.Control(func(fd uintptr) { //nolint:errcheck // a closed socket reads as unknown
				if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
					idle = time.Duration(info.Last_data_recv) * time.Millisecond
					rtt = time.Duration(info.Rtt) * time.Microsecond
					received = info.Bytes_received
					ok = true
				}
			})
			return idle, rtt, received, ok
		}
	}
	return w
}

// spliceable reports whether io.Copy may hand out to splice(2): a regular
// file, a pipe, a socket or /dev/null. Other devices have no splice
// support in the kernel (/dev/full, a terminal): the splice fails with
// EINVAL after it took the bytes from the socket, so they get the
// buffered copy, and their own errors (write ENOSPC).
func spliceable(out io.Writer) bool {
	f, ok := out.(*os.File)
	if !ok {
		return true
	}
	rc, err := f.SyscallConn() // not Fd(), which would make f blocking
	if err != nil {
		return false
	}
	var st unix.Stat_t
	serr := error(unix.ENOTSUP)
	rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) }) //nolint:errcheck // serr says
	if serr != nil {
		return false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK:
		return true
	case unix.S_IFCHR:
		return unix.Major(st.Rdev) == 1 && unix.Minor(st.Rdev) == 3 // /dev/null
	}
	return false
}

// spliceFromPipe moves in to c with splice(2) straight from the pipe to
// the socket when in is a pipe (or FIFO) and c a TCP or Unix stream
// socket: the pipe's pages go to the socket without being copied through
// user space, which io.Copy cannot do (Go splices only from sockets, and
// sendfile(2) takes no pipe). handled is false, with nothing read, when
// in or c is anything else.
//
// The pipe is waited on with poll(2), outside the socket's lock, so that
// a Close of the socket is never held up by an input that gives nothing;
// the splice itself does not block on the pipe (SPLICE_F_NONBLOCK) and
// waits for room in the socket through Go's poller. A splice that can
// move nothing (EAGAIN) asks the socket whether it has room: a socket
// without room is waited on, else the pipe. As with io.Copy, a
// relay that ends while the pipe gives nothing leaves this goroutine
// waiting until the pipe gives bytes or ends.
func spliceFromPipe(c net.Conn, in io.Reader) (written int64, handled bool, err error) {
	f, ok := in.(*os.File)
	if !ok {
		return 0, false, nil
	}
	switch c := c.(type) {
	case *net.TCPConn:
	case *net.UnixConn:
		if c.LocalAddr().Network() != "unix" {
			return 0, false, nil
		}
	default:
		return 0, false, nil
	}
	frc, err := f.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	var st unix.Stat_t
	var pfd int
	serr := error(unix.ENOTSUP)
	frc.Control(func(fd uintptr) { pfd, serr = int(fd), unix.Fstat(int(fd), &st) }) //nolint:errcheck // serr says
	if serr != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return 0, false, nil
	}
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	const chunk = 1 << 20 // as much as the pipe holds, at most
	for {
		// Wait until the pipe has bytes or has ended.
		for {
			fds := []unix.PollFd{{Fd: int32(pfd), Events: unix.POLLIN}}
			_, perr := unix.Poll(fds, -1)
			if perr == unix.EINTR {
				continue
			}
			if perr != nil {
				return written, true, os.NewSyscallError("poll", perr)
			}
			break
		}
		eof := false
		var serr error
		werr := rc.Write(func(sfd uintptr) bool {
			for {
				n, e := unix.Splice(pfd, nil, int(sfd), nil, chunk, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
				if n > 0 {
					written += n
					continue
				}
				switch e {
				case nil:
					eof = true // n == 0: the writer closed the pipe
					return true
				case unix.EINTR:
					continue
				case unix.EAGAIN:
					// Either the pipe is empty or the socket is full. Ask
					// the socket: waiting on it when it has room would
					// wait for an edge that never comes, so a socket
					// with room means the pipe is what must be waited on.
					fds := []unix.PollFd{{Fd: int32(sfd), Events: unix.POLLOUT}}
					if m, _ := unix.Poll(fds, 0); m > 0 && fds[0].Revents&unix.POLLOUT != 0 {
						return true // room in the socket: wait for the pipe outside the lock
					}
					return false // the socket is full: Go's poller waits for room
				}
				serr = e
				return true
			}
		})
		switch {
		case serr != nil:
			return written, true, os.NewSyscallError("splice", serr)
		case werr != nil:
			return written, true, werr
		case eof:
			return written, true, nil
		}
	}
}
