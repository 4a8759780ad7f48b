//go:build unix

package cmd

import (
	"strconv"
	"syscall"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	// closedport VAR: set VAR to a loopback port that refuses
	// connections for the rest of the script: a TCP socket bound to
	// 127.0.0.1:0 and held, never listening, so nobody else can take it.
	scriptCmds["closedport"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: closedport VAR")
		}
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
		ts.Check(err)
		ts.Defer(func() { syscall.Close(fd) })
		ts.Check(syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
		sa, err := syscall.Getsockname(fd)
		ts.Check(err)
		ts.Setenv(args[0], strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	}
}
