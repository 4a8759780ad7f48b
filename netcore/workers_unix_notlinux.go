//go:build unix && !linux

package netcore

import "syscall"

// workerSysProcAttr starts a worker in a process group of its own (a
// terminal's ^C reaches the master alone, which passes it on). A worker
// whose master died sees its socketpair close, and ends.
func workerSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
