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
