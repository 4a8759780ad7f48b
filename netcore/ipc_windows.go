//go:build windows

package netcore

import (
	"errors"
	"net"
	"strconv"

	"github.com/nodenet/nodenet/ipc"
)

// InheritedListener is not available on Windows, where listening sockets
// are not inherited by number.
func InheritedListener(spec string) (net.Listener, error) {
	return nil, &Error{Code: "ERR_INVALID_ARG_VALUE", Message: "--fd is not supported on Windows", Usage: true}
}

// noHalfClose reports whether a half-close failed because the connection
// cannot half-close at all: a byte-mode named pipe of another server. As
// with Node's end() on such a pipe, nothing is signalled.
func noHalfClose(err error) bool { return errors.Is(err, ipc.ErrNoHalfClose) }

// SocketFromFD is not available on Windows: named pipes and sockets are
// not inherited by number, and carry no descriptors.
func SocketFromFD(fd int, opts ConnectOptions) (*Socket, error) {
	return nil, &Error{Code: "ERR_FEATURE_UNAVAILABLE_ON_PLATFORM", Message: "fd " + strconv.Itoa(fd) + ": a socket on an inherited descriptor is not supported on Windows (named pipes cannot carry descriptors)", Usage: true}
}
