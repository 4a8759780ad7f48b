//go:build unix

package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The platform's errno values that this package's own errors unwrap to.
var (
	errInvalid   error = syscall.EINVAL
	errAddrInUse error = syscall.EADDRINUSE
)

// maxPathLen is the longest socket path, in bytes: sun_path less the NUL
// that terminates it (107 on Linux, 103 on macOS and the BSDs). Linux would
// take a 108-byte path without its NUL, and Node v26 lets it through, but
// such a socket cannot be reached by programs that terminate the path, Go's
// own net package among them, so nodenet keeps the portable limit.
const maxPathLen = len(unix.RawSockaddrUnix{}.Path) - 1

// maxAbstractLen is the longest abstract name, in bytes: sun_path less the
// leading NUL (107 on Linux, as in Node v26). Abstract names are not
// NUL-terminated: they are bound with their exact length.
const maxAbstractLen = len(unix.RawSockaddrUnix{}.Path) - 1

// osName names the platform in error messages.
func osName() string {
	switch s := runtime.GOOS; s {
	case "linux":
		return "Linux"
	case "darwin":
		return "macOS"
	case "freebsd":
		return "FreeBSD"
	case "openbsd":
		return "OpenBSD"
	case "netbsd":
		return "NetBSD"
	case "dragonfly":
		return "DragonFly BSD"
	case "solaris", "illumos":
		return "Solaris"
	default:
		return s
	}
}

// checkPath refuses, before anything is created, a path that the kernel
// would truncate or read differently from what the user wrote.
func checkPath(path string) error {
	switch {
	case path == "":
		return fmt.Errorf("empty socket path: %w", errInvalid)
	case IsAbstract(path):
		if !abstractSupported {
			return fmt.Errorf("abstract socket names (%s) exist only on Linux; use a file path such as ./%s: %w",
				Display(path), Display(path), errInvalid)
		}
		if n := len(path) - 1; n > maxAbstractLen {
			return &PathTooLongError{Path: Display(path), What: "abstract socket name", Len: n,
				Limit: maxAbstractLen, Unit: "bytes", OS: osName()}
		}
	default:
		// The kernel reads a file path up to its first NUL: "a\x00b" would
		// silently bind "a".
		if strings.IndexByte(path, 0) >= 0 {
			return fmt.Errorf("socket path contains a NUL byte: %w", errInvalid)
		}
		if len(path) > maxPathLen {
			return &PathTooLongError{Path: path, What: "socket path", Len: len(path),
				Limit: maxPathLen, Unit: "bytes", OS: osName()}
		}
	}
	return nil
}

// Listen listens on path: a socket file, or an abstract name (@name or
// \0name, Linux only). See the package documentation for what happens to
// an existing path, for modes and for long paths. Errors are *net.OpError
// (Op "listen") wrapping the syscall.Errno; ctx is only checked before
// starting, since nothing in binding a Unix socket blocks.
func (lc *ListenConfig) Listen(ctx context.Context, path string) (*Listener, error) {
	if err := ctx.Err(); err != nil {
		return nil, opError("listen", "unix", path, err)
	}
	if err := checkPath(path); err != nil {
		return nil, opError("listen", "unix", path, err)
	}
	backlog := lc.Backlog
	if backlog == 0 {
		backlog = DefaultBacklog
	}
	fd, err := socket(unix.SOCK_STREAM)
	if err != nil {
		return nil, opError("listen", "unix", path, err)
	}
	file, err := lc.bind(fd, path)
	if err != nil {
		unix.Close(fd)
		return nil, opError("listen", "unix", path, err)
	}
	fail := func(err error) (*Listener, error) {
		if file != nil {
			file.remove() // before the close: see Listener.Close
		}
		unix.Close(fd)
		return nil, opError("listen", "unix", path, err)
	}
	if file != nil && (lc.ReadableAll || lc.WritableAll) {
		if err := file.chmod(lc.ReadableAll, lc.WritableAll); err != nil {
			return fail(err)
		}
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fail(os.NewSyscallError("listen", err))
	}
	// net.FileListener duplicates the descriptor and gives the copy to Go's
	// poller; the *net.UnixListener it returns never unlinks (the socket
	// file is ours to remove, with the inode check).
	f := os.NewFile(uintptr(fd), path)
	ln, err := net.FileListener(f)
	if err != nil {
		if file != nil {
			file.remove()
		}
		f.Close()
		return nil, opError("listen", "unix", path, err)
	}
	f.Close()
	shown := Display(path)
	if IsAbstract(path) {
		// A name padded as Node v20 pads it is shown as the name.
		shown = strings.TrimRight(shown, "\x00")
	}
	return &Listener{
		ln:   ln,
		addr: &net.UnixAddr{Name: shown, Net: "unix"},
		path: shown,
		file: file,
	}, nil
}

