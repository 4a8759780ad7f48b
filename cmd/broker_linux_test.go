//go:build linux

package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// proc is a process with its stdin and stdout in the test's hands.
type proc struct {
	in     io.WriteCloser
	out    *bufio.Reader
	errOut *bufio.Reader // nil unless asked for
	cmd    *exec.Cmd
}

// startProc runs argv with piped stdin and stdout; it is killed when the
// test ends.
func startProc(t *testing.T, argv ...string) *proc {
	return startProcStderr(t, false, argv...)
}

// startProcStderr is startPeer, with stderr in the test's hands too when
// asked.
func startProcStderr(t *testing.T, keepStderr bool, argv ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	in, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut *bufio.Reader
	if keepStderr {
		e, err := c.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		errOut = bufio.NewReader(e)
	} else {
		c.Stderr = os.Stderr
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		c.Wait() //nolint:errcheck // killed
	})
	return &proc{in: in, out: bufio.NewReader(out), errOut: errOut, cmd: c}
}

// line reads one line the peer printed.
func (p *proc) line(t *testing.T) string {
	t.Helper()
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := p.out.ReadString('\n')
		ch <- res{s, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("%s: read a line: %v (got %q)", p.cmd.Args[0], r.err, r.s)
		}
		return r.s
	case <-time.After(peerTimeout):
		t.Fatalf("%s printed no line", p.cmd.Args[0])
	}
	return ""
}

// lineSkipping reads lines until one that is not skip.
func (p *proc) lineSkipping(t *testing.T, skip string) string {
	t.Helper()
	for {
		if s := p.line(t); s != skip {
			return s
		}
	}
}

// startListen runs nodenet listen ARGS on 127.0.0.1 port 0, with stdin in
// the test's hands, and returns it with the port it bound.
func startListen(t *testing.T, args ...string) (*proc, string) {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	srv := startProcStderr(t, true, append([]string{nodenetPath(t), "--ready-file", ready, "--events", "json", "listen"}, append(args, "0", "127.0.0.1")...)...)
	deadline := time.Now().Add(peerTimeout)
	for {
		b, err := os.ReadFile(ready)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			_, port, _ := net.SplitHostPort(strings.TrimSpace(string(b)))
			return srv, port
		}
		if time.Now().After(deadline) {
			t.Fatal("nodenet listen did not write its ready file")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitConnections reads the server's events until n connection events.
func (p *proc) waitConnections(t *testing.T, n int) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		for n > 0 {
			s, err := p.errOut.ReadString('\n')
			if err != nil {
				done <- err
				return
			}
			if strings.Contains(s, `"event":"connection"`) {
				n--
			}
		}
		done <- nil
		io.Copy(io.Discard, p.errOut) //nolint:errcheck // keep the server from blocking on stderr
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(peerTimeout):
		t.Fatal("no connection events")
	}
}

// TestChatWithNcatAndNetcat: --chat with an ncat client and an
// nc.openbsd client, in ncat --chat's words.
func TestChatWithNcatAndNetcat(t *testing.T) {
	ncat, nc := peerBinary(t, "ncat", "ncat"), peerBinary(t, "nc.openbsd", "netcat-openbsd")
	srv, port := startListen(t, "--chat")
	go io.Copy(io.Discard, srv.errOut) //nolint:errcheck // events, unread
	a := startProc(t, ncat, "127.0.0.1", port)
	var an int
	if _, err := fmt.Sscanf(a.line(t), "<announce> 127.0.0.1 is connected as <user%d>.\n", &an); err != nil {
		t.Fatal(err)
	}
	if got := a.line(t); got != "<announce> already connected: nobody.\n" {
		t.Fatalf("ncat got %q", got)
	}
	b := startProc(t, nc, "127.0.0.1", port)
	var bn int
	if _, err := fmt.Sscanf(b.line(t), "<announce> 127.0.0.1 is connected as <user%d>.\n", &bn); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fmt.Sprintf("<announce> already connected: 127.0.0.1 as <user%d>.\n", an)} {
		if got := b.line(t); got != want {
			t.Fatalf("nc got %q, want %q", got, want)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("<announce> 127.0.0.1 is connected as <user%d>.\n", bn),
		fmt.Sprintf("<announce> already connected: 127.0.0.1 as <user%d>.\n", an),
	} {
		if got := a.line(t); got != want {
			t.Fatalf("ncat got %q, want %q", got, want)
		}
	}
	io.WriteString(a.in, "hello from ncat\n")
	if got, want := b.line(t), fmt.Sprintf("<user%d> hello from ncat\n", an); got != want {
		t.Fatalf("nc got %q, want %q", got, want)
	}
	io.WriteString(b.in, "and \x1b[2Jfrom nc\n")
	if got, want := a.line(t), fmt.Sprintf("<user%d> and \\033[2Jfrom nc\n", bn); got != want {
		t.Fatalf("ncat got %q, want %q", got, want)
	}
	io.WriteString(srv.in, "from the server\n")
	for _, p := range []*proc{a, b} {
		if got := p.line(t); got != "<user0> from the server\n" {
			t.Fatalf("got %q", got)
		}
	}
	// ncat sends its end when its input ends: it has left.
	a.in.Close()
	if got, want := b.line(t), fmt.Sprintf("<announce> <user%d> is disconnected.\n", an); got != want {
		t.Fatalf("nc got %q, want %q", got, want)
	}
}

// TestBrokerWithNcatAndNetcat: --broker relays bytes as they are, to
// every client but the sender; the server's stdin goes to all.
func TestBrokerWithNcatAndNetcat(t *testing.T) {
	ncat, nc := peerBinary(t, "ncat", "ncat"), peerBinary(t, "nc.openbsd", "netcat-openbsd")
	srv, port := startListen(t, "--broker")
	a := startProc(t, ncat, "127.0.0.1", port)
	b := startProc(t, nc, "127.0.0.1", port)
	srv.waitConnections(t, 2)
	// A connection event comes just before its client joins the broker:
	// say "ready?" until both have heard it.
	stop := make(chan struct{})
	go func() {
		for {
			io.WriteString(srv.in, "ready?\n")
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	for _, p := range []*proc{a, b} {
		if got := p.line(t); got != "ready?\n" {
			t.Fatalf("got %q", got)
		}
	}
	close(stop)
	io.WriteString(a.in, "raw \x1b bytes\r\n")
	if got := b.lineSkipping(t, "ready?\n"); got != "raw \x1b bytes\r\n" {
		t.Fatalf("nc got %q", got)
	}
	io.WriteString(b.in, "back\n")
	if got := a.lineSkipping(t, "ready?\n"); got != "back\n" {
		t.Fatalf("ncat got %q", got)
	}
}
