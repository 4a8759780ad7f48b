//go:build windows

package netcore

import (
	"errors"
	"net"

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
