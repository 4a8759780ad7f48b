package ipc

import (
	"os"

	"golang.org/x/sys/unix"
)

// abstractSupported reports whether the kernel has abstract socket names
// (a sun_path that starts with a NUL byte). Only Linux has them.
const abstractSupported = true

// socket returns a new non-blocking, close-on-exec Unix socket of type
// typ (unix.SOCK_STREAM, unix.SOCK_DGRAM). Linux sets both flags
// atomically, so no child started meanwhile by another goroutine inherits
// the descriptor.
func socket(typ int) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}
