package netcore

import "syscall"

// workerSysProcAttr starts a worker in a process group of its own (a
// terminal's ^C reaches the master alone, which passes it on) and has the
// kernel kill it when the master dies.
func workerSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
