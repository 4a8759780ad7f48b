//go:build !unix

package netcore

import (
	"os"
	"strconv"
	"syscall"
)

// childStreams makes the child's stdin and stdout as pipes: this system
// has no socket pairs to hand a child.
func childStreams() (ours, theirs streamPair, err error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return ours, theirs, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return ours, theirs, err
	}
	return streamPair{in: inW, out: outR}, streamPair{in: inR, out: outW}, nil
}

// childSysProcAttr: a child needs nothing special here.
func childSysProcAttr() *syscall.SysProcAttr { return nil }

// hangUp ends the child: this system has no SIGHUP.
func hangUp(p *os.Process) { p.Kill() } //nolint:errcheck // gone already is fine

// killGroup ends the child.
func killGroup(p *os.Process) { p.Kill() } //nolint:errcheck // gone already is fine

// signalName names a signal as well as this system can.
func signalName(sig syscall.Signal) string { return "SIG" + strconv.Itoa(int(sig)) }

// signalNumber: no signal names are known here.
func signalNumber(string) (int, bool) { return 0, false }
