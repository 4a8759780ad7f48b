//go:build unix

package ipc

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FileListener returns a listener for an already-bound, listening socket
// inherited as descriptor fd (Node's server.listen({fd})): TCP over IPv4
// or IPv6, or a Unix stream socket. It is a *net.TCPListener or a
// *net.UnixListener; the caller tells them apart by Addr(). Closing it
// never unlinks a socket file: the file belongs to whoever bound it.
//
// On success FileListener owns the socket: fd itself is closed and the
// listener holds a duplicate, so closing the listener really stops
// listening. On failure fd is left as it was. Errors are *FDError:
// "fd 3 is not open", "fd 3 is not a socket", "fd 3 is not a stream
// socket", "fd 3 is not a listening socket", "fd 3 is not a TCP or Unix
// socket".
func FileListener(fd int) (net.Listener, error) {
	if err := checkStreamSocket(fd); err != nil {
		return nil, err
	}
	// SO_ACCEPTCONN says whether listen(2) was called: a bound or
	// connected socket has the same type and address family.
	acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil {
		return nil, &FDError{FD: fd, Problem: "cannot be inspected", Err: os.NewSyscallError("getsockopt", err)}
	}
	if acc == 0 {
		return nil, &FDError{FD: fd, Problem: "is not a listening socket", Err: unix.EINVAL}
	}
	// net.FileListener duplicates the descriptor it is given, and an
	// *os.File closes its descriptor when collected; so it gets a
	// duplicate of its own, and fd is closed only once all went well.
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, &FDError{FD: fd, Problem: "cannot be duplicated", Err: os.NewSyscallError("fcntl", err)}
	}
	f := os.NewFile(uintptr(dup), "fd "+strconv.Itoa(fd))
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, &FDError{FD: fd, Problem: "cannot be used", Err: err}
	}
	unix.Close(fd)
	return ln, nil
}

// sockType names a socket type for FDError.
func sockType(typ int) string {
	switch typ {
	case unix.SOCK_DGRAM:
		return "datagram"
	case unix.SOCK_SEQPACKET:
		return "seqpacket"
	case unix.SOCK_RAW:
		return "raw"
	}
	return "type " + strconv.Itoa(typ)
}

// listenFDsStart is the first descriptor systemd passes (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// SystemdListeners returns the listening sockets that systemd passed to
// this process by socket activation, in order: descriptors 3, 4, ...,
// LISTEN_FDS of them, named by LISTEN_FDNAMES. They are used only when
// LISTEN_PID is this process's id, so a child that merely inherited the
// environment does not take its parent's sockets.
//
// As sd_listen_fds(1) does, SystemdListeners unsets LISTEN_PID, LISTEN_FDS
// and LISTEN_FDNAMES, whatever it finds, so that children (listen --exec)
// do not see them; and it marks the descriptors close-on-exec. Every
// descriptor must be a listening stream socket (see FileListener): if one
// is not, the others are closed and the error names it. When the process
// was not activated, the error matches ErrNoListenFDs.
func SystemdListeners() ([]SystemdListener, error) {
	pid, hasPID := os.LookupEnv("LISTEN_PID")
	fds := os.Getenv("LISTEN_FDS")
	names, hasNames := os.LookupEnv("LISTEN_FDNAMES")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")

	if !hasPID || pid == "" {
		return nil, ErrNoListenFDs
	}
	p, err := strconv.Atoi(pid)
	if err != nil || p <= 0 {
		return nil, fmt.Errorf("LISTEN_PID=%q is not a process id", pid)
	}
	if p != os.Getpid() {
		return nil, fmt.Errorf("LISTEN_PID=%d is not this process (%d): %w", p, os.Getpid(), ErrNoListenFDs)
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("LISTEN_FDS=%q is not a number of descriptors", fds)
	}
	if n == 0 {
		return nil, fmt.Errorf("LISTEN_FDS=0: %w", ErrNoListenFDs)
	}
	var nameList []string
	if hasNames {
		nameList = strings.Split(names, ":")
		if len(nameList) != n {
			return nil, fmt.Errorf("LISTEN_FDNAMES names %d descriptors but LISTEN_FDS=%d", len(nameList), n)
		}
	}
	for fd := listenFDsStart; fd < listenFDsStart+n; fd++ {
		unix.CloseOnExec(fd)
	}
	out := make([]SystemdListener, 0, n)
	for i := 0; i < n; i++ {
		ln, err := FileListener(listenFDsStart + i)
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, err
		}
		name := "unknown"
		if nameList != nil && nameList[i] != "" {
			name = nameList[i]
		}
		out = append(out, SystemdListener{Listener: ln, Name: name})
	}
	return out, nil
}

// FileConn returns a connection for an already-connected stream socket
// inherited as descriptor fd (Node's new net.Socket({fd}); what inetd and
// systemd's Accept=yes hand a service): TCP over IPv4 or IPv6, or a Unix
// stream socket. It is a *net.TCPConn or a *net.UnixConn.
//
// On success FileConn owns the socket: fd itself is closed (unless it is
// 0, 1 or 2, which stay the process's stdin, stdout and stderr) and the
// connection holds a duplicate. On failure fd is left as it was. Errors
// are *FDError: "fd 3 is not open", "fd 3 is not a socket", "fd 3 is not a
// stream socket (datagram)", "fd 3 is a listening socket, not a
// connection", "fd 3 is not connected", "fd 3 is not a TCP or Unix
// socket".
func FileConn(fd int) (net.Conn, error) {
	if err := checkStreamSocket(fd); err != nil {
		return nil, err
	}
	if acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err == nil && acc != 0 {
		return nil, &FDError{FD: fd, Problem: "is a listening socket, not a connection", Err: unix.EINVAL}
	}
	if _, err := unix.Getpeername(fd); err != nil {
		return nil, &FDError{FD: fd, Problem: "is not connected", Err: os.NewSyscallError("getpeername", err)}
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, &FDError{FD: fd, Problem: "cannot be duplicated", Err: os.NewSyscallError("fcntl", err)}
	}
	f := os.NewFile(uintptr(dup), "fd "+strconv.Itoa(fd))
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, &FDError{FD: fd, Problem: "cannot be used", Err: err}
	}
	if fd > 2 {
		unix.Close(fd)
	}
	return c, nil
}

// checkStreamSocket checks that fd is an open TCP or Unix stream socket,
// the common ground of FileListener and FileConn; the error names what
// fd is instead.
func checkStreamSocket(fd int) error {
	if fd < 0 {
		return &FDError{FD: fd, Problem: "is not open", Err: unix.EBADF}
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		return &FDError{FD: fd, Problem: "is not open", Err: os.NewSyscallError("fcntl", err)}
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		if err == unix.ENOTSOCK {
			return &FDError{FD: fd, Problem: "is not a socket", Err: os.NewSyscallError("getsockopt", err)}
		}
		return &FDError{FD: fd, Problem: "cannot be inspected", Err: os.NewSyscallError("getsockopt", err)}
	}
	if typ != unix.SOCK_STREAM {
		return &FDError{FD: fd, Problem: "is not a stream socket (" + sockType(typ) + ")", Err: unix.EINVAL}
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return &FDError{FD: fd, Problem: "cannot be inspected", Err: os.NewSyscallError("getsockname", err)}
	}
	switch sa.(type) {
	case *unix.SockaddrInet4, *unix.SockaddrInet6, *unix.SockaddrUnix:
	default:
		return &FDError{FD: fd, Problem: "is not a TCP or Unix socket", Err: unix.EAFNOSUPPORT}
	}
	return nil
}
