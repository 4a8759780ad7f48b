package netcore

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Error is every failure netcore reports, in Node's vocabulary: Code is
// Node's err.code ("ECONNREFUSED", "ERR_SOCKET_BAD_PORT"), Syscall its
// err.syscall ("connect", "listen", "getaddrinfo"), and Message its
// err.message, worded as Node words it. Err is the underlying error, if any.
type Error struct {
	Code     string
	Syscall  string
	Address  string // an IP address or a socket path
	Port     int    // 0 when there is none
	Hostname string // for getaddrinfo errors
	Message  string
	Err      error

	// Usage marks an error in what the caller asked for rather than in the
	// network (a socket path too long, say): the command line exits 2.
	Usage bool

	// prefixCode prints Code before Message for codes without the ERR_
	// prefix that are not system errors: OpenSSL's verification results
	// ("DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate").
	prefixCode bool
}

// Error returns Node's message. Node's own errors (ERR_*) are prefixed with
// their code, as Node prints them (RangeError [ERR_SOCKET_BAD_PORT]: ...);
// system errors already start with the syscall and the code.
func (e *Error) Error() string {
	if strings.HasPrefix(e.Code, "ERR_") || e.prefixCode {
		return e.Code + ": " + e.Message
	}
	return e.Message
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

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
