package ipc

import (
	"errors"
	"fmt"
	"net"
)

// FDError reports an inherited descriptor that FileListener cannot serve,
// in a sentence such as "fd 3 is not a listening socket". It unwraps to
// the system error behind it (EBADF, ENOTSOCK, EINVAL, ...).
type FDError struct {
	FD      int
	Problem string // "is not open", "is not a socket", "is not a listening socket", ...
	Err     error
}

// Error returns "fd N " followed by the problem.
func (e *FDError) Error() string { return fmt.Sprintf("fd %d %s", e.FD, e.Problem) }

// Unwrap returns the system error.
func (e *FDError) Unwrap() error { return e.Err }

// ErrNoListenFDs is matched (errors.Is) by SystemdListeners' error when the
// process was not given sockets by systemd: LISTEN_PID and LISTEN_FDS are
// unset, empty, or meant for another process.
var ErrNoListenFDs = errors.New("no listening sockets were passed by systemd (LISTEN_PID/LISTEN_FDS are not set for this process)")

// SystemdListener is a listening socket passed by systemd socket
// activation.
type SystemdListener struct {
	net.Listener

	// Name is the socket's FileDescriptorName= from LISTEN_FDNAMES, or
	// "unknown" when systemd passed no names (as sd_listen_fds_with_names).
	Name string
}