// bind binds fd to path. For a file path it returns the socketFile it
// created. An existing path is reused only when it is a stale socket.
func (lc *ListenConfig) bind(fd int, path string) (*socketFile, error) {
	// Go's syscall package binds @name and \0name as abstract names of
	// their exact length on Linux (x/sys/unix would refuse a 107-byte one).
	sa := &syscall.SockaddrUnix{Name: path}
	if IsAbstract(path) {
		if err := syscall.Bind(fd, sa); err != nil {
			return nil, os.NewSyscallError("bind", err)
		}
		return nil, nil
	}
	err := syscall.Bind(fd, sa)
	if err == syscall.EADDRINUSE {
		removed, rerr := removeStale(path)
		if rerr != nil {
			return nil, rerr
		}
		if removed && lc.OnStaleRemoved != nil {
			lc.OnStaleRemoved(path)
		}
		// The path is free now (we removed a stale socket, or it vanished
		// by itself). A second EADDRINUSE means another process bound it
		// in between: it is theirs, and we do not try again.
		err = syscall.Bind(fd, sa)
	}
	if err != nil {
		return nil, os.NewSyscallError("bind", err)
	}
	return newSocketFile(path), nil
}

// removeStale looks at the existing path that bind refused. It removes the
// path and reports true only when it is a socket file and connecting to it
// is refused: nobody accepts on it, it is left over from a process that
// died without unlinking it. It reports false and no error when the path
// vanished by itself meanwhile. Otherwise it returns an *AddrInUseError.
//
// Races that remain, all needing another process working on the same path
// at the same moment:
//   - a process that has bound the path but not yet called listen(2) is
//     refused like a stale socket, and its file is removed;
//   - a process may replace the path between the two lstats with a file
//     that is given the stale file's freed inode number, or between the
//     second lstat and the unlink (there is no "unlink if still this
//     inode" system call); the windows are a few instructions long.
//
// Probing a live socket costs its server one connection that closes at
// once without data (as `nc -zU` does); Node's server sees a `connection`.
func removeStale(path string) (bool, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		if err == unix.ENOENT {
			return false, nil // it vanished after bind failed
		}
		return false, os.NewSyscallError("lstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return false, &AddrInUseError{Path: path, Reason: "is " + fileKind(uint32(st.Mode)) + ", not a socket: it is left alone"}
	}
	if err := probe(path); err != unix.ECONNREFUSED {
		switch err {
		case nil:
			// A socket is bound there: somebody is serving it.
			return false, &AddrInUseError{Path: path, Reason: "is a live socket: a server accepts connections on it"}
		default:
			// EACCES and the like: we cannot tell, so we do not touch it.
			return false, &AddrInUseError{Path: path, Reason: fmt.Sprintf("is a socket that could not be probed (%v): it is left alone", err)}
		}
	}
	var st2 unix.Stat_t
	if err := unix.Lstat(path, &st2); err != nil {
		if err == unix.ENOENT {
			return false, nil
		}
		return false, os.NewSyscallError("lstat", err)
	}
	if st2.Dev != st.Dev || st2.Ino != st.Ino {
		// Replaced while we probed: whatever it is now, it is not the
		// socket we found stale.
		return false, &AddrInUseError{Path: path, Reason: "was replaced while it was being checked: it is left alone"}
	}
	if err := unix.Unlink(path); err != nil && err != unix.ENOENT {
		return false, os.NewSyscallError("unlink", err)
	}
	return true, nil
}

// probe asks whether a socket is bound at path, and returns connect(2)'s
// error: ECONNREFUSED when nobody is (a stale socket file).
//
// It connects with a datagram socket. A stream connect would be queued
// and accepted by a live server, and would become the one connection of
// a single-connection server (nodenet listen -U), which would then end.
// A datagram connect to a path where a stream socket is bound fails with
// EPROTOTYPE once the kernel has found that socket, and reaches nobody's
// accept queue (Linux unix_find_other, the BSDs' unp_connect); where no
// socket is bound it fails with ECONNREFUSED; a datagram socket bound
// there accepts it, and is live too.
func probe(path string) error {
	fd, err := socket(unix.SOCK_DGRAM)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
	if err == unix.EPROTOTYPE {
		return nil // a stream or seqpacket socket is bound: live
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

// fileKind names a file type for AddrInUseError.
func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symbolic link"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device"
	}
	return "not a regular file"
}

