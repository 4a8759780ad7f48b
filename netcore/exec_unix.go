//go:build unix

package netcore

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// childStreams makes the child's stdin and stdout: a stream socket pair
// each, so that the relay splices between them and a TCP or Unix
// connection (Linux's splice takes a socket at either end, not a pipe's
// read end into a socket), and so that the child closing its stdout is an
// end we see even while it still reads its stdin.
func childStreams() (ours, theirs streamPair, err error) {
	inOurs, inTheirs, err := socketPair("stdin")
	if err != nil {
		return ours, theirs, err
	}
	outOurs, outTheirs, err := socketPair("stdout")
	if err != nil {
		inOurs.Close()
		inTheirs.Close()
		return ours, theirs, err
	}
	return streamPair{in: inOurs, out: outOurs}, streamPair{in: inTheirs, out: outTheirs}, nil
}

// socketPair returns a connected pair: ours as a *net.UnixConn (which
// Relay splices), theirs as the *os.File a child inherits.
func socketPair(name string) (*net.UnixConn, *os.File, error) {
	// The fork lock keeps another goroutine's exec from inheriting the
	// pair between socketpair and close-on-exec (some systems cannot set
	// it atomically).
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	f := os.NewFile(uintptr(fds[0]), "exec-"+name)
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), name), nil
}

// childSysProcAttr makes each child the leader of a process group of its
// own: the terminal's interrupt reaches nodenet, not the children, and a
// hang-up reaches the child's own children too.
func childSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// hangUp sends SIGHUP to the child's process group. The caller holds the
// lock that says the child has not been reaped, so its pid, which names
// the group, is still its own.
func hangUp(p *os.Process) { syscall.Kill(-p.Pid, syscall.SIGHUP) } //nolint:errcheck // gone already is fine

// killGroup sends SIGKILL to the child's process group.
func killGroup(p *os.Process) { syscall.Kill(-p.Pid, syscall.SIGKILL) } //nolint:errcheck // gone already is fine

// signalName is the signal's C name, as Node's signalCode gives it.
func signalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return sig.String()
}

// signalNumber is the number of the signal named name ("SIGTERM").
func signalNumber(name string) (int, bool) {
	n := unix.SignalNum(name)
	return int(n), n != 0
}
