//go:build unix

package netcore

import (
	"errors"
	"io"
	"net"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/nodenet/nodenet/internal/fdpass"
)

// oobBuffers are the ancillary buffers of reads on Unix sockets: room for
// the most descriptors one message can carry, so that none is dropped by
// the kernel for want of room.
var oobBuffers = sync.Pool{New: func() any {
	b := make([]byte, fdpass.OOBSize(fdpass.MaxFDs))
	return &b
}}

// readUnix reads from a Unix socket with room for descriptors, and hands
// those that came along to takeFDs before the bytes are returned. A read
// of no bytes into a non-empty p is the peer's end, io.EOF as Read gives it.
func (s *Socket) readUnix(uc *net.UnixConn, p []byte) (int, error) {
	oob := oobBuffers.Get().(*[]byte)
	n, fds, err := fdpass.Recv(uc, p, *oob)
	oobBuffers.Put(oob)
	if errors.Is(err, fdpass.ErrTruncated) {
		err = nil // cannot happen with room for MaxFDs; those that came are handled
	}
	if len(fds) > 0 {
		s.takeFDs(fds)
	}
	if errors.Is(err, io.EOF) || (err == nil && n == 0 && len(p) > 0) {
		err = io.EOF // ReadMsgUnix wraps it; Read's callers look for it bare
	}
	return n, err
}

func sendFDs(uc *net.UnixConn, p []byte, fds []int) (int, error) {
	return fdpass.Send(uc, p, fds)
}

func closeFD(fd int) { unix.Close(fd) }
