//go:build windows

package netcore

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/windows"
)

// listenControl sets IPV6_V6ONLY on an IPv6 listening socket. Windows
// has no SO_REUSEPORT: asking for it is an error, as in Node.
func listenControl(reusePort, ipv6Only bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		if reusePort {
			return &net.OpError{Op: "listen", Net: network, Err: errors.New("SO_REUSEPORT is not supported on Windows")}
		}
		if network != "tcp6" && network != "tcp" {
			return nil
		}
		var serr error
		err := c.Control(func(fd uintptr) {
			v := 0
			if ipv6Only {
				v = 1
			}
			// Fails harmlessly on an IPv4 socket.
			_ = windows.SetsockoptInt(windows.Handle(fd), windows.IPPROTO_IPV6, windows.IPV6_V6ONLY, v)
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// setBacklog does nothing on Windows: Winsock takes the backlog only at
// the first listen call, which Go makes with SOMAXCONN.
func setBacklog(net.Listener, int) error { return nil }

// setTOS sets IP_TOS; Windows ignores it for most traffic without a QoS
// policy, as it does for Node.
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
		serr = windows.SetsockoptInt(windows.Handle(fd), windows.IPPROTO_IP, windows.IP_TOS, tos)
	})
	if err != nil {
		return err
	}
	return serr
}
