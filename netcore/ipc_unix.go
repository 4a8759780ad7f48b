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

// SocketFromFD wraps the connected stream socket inherited as descriptor
// fd, as Node's new net.Socket({fd}) does (what inetd and systemd's
// Accept=yes hand a service, and what a listen --exec child may be given).
// The socket options of opts (NoDelay, KeepAlive, TypeOfService,
// AllowHalfOpen) and its Hooks apply; OnConnect fires, as for a
// connection made by Connect. The other fields are ignored.
//
// A descriptor that is not open, not a stream socket, a listening socket
// or not connected fails with Node's ERR_INVALID_FD_TYPE and a sentence
// naming it ("fd 3 is a listening socket, not a connection"), marked as a
// usage error.
func SocketFromFD(fd int, opts ConnectOptions) (*Socket, error) {
	c, err := ipc.FileConn(fd)
	if err != nil {
		e := &Error{Code: "ERR_INVALID_FD_TYPE", Message: err.Error(), Err: err}
		var fe *ipc.FDError
		e.Usage = errors.As(err, &fe) && fe.Problem != "cannot be duplicated" && fe.Problem != "cannot be used"
		return nil, e
	}
	hooks := opts.Hooks
	if hooks == nil {
		hooks = &noHooks
	}
	return connected(c, opts, hooks), nil
}
