// Package fdpass moves open descriptors between processes over Unix domain
// sockets (SCM_RIGHTS ancillary data), the mechanism under Node's old
// socket.write(data, encoding, fd) and its 'fd' event, and under the
// hand-off of accepted connections from a master to its worker processes.
//
// A descriptor always rides with at least one byte of the stream: a stream
// socket carries ancillary data only alongside data, and the receiver finds
// the descriptors attached to the read that returns that byte.
package fdpass

import (
	"errors"
	"fmt"
)

// MaxFDs is the most descriptors one message may carry (the kernel's
// SCM_MAX_FD).
const MaxFDs = 253

// ErrUnsupported is returned where the platform cannot pass descriptors
// (Windows named pipes carry none).
var ErrUnsupported = errors.New("descriptors can be passed only over Unix domain sockets on Unix systems")

// ErrNotInherited is Inherited's error for a descriptor that is open but
// close-on-exec: this process's own.
var ErrNotInherited = errors.New("was not inherited (it is close-on-exec: one of this process's own)")

// ErrTruncated reports that a message carried more descriptors than the
// receiving buffer had room for. The kernel closes the ones that did not
// fit; the ones returned along with this error are open and the caller's.
var ErrTruncated = errors.New("descriptors were lost: the message carried more than the receive buffer holds")

// Kind names what an open descriptor is, as the 'fd' event reports it:
// "socket", "pipe" (a FIFO or an anonymous pipe) or "file" (anything else:
// a regular file, a directory, a terminal or another device).
func Kind(fd int) (string, error) {
	if fd < 0 {
		return "", fmt.Errorf("fd %d is not a descriptor", fd)
	}
	return kind(fd)
}
