//go:build unix

package netcore

import (
	"errors"
	"os"
	"syscall"
)

// RaiseFileLimit raises the soft limit on open files (RLIMIT_NOFILE) to the
// hard limit, capped where the system caps it, and returns the soft limit
// before and after.
//
// Go's runtime already does nearly all of this at start-up: since Go 1.19
// the syscall package's init raises the soft limit to one below the hard
// limit (to kern.maxfilesperproc on macOS) and has exec'd children start
// with the original soft limit, for programs that still use select(2).
// RaiseFileLimit takes the last step and gives a server the figure to
// report. Any change of RLIMIT_NOFILE made by the program, this one
// included, ends the runtime's restoring of the limit in children: they
// then inherit the raised limit, as the children of Node (which raises its
// own limit at start-up) do.
func RaiseFileLimit() (old, new uint64, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, os.NewSyscallError("getrlimit", err)
	}
	old = uint64(lim.Cur)
	if lim.Cur >= lim.Max {
		return old, old, nil
	}
	want := lim
	want.Cur = want.Max
	capFileLimit(&want)
	if uint64(want.Cur) <= old {
		return old, old, nil
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		if !retryFileLimit(&want, err) || uint64(want.Cur) <= old {
			return old, old, os.NewSyscallError("setrlimit", err)
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return old, old, os.NewSyscallError("setrlimit", err)
		}
	}
	return old, uint64(want.Cur), nil
}

// isAcceptLimitErr reports whether an accept error is a lack of
// descriptors or kernel memory, which waiting can cure.
func isAcceptLimitErr(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM:
		return true
	}
	return false
}

// isAcceptRetryErr reports whether an accept error belongs to one
// connection that failed while it waited in the listen queue, to be
// retried at once. accept(2) on Linux passes on such pending network
// errors, and says to treat them like EAGAIN.
func isAcceptRetryErr(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPROTO, syscall.EPERM,
		syscall.ETIMEDOUT, syscall.ENETDOWN, syscall.ENETUNREACH, syscall.EHOSTDOWN,
		syscall.EHOSTUNREACH, syscall.ENOPROTOOPT, syscall.EOPNOTSUPP, syscall.EINTR:
		return true
	}
	return false
}
