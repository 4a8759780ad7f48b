package netcore

import (
	"crypto/tls"
	"net"
	"runtime"
	"strconv"
	"strings"
)

// FDPassingSupported reports whether this system can pass descriptors
// over a socket: every Unix system (SCM_RIGHTS over Unix domain sockets),
// never Windows, whose named pipes carry bytes only.
const FDPassingSupported = runtime.GOOS != "windows"

// WriteFDs writes p with the descriptors fds attached to its first byte:
// Node v0.4's socket.write(data, encoding, fileDescriptor) on a Unix
// socket. The peer's Socket reports them to SocketHooks.OnFD when it reads
// that byte. The descriptors stay open here; the peer gets duplicates.
//
// p must not be empty (a stream socket carries descriptors only alongside
// data), and the socket must be a Unix domain socket: anything else fails
// with ERR_INVALID_HANDLE_TYPE, as Node's send of a handle over a channel
// that cannot carry one does. Bytes of p that the first write did not take
// follow as a plain Write.
func (s *Socket) WriteFDs(p []byte, fds []int) (int, error) {
	if len(fds) == 0 {
		return s.Write(p)
	}
	s.mu.Lock()
	ended, conn := s.ended, s.conn
	s.mu.Unlock()
	if ended {
		return 0, &Error{Code: "EPIPE", Syscall: "write", Message: "This socket has been ended by the other party"}
	}
	uc, ok := conn.(*net.UnixConn)
	if !ok || !FDPassingSupported {
		return 0, errFDHandleType(conn)
	}
	if len(p) == 0 {
		return 0, codeError("ERR_INVALID_ARG_VALUE", "descriptors %s cannot be sent without data: they ride with the first byte", fdList(fds))
	}
	n, err := sendFDs(uc, p, fds)
	if n > 0 {
		s.bytesWritten.Add(int64(n))
		s.touch()
	}
	if err != nil {
		return n, s.ioError(err, "write")
	}
	if n < len(p) {
		m, err := s.Write(p[n:])
		return n + m, err
	}
	return n, nil
}

// errFDHandleType is WriteFDs' error on a connection that cannot carry
// descriptors.
func errFDHandleType(c net.Conn) *Error {
	why := "descriptors travel only over Unix domain sockets"
	if !FDPassingSupported {
		why = "Windows named pipes cannot carry descriptors"
	}
	kind := "this connection"
	switch c.(type) {
	case *net.TCPConn:
		kind = "a TCP connection"
	case nil:
	default:
		if _, ok := c.(interface{ ConnectionState() tls.ConnectionState }); ok {
			kind = "a TLS connection"
		}
	}
	return codeError("ERR_INVALID_HANDLE_TYPE", "This handle type cannot be sent: %s cannot carry descriptors (%s)", kind, why)
}

// fdList shows descriptors as "3, 4".
func fdList(fds []int) string {
	s := make([]string, len(fds))
	for i, fd := range fds {
		s[i] = strconv.Itoa(fd)
	}
	return strings.Join(s, ", ")
}

// watchesFDs reports whether reads must show OnFD the descriptors that
// come with them: OnFD is set and the socket is a Unix socket.
func (s *Socket) watchesFDs() bool {
	if s.hooks.OnFD == nil {
		return false
	}
	_, ok := s.conn.(*net.UnixConn)
	return ok
}

// takeFDs hands each descriptor that came with a read to OnFD, and closes
// those that it does not take (no hook, or it declined), so that none is
// leaked.
func (s *Socket) takeFDs(fds []int) {
	for _, fd := range fds {
		if s.hooks.OnFD == nil || !s.hooks.OnFD(s, fd) {
			closeFD(fd)
		}
	}
}
