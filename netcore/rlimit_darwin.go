//go:build darwin

package netcore

import "syscall"

// openMax is OPEN_MAX from <sys/syslimits.h>. Older macOS refuses a soft
// limit above it, and setrlimit(2) there says to use min(OPEN_MAX, hard).
const openMax = 10240

// capFileLimit caps the soft limit at kern.maxfilesperproc, as Go's runtime
// does: macOS refuses more (and an unlimited hard limit is common there).
func capFileLimit(lim *syscall.Rlimit) {
	if n, err := syscall.SysctlUint32("kern.maxfilesperproc"); err == nil && lim.Cur > uint64(n) {
		lim.Cur = uint64(n)
	}
}

// retryFileLimit lowers the soft limit to OPEN_MAX after macOS refused a
// higher one with EINVAL, and reports whether to try again.
func retryFileLimit(lim *syscall.Rlimit, err error) bool {
	if err != syscall.EINVAL || lim.Cur <= openMax {
		return false
	}
	lim.Cur = openMax
	return true
}
