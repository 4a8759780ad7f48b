package netcore

import (
	"errors"
	"net"
)

// readUnix is a plain read: Windows passes no descriptors.
func (s *Socket) readUnix(uc *net.UnixConn, p []byte) (int, error) { return uc.Read(p) }

func sendFDs(*net.UnixConn, []byte, []int) (int, error) {
	return 0, errors.New("descriptors cannot be passed on Windows")
}

func closeFD(int) {}
