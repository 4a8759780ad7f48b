//go:build unix && !linux

package ipc

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// abstractSupported reports whether the kernel has abstract socket names.
// Only Linux has them: elsewhere a sun_path starting with NUL is an error
// or an empty path, so @name is refused before it reaches the kernel.
const abstractSupported = false

// socket returns a new non-blocking, close-on-exec Unix socket of type
// typ (unix.SOCK_STREAM, unix.SOCK_DGRAM). macOS has no SOCK_CLOEXEC, so,
// as Go's net package does, the socket is created and marked
// close-on-exec under syscall.ForkLock: no child that another goroutine
// starts can inherit it in between.
func socket(typ int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(unix.AF_UNIX, typ, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("setnonblock", err)
	}
	return fd, nil
}
