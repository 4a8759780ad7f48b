package netcore

import (
	"net"

	"golang.org/x/sys/unix"
)

// kernelProgress returns a probe of the bytes the TCP stack has received
// and had acknowledged on c (TCP_INFO's tcpi_bytes_received and
// tcpi_bytes_acked). The idle timer compares them with the bytes the
// Socket itself read and wrote, so that bytes moved by splice or
// sendfile, which never pass through the Socket, still count as activity.
// It returns nil for a connection that is not TCP.
func kernelProgress(c net.Conn) func() (received, acked uint64, ok bool) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return func() (received, acked uint64, ok bool) {
		rc.Control(func(fd uintptr) { //nolint:errcheck // a closed socket reads as no progress
			if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
				received, acked, ok = info.Bytes_received, info.Bytes_acked, true
			}
		})
		return received, acked, ok
	}
}
