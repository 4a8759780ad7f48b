package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode/utf16"

	"golang.org/x/sys/windows"
)

// The platform's errno values that this package's own errors unwrap to.
// Go's syscall.EINVAL and syscall.EADDRINUSE are invented values on
// Windows that no system call returns; Winsock's are what netcore names.
var (
	errInvalid   error = windows.WSAEINVAL
	errAddrInUse error = windows.WSAEADDRINUSE
)

// maxPipePathLen is the longest pipe path, in UTF-16 characters:
// CreateNamedPipe's limit of 256 for the whole \\.\pipe\NAME string.
const maxPipePathLen = 256

// socketFile is a socket file a Listener created. On Windows IPC paths are
// named pipes, which leave no file behind, so there is never one.
type socketFile struct{}

func (*socketFile) remove() error { return nil }
func (*socketFile) setKeep(bool)  {}

// checkPipePath refuses, before anything is created, what is not a pipe
// path (on Windows Node's IPC paths are named pipes, and so are nodenet's)
// and a pipe path longer than Windows allows.
func checkPipePath(path string) error {
	if IsAbstract(path) {
		return fmt.Errorf("abstract socket names (%s) exist only on Linux; on Windows use a named pipe, \\\\.\\pipe\\NAME: %w",
			Display(path), errInvalid)
	}
	if !IsPipe(path) {
		return fmt.Errorf("on Windows an IPC path is a named pipe, \\\\.\\pipe\\NAME or \\\\?\\pipe\\NAME (as in Node): %w", errInvalid)
	}
	if strings.IndexByte(path, 0) >= 0 {
		return fmt.Errorf("pipe name contains a NUL character: %w", errInvalid)
	}
	if n := len(utf16.Encode([]rune(path))); n > maxPipePathLen {
		return &PathTooLongError{Path: path, What: "pipe name", Len: n, Limit: maxPipePathLen,
			Unit: "characters", OS: "Windows"}
	}
	return nil
}

// Listen listens on the named pipe path (\\.\pipe\NAME or \\?\pipe\NAME).
// A name that another server is using fails with an *AddrInUseError
// (EADDRINUSE, as libuv reports it). Backlog is ignored; ReadableAll and
// WritableAll grant Everyone read and write access to the pipe. Errors are
// *net.OpError (Op "listen"); ctx is only checked before starting.
func (lc *ListenConfig) Listen(ctx context.Context, path string) (*Listener, error) {
	if err := ctx.Err(); err != nil {
		return nil, opError("listen", "pipe", path, err)
	}
	if err := checkPipePath(path); err != nil {
		return nil, opError("listen", "pipe", path, err)
	}
	pl, err := listenPipe(path, lc.ReadableAll, lc.WritableAll)
	if err != nil {
		return nil, opError("listen", "pipe", path, err)
	}
	return &Listener{ln: pl, addr: PipeAddr(path), path: path}, nil
}

// Dial connects to the named pipe path. The connection is a *PipeConn.
// ERROR_FILE_NOT_FOUND (Node's ENOENT) means no server has the name. While
// every instance of the pipe is busy (the server has not called Accept
// again yet), Dial waits, until ctx is done or for at most 30 seconds, as
// libuv does. Errors are *net.OpError (Op "dial").
func Dial(ctx context.Context, path string) (net.Conn, error) {
	if err := checkPipePath(path); err != nil {
		return nil, opError("dial", "pipe", path, err)
	}
	c, err := dialPipe(ctx, path)
	if err != nil {
		return nil, opError("dial", "pipe", path, err)
	}
	return c, nil
}

// FileListener is not available on Windows: Node's listen({fd}) is Unix's.
func FileListener(fd int) (net.Listener, error) {
	return nil, &FDError{FD: fd, Problem: "cannot be inherited: listening on an inherited descriptor is not supported on Windows",
		Err: errors.ErrUnsupported}
}

// SystemdListeners is not available on Windows; its error matches
// ErrNoListenFDs.
func SystemdListeners() ([]SystemdListener, error) {
	return nil, fmt.Errorf("systemd socket activation does not exist on Windows: %w", ErrNoListenFDs)
}

// PaddedAbstract: Windows has no abstract names.
func PaddedAbstract(string) (string, bool) { return "", false }
