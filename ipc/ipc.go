package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
)

// DefaultBacklog is the listen(2) backlog used when ListenConfig.Backlog is
// zero: Node's default (server.listen's backlog, 511).
const DefaultBacklog = 511

// ListenConfig holds the options for listening on an IPC path. The zero
// value listens as Node's server.listen(path) does, with Node's backlog.
type ListenConfig struct {
	// Backlog is the listen(2) backlog. Zero means DefaultBacklog (511, as
	// in Node); the kernel caps it at net.core.somaxconn (and Linux reads a
	// negative one as somaxconn). It is ignored for Windows named pipes,
	// which have no backlog.
	Backlog int

	// ReadableAll and WritableAll add read and write permission for all
	// users to the socket file (Node's readableAll and writableAll). They
	// have no effect on abstract sockets, which have no file. On Windows
	// they grant Everyone read and write access to the pipe. See the
	// package documentation for how the mode is computed.
	ReadableAll, WritableAll bool

	// OnStaleRemoved, when not nil, is called (synchronously, from Listen)
	// with the path of a stale socket file that Listen removed before
	// binding the path again. nodenet prints a notice; nil means no notice.
	OnStaleRemoved func(path string)
}

// Listen listens on path with the zero ListenConfig.
func Listen(ctx context.Context, path string) (*Listener, error) {
	var lc ListenConfig
	return lc.Listen(ctx, path)
}

// Listener is a listening IPC endpoint: a Unix domain socket (a socket file
// or an abstract name) or, on Windows, a named pipe. It is a net.Listener;
// Accept returns a *net.UnixConn for sockets and a *PipeConn for pipes.
//
// Closing a Listener that created a socket file unlinks the file, unless
// SetUnlinkOnClose(false) was called, and only if the path still names the
// very socket it bound (same device and inode): a file that somebody else
// put there in the meantime is left alone.
type Listener struct {
	ln   net.Listener
	addr net.Addr
	path string
	file *socketFile // the socket file this Listener created; nil when none

	closeOnce sync.Once
	closeErr  error
}

// Accept waits for and returns the next connection.
func (l *Listener) Accept() (net.Conn, error) { return l.ln.Accept() }

// SyscallConn gives access to the listening socket itself, so that an
// event loop can take it over (see netcore's epoll engine). It fails for
// a Windows named pipe, which has no socket.
func (l *Listener) SyscallConn() (syscall.RawConn, error) {
	sc, ok := l.ln.(syscall.Conn)
	if !ok {
		return nil, errors.New("ipc: a named pipe has no socket to share")
	}
	return sc.SyscallConn()
}

// Addr returns the listener's address: a *net.UnixAddr whose Name is the
// path as Display shows it, or a PipeAddr.
func (l *Listener) Addr() net.Addr { return l.addr }

// Path returns the path the listener is bound to, as Display shows it: what
// Node's server.address() returns and what the `listening` event carries.
func (l *Listener) Path() string { return l.path }

// Close stops listening and unlinks the socket file the listener created
// (see Listener). Accepted connections are not closed. Close is idempotent;
// later calls return the first call's error.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		// The file goes first: while the socket is open it holds the
		// file's inode, so no other file can have been given the same
		// inode number, and the identity check in remove is exact.
		var rerr error
		if l.file != nil {
			rerr = l.file.remove()
		}
		l.closeErr = l.ln.Close()
		if l.closeErr == nil {
			l.closeErr = rerr
		}
	})
	return l.closeErr
}

// SetUnlinkOnClose sets whether Close unlinks the socket file. It is true
// when the listener created the file; it has no effect when there is no
// file (abstract names, pipes).
func (l *Listener) SetUnlinkOnClose(unlink bool) {
	if l.file != nil {
		l.file.setKeep(!unlink)
	}
}

// Unlink removes the socket file now, if the path still names the socket
// this listener bound, and keeps listening: connections that are already
// queued can still be accepted, new clients can no longer find the path.
// A signal handler that must exit at once calls it (Close also unlinks).
// It is safe to call concurrently with Accept and Close, and idempotent.
func (l *Listener) Unlink() error {
	if l.file == nil {
		return nil
	}
	return l.file.remove()
}

// ErrPathTooLong is matched (errors.Is) by every error that reports a path
// or name longer than the platform allows; see PathTooLongError.
var ErrPathTooLong = errors.New("ipc: path too long")