// socketFile is a socket file a Listener created: its path (absolute, so a
// later chdir does not matter) and its identity (device and inode), so that
// it is removed only while the path still names it.
type socketFile struct {
	path     string
	dev, ino uint64

	mu   sync.Mutex
	keep bool // SetUnlinkOnClose(false)
	gone bool // removed already
}

// newSocketFile records the socket file just bound at path. It returns nil
// when the path no longer names a socket: it was removed or replaced in
// the instant since bind, and whoever did that owns what is there now, so
// the Listener will never remove it.
func newSocketFile(path string) *socketFile {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return nil
	}
	return &socketFile{path: abs, dev: uint64(st.Dev), ino: uint64(st.Ino)}
}

// chmod adds read and/or write permission for everyone to the socket
// file's mode, as Node v20 does (v26 replaces the mode with 0444 for
// readableAll alone, locking the owner out). The execute bits, which mean
// nothing on a socket, are dropped when bits are added, so that both flags
// give 0666 under umask 022 rather than 0777.
//
// chmod(2) follows symbolic links and there is no fchmod for a socket's
// file (fchmod on the socket changes the socket, not the file), so the
// file is checked to be ours first; a process that can write to the
// directory could still replace it between the check and the chmod.
func (f *socketFile) chmod(readable, writable bool) error {
	var st unix.Stat_t
	if err := unix.Lstat(f.path, &st); err != nil {
		return os.NewSyscallError("lstat", err)
	}
	if !f.is(&st) {
		return os.NewSyscallError("chmod", unix.ENOENT)
	}
	mode := uint32(st.Mode) & 0o7777 &^ 0o111
	if readable {
		mode |= 0o444
	}
	if writable {
		mode |= 0o222
	}
	if err := unix.Chmod(f.path, mode); err != nil {
		return os.NewSyscallError("chmod", err)
	}
	return nil
}

// is reports whether st describes this socket file.
func (f *socketFile) is(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFSOCK && uint64(st.Dev) == f.dev && uint64(st.Ino) == f.ino
}

func (f *socketFile) setKeep(keep bool) {
	f.mu.Lock()
	f.keep = keep
	f.mu.Unlock()
}

// remove unlinks the socket file if the path still names it. Between the
// lstat and the unlink another process could replace the file; nothing
// closes that window without an unlink-if-inode system call.
func (f *socketFile) remove() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keep || f.gone {
		return nil
	}
	f.gone = true
	var st unix.Stat_t
	if err := unix.Lstat(f.path, &st); err != nil {
		if err == unix.ENOENT {
			return nil
		}
		return os.NewSyscallError("lstat", err)
	}
	if !f.is(&st) {
		return nil
	}
	if err := unix.Unlink(f.path); err != nil && err != unix.ENOENT {
		return os.NewSyscallError("unlink", err)
	}
	return nil
}

// Dial connects to the socket at path: a socket file, or an abstract name
// (@name or \0name, Linux only). The connection is a *net.UnixConn, so
// io.Copy from an *os.File uses sendfile(2) on Linux. Errors are
// *net.OpError (Op "dial") wrapping the syscall.Errno: ENOENT when there is
// no such file, ECONNREFUSED when nobody listens.
//
// An abstract name that nobody listens on is tried again in the form Node
// v20 binds it (see PaddedAbstract), so that a client reaches a Node v20
// server as well as a v26 one without knowing which it is; when neither
// answers, the error is the exact name's.
func Dial(ctx context.Context, path string) (net.Conn, error) {
	if err := checkPath(path); err != nil {
		return nil, opError("dial", "unix", path, err)
	}
	// Go's net package reads @name as an abstract name on Linux; Node's
	// \0name is the same name.
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", Display(path))
	if err != nil && errors.Is(err, syscall.ECONNREFUSED) {
		if padded, ok := PaddedAbstract(path); ok {
			if pc, perr := d.DialContext(ctx, "unix", Display(padded)); perr == nil {
				return pc, nil
			}
		}
	}
	return c, err
}

// PaddedAbstract returns the abstract name that Node v20 really binds and
// connects to for path: its libuv passes the whole of sun_path as the
// address, so "\0name" becomes the name followed by NULs up to 107 bytes (ss and /proc/net/unix show @name@@@@...). Node v26,
// like nodenet, uses the name's exact length, and the two are different
// names to the kernel. ok is false when path is not an abstract name, or
// fills sun_path already, or the platform has no abstract names.
func PaddedAbstract(path string) (padded string, ok bool) {
	if !abstractSupported || !IsAbstract(path) || len(path) > maxAbstractLen {
		return "", false
	}
	return "@" + path[1:] + strings.Repeat("\x00", maxAbstractLen+1-len(path)), true
}
