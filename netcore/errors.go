package netcore

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/nodenet/nodenet/internal/nodeerr"
)

// Error is every failure netcore reports, in Node's vocabulary: Code is
// Node's err.code ("ECONNREFUSED", "ERR_SOCKET_BAD_PORT"), Syscall its
// err.syscall ("connect", "listen", "getaddrinfo"), Address and Port the
// address it was about (an IP address or a socket path; Port 0 when there
// is none), Hostname the name of a getaddrinfo error, and Message its
// err.message, worded as Node words it. Err is the underlying error, if
// any, and Usage marks an error in what the caller asked for rather than
// in the network (a socket path too long, say): the command line exits 2.
//
// Error() returns Node's message; Node's own errors (ERR_*) are prefixed
// with their code, as Node prints them (RangeError [ERR_SOCKET_BAD_PORT]:
// ...), while system errors already start with the syscall and the code.
//
// It is the one error type of nodenet's library: blocklist.Error is the
// same type.
type Error = nodeerr.Error

// Errno returns the system error number under err, if there is one.
func Errno(err error) (syscall.Errno, bool) {
	var errno syscall.Errno
	ok := errors.As(err, &errno)
	return errno, ok
}

// hostPort formats an address as Node's exceptionWithHostPort does:
// "ADDRESS:PORT" when there is a port (IPv6 without brackets, as Node
// prints it), "ADDRESS" when there is none.
func hostPort(address string, port int) string {
	switch {
	case port > 0:
		return address + ":" + strconv.Itoa(port)
	case address != "":
		return address
	}
	return ""
}

// sysError builds Node's exceptionWithHostPort: "connect ECONNREFUSED
// 127.0.0.1:8124". Node uses it for connect, read and write.
func sysError(err error, syscallName, address string, port int) *Error {
	code, _ := errnoCode(err)
	msg := syscallName + " " + code
	if d := hostPort(address, port); d != "" {
		msg += " " + d
	}
	return &Error{Code: code, Syscall: syscallName, Address: address, Port: port, Message: msg, Err: err}
}

// uvError builds Node's uvExceptionWithHostPort: "listen EADDRINUSE:
// address already in use 127.0.0.1:8124". Node uses it for listen and bind.
func uvError(err error, syscallName, address string, port int) *Error {
	code, text := errnoCode(err)
	msg := syscallName + " " + code + ": " + text
	if d := hostPort(address, port); d != "" {
		msg += " " + d
	}
	return &Error{Code: code, Syscall: syscallName, Address: address, Port: port, Message: msg, Err: err}
}

// errnoCode names err as libuv does: the code ("ECONNREFUSED") and
// uv_strerror's text ("connection refused"). An error without an errno is
// named by its own text.
func errnoCode(err error) (code, text string) {
	if errno, ok := Errno(err); ok {
		if c, ok := errnoNames[errno]; ok {
			return c.code, c.text
		}
		return "UNKNOWN", errno.Error()
	}
	var te interface{ Timeout() bool }
	if errors.Is(err, errTimeout) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &te) && te.Timeout()) {
		return "ETIMEDOUT", "connection timed out"
	}
	return "UNKNOWN", fmt.Sprint(err)
}

var errTimeout = errors.New("i/o timeout")

// codeError builds one of Node's own errors (ERR_*).
func codeError(code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// errnoName is one row of the per-OS errno tables.
type errnoName struct{ code, text string }