// PathTooLongError reports a socket path, abstract name or pipe name that
// does not fit the platform's limit. Listen and Dial return it (inside a
// *net.OpError) before anything is created: unlike Node v20 and ncat,
// nodenet never truncates a path. It matches ErrPathTooLong and unwraps to
// the platform's EINVAL, which Node reports ("listen EINVAL: invalid
// argument PATH").
type PathTooLongError struct {
	Path  string // as Display shows it
	What  string // "socket path", "abstract socket name" or "pipe name"
	Len   int    // its length, in Unit
	Limit int    // the platform's limit, in Unit
	Unit  string // "bytes" or "characters"
	OS    string // "Linux", "macOS", "Windows", ...
}

// Error returns a sentence naming the limit, for example "socket path is
// 120 bytes long; the limit is 107 bytes on Linux".
func (e *PathTooLongError) Error() string {
	return fmt.Sprintf("%s is %d %s long; the limit is %d %s on %s",
		e.What, e.Len, e.Unit, e.Limit, e.Unit, e.OS)
}

// Is reports whether target is ErrPathTooLong.
func (e *PathTooLongError) Is(target error) bool { return target == ErrPathTooLong }

// Unwrap returns the platform's EINVAL.
func (e *PathTooLongError) Unwrap() error { return errInvalid }

// AddrInUseError reports why Listen did not take an existing path: a live
// socket (something accepts connections on it), or a file that is not a
// socket, which nodenet never touches. It unwraps to the platform's
// EADDRINUSE, which Node reports ("listen EADDRINUSE: address already in
// use PATH").
type AddrInUseError struct {
	Path   string // as Display shows it
	Reason string // "is a live socket", "is a regular file, not a socket", ...
}

// Error returns the path and the reason, for example "/tmp/x.sock is a
// regular file, not a socket".
func (e *AddrInUseError) Error() string { return e.Path + " " + e.Reason }

// Unwrap returns the platform's EADDRINUSE.
func (e *AddrInUseError) Unwrap() error { return errAddrInUse }

// Display returns path as nodenet shows it: an abstract name is shown as
// @name whether it was given as @name or in Node's form, \0name; any other
// path is returned unchanged.
func Display(path string) string {
	if strings.HasPrefix(path, "\x00") {
		return "@" + path[1:]
	}
	return path
}

// IsAbstract reports whether path names a Linux abstract socket: @name (the
// command line's form) or \0name (Node's). ./@name is a file named @name.
// On other systems such a path is refused by Listen and Dial.
func IsAbstract(path string) bool {
	return strings.HasPrefix(path, "@") || strings.HasPrefix(path, "\x00")
}

// IsPipe reports whether path names a Windows named pipe: \\.\pipe\NAME or
// \\?\pipe\NAME ("pipe" in any case, as Windows compares it). On other
// systems such a path is an ordinary (odd) file name, as it is for Node.
func IsPipe(path string) bool {
	return pipeName(path) != ""
}

// pipeName returns NAME for \\.\pipe\NAME or \\?\pipe\NAME, else "".
func pipeName(path string) string {
	const prefixLen = len(`\\.\pipe\`)
	if len(path) <= prefixLen {
		return ""
	}
	if path[:2] != `\\` || (path[2] != '.' && path[2] != '?') || path[3] != '\\' ||
		!strings.EqualFold(path[4:8], "pipe") || path[8] != '\\' {
		return ""
	}
	return path[prefixLen:]
}

// opError wraps err as Go's net package reports listen and dial errors, so
// that errors.As finds the *net.OpError (Op "listen" or "dial") and, under
// it, the syscall.Errno that netcore names in Node's words.
func opError(op, network, path string, err error) error {
	var addr net.Addr
	if network == "pipe" {
		addr = PipeAddr(path)
	} else {
		addr = &net.UnixAddr{Name: Display(path), Net: network}
	}
	return &net.OpError{Op: op, Net: network, Addr: addr, Err: err}
}

// PipeAddr is the address of a Windows named pipe: its path,
// \\.\pipe\NAME.
type PipeAddr string

// Network returns "pipe".
func (a PipeAddr) Network() string { return "pipe" }

// String returns the pipe's path.
func (a PipeAddr) String() string { return string(a) }
