//go:build windows

package netcore

import (
	"errors"
	"syscall"

	"golang.org/x/sys/windows"
)

// RaiseFileLimit does nothing on Windows, which has no per-process limit on
// open sockets to raise; it returns zeros.
func RaiseFileLimit() (old, new uint64, err error) { return 0, 0, nil }

// isAcceptLimitErr reports whether an accept error is a lack of socket
// handles or buffer space, which waiting can cure. Go's syscall.EMFILE is an
// invented value on Windows; Winsock's codes are what accept returns.
func isAcceptLimitErr(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	return errno == windows.WSAEMFILE || errno == windows.WSAENOBUFS
}

// isAcceptRetryErr reports whether an accept error belongs to one
// connection that failed while it waited, to be retried at once.
func isAcceptRetryErr(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	return errno == windows.WSAECONNRESET || errno == windows.WSAECONNABORTED
}
