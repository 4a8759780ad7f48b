//go:build unix && !darwin

package netcore

import "syscall"

// capFileLimit leaves the limit alone: the kernel's own cap (fs.nr_open on
// Linux) already bounds the hard limit.
func capFileLimit(*syscall.Rlimit) {}

// retryFileLimit has nothing lower to try.
func retryFileLimit(*syscall.Rlimit, error) bool { return false }
