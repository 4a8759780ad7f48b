package netcore

import (
	"context"
	"errors"
	"net"

	"github.com/nodenet/nodenet/ipc"
)

// dialPath connects to an IPC endpoint: a Unix socket path, an abstract
// name (@name) or a named pipe.
func dialPath(ctx context.Context, path string) (net.Conn, error) {
	return ipc.Dial(ctx, path)
}

// listenPath listens on an IPC endpoint: one listener, or two for a
// Linux abstract name (its exact form and Node v20's padded one). A stale socket file (one that
// refuses connections) is removed and reused, reported through
// onStaleRemoved; a live socket, or a path that is not a socket, fails
// with EADDRINUSE and is left as it is.
func listenPath(ctx context.Context, lo ListenOptions, onStaleRemoved func(string)) ([]net.Listener, error) {
	backlog := lo.Backlog
	if backlog <= 0 {
		backlog = DefaultBacklog
	}
	lc := ipc.ListenConfig{
		Backlog:        backlog,
		ReadableAll:    lo.ReadableAll,
		WritableAll:    lo.WritableAll,
		OnStaleRemoved: onStaleRemoved,
	}
	ln, err := lc.Listen(ctx, lo.Path)
	if err != nil {
		return nil, pathError(err, "listen", lo.Path)
	}
	lns := []net.Listener{ln}
	if padded, ok := ipc.PaddedAbstract(lo.Path); ok {
		// Node v20 binds and connects to an abstract name padded with
		// NULs, Node v26 to the exact name: both are bound, so that
		// clients of either reach the server. The first is the address
		// the server reports; a padded name in use fails as the name.
		pl, err := lc.Listen(ctx, padded)
		if err != nil {
			ln.Close()
			return nil, pathError(err, "listen", lo.Path)
		}
		lns = append(lns, pl)
	}
	return lns, nil
}

// pathError names an IPC failure as Node does: "connect ENOENT
// /tmp/x.sock" for connect, "listen EADDRINUSE: address already in use
// /tmp/x.sock" for listen. Where nodenet knows more than Node says, a
// sentence follows: why a path is in use, or the length limit a path
// exceeds (a usage error: nothing was created).
func pathError(err error, syscallName, path string) *Error {
	var ne *Error
	if errors.As(err, &ne) {
		return ne
	}
	display := ipc.Display(path)
	var e *Error
	if syscallName == "listen" {
		e = uvError(err, syscallName, display, 0)
	} else {
		e = sysError(err, syscallName, display, 0)
	}
	var tooLong *ipc.PathTooLongError
	var inUse *ipc.AddrInUseError
	switch {
	case errors.As(err, &tooLong):
		e.Message += " (" + tooLong.Error() + ")"
		e.Usage = true
	case errors.As(err, &inUse):
		e.Message += " (the path " + inUse.Reason + ")"
	}
	return e
}
