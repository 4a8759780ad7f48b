//go:build unix

package netcore

import (
	"net"
	"os"
	"syscall"
)

// writeNoticingWait writes all of p to conn, as conn.Write does, and
// reports whether it had to wait because the kernel's send buffer was
// full. counted is told of each piece handed to the kernel. A conn without
// a raw descriptor is written with Write, and never reports a wait.
func writeNoticingWait(conn net.Conn, p []byte, counted func(int)) (n int, waited bool, err error) {
	sc, ok := conn.(syscall.Conn)
	var rc syscall.RawConn
	if ok {
		rc, err = sc.SyscallConn()
	}
	if !ok || err != nil {
		n, err = conn.Write(p)
		if n > 0 {
			counted(n)
		}
		return n, false, err
	}
	var werr error
	// The callback runs until every byte is written (true) or the buffer
	// is full (false: the poller waits for room, with conn's deadline,
	// and calls it again).
	err = rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, e := syscall.Write(int(fd), p[n:])
			if m > 0 {
				n += m
				counted(m)
			}
			switch e {
			case nil, syscall.EINTR:
			case syscall.EAGAIN:
				waited = true
				return false
			default:
				werr = os.NewSyscallError("write", e)
				return true
			}
		}
		return true
	})
	if werr != nil {
		err = werr
	}
	return n, waited, err
}
