//go:build unix

package netcore

import (
	"syscall"
	"testing"
)

// closedPorts returns n loopback ports that refuse connections for the
// rest of the test: TCP sockets bound to 127.0.0.1:0 and held, never
// listening, so nobody else can take them.
func closedPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Close(fd) })
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
		sa, err := syscall.Getsockname(fd)
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, sa.(*syscall.SockaddrInet4).Port)
	}
	return ports
}
