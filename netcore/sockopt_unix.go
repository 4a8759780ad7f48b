//go:build unix

package netcore

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenControl sets the options a listening TCP socket needs before
// bind: SO_REUSEPORT when asked (several listeners, in this process or
// others, share the port and the kernel spreads connections over them),
// and IPV6_V6ONLY on an IPv6 socket, on or off as asked, so that the
// default "::" listener is dual-stack whatever net.ipv6.bindv6only says.
// Errors are returned, never only logged.
func listenControl(reusePort, ipv6Only bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if reusePort {
				if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
					serr = &net.OpError{Op: "listen", Net: network, Err: &osSyscallError{"setsockopt SO_REUSEPORT", serr}}
					return
				}
			}
			if network == "tcp6" || network == "tcp" {
				if sa, err := unix.Getsockname(int(fd)); err == nil {
					if _, v6 := sa.(*unix.SockaddrInet6); v6 {
						v := 0
						if ipv6Only {
							v = 1
						}
						serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v)
					}
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// setBacklog sets the listen queue length. Go's net.Listen uses the
// system maximum (somaxconn); Node asks for 511. Calling listen(2) again
// on a listening socket updates the backlog on Linux and the BSDs.
func setBacklog(ln net.Listener, backlog int) error {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = unix.Listen(int(fd), backlog) }); err != nil {
		return err
	}
	return lerr
}

// setTOS sets IP_TOS on an IPv4 socket and IPV6_TCLASS on an IPv6 one.
func setTOS(c net.Conn, tos int) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		sa, err := unix.Getsockname(int(fd))
		if err != nil {
			serr = err
			return
		}
		switch sa.(type) {
		case *unix.SockaddrInet4:
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TOS, tos)
		case *unix.SockaddrInet6:
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tos)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// osSyscallError names the failing setsockopt in an error that still
// unwraps to its errno.
type osSyscallError struct {
	call string
	err  error
}

func (e *osSyscallError) Error() string { return e.call + ": " + e.err.Error() }
func (e *osSyscallError) Unwrap() error { return e.err }
