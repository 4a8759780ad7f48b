//go:build unix

package netcore

import (
	"errors"
	"net"
	"strconv"

	"github.com/nodenet/nodenet/ipc"
)

// InheritedListener returns the listening socket a process was given:
// spec is a file descriptor number ("3"), or "systemd" for the first
// socket of systemd's socket activation (LISTEN_FDS). Node's
// server.listen({fd}) says "listen EINVAL: invalid argument" for a
// descriptor that is not a listening socket; nodenet adds which it is.
func InheritedListener(spec string) (net.Listener, error) {
	if spec == "systemd" {
		lns, err := ipc.SystemdListeners()
		if err != nil {
			return nil, fdError(err)
		}
		for _, l := range lns[1:] {
			l.Close()
		}
		return lns[0].Listener, nil
	}
	fd, err := strconv.Atoi(spec)
	if err != nil || fd < 0 {
		return nil, &Error{Code: "ERR_INVALID_ARG_VALUE", Message: "--fd " + strconv.Quote(spec) + ": want a file descriptor number or systemd", Usage: true}
	}
	ln, err := ipc.FileListener(fd)
	if err != nil {
		return nil, fdError(err)
	}
	return ln, nil
}

func fdError(err error) *Error {
	e := &Error{Code: "EINVAL", Syscall: "listen", Message: "listen EINVAL: invalid argument (" + err.Error() + ")", Err: err, Usage: true}
	var fe *ipc.FDError
	if !errors.As(err, &fe) && !errors.Is(err, ipc.ErrNoListenFDs) {
		e.Usage = false
	}
	return e
}

// noHalfClose reports whether a half-close failed because the connection
// cannot half-close at all: never on Unix.
func noHalfClose(error) bool { return false }
