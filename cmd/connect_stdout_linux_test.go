package cmd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// streamServer accepts one connection on loopback port 0 and writes to it
// until the client goes or 256 MiB have gone, and returns the port.
func streamServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := bytes.Repeat([]byte("nodenet\n"), 8<<10)
		for sent := 0; sent < 256<<20; sent += len(buf) {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// runWithStdout runs `nodenet connect PORT 127.0.0.1 < /dev/null` with
// stdout, and returns its stderr and exit status.
func runWithStdout(t *testing.T, stdout *os.File, port string, global ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, nodenetPath(t), append(global, "connect", port, "127.0.0.1")...)
	c.Stdout = stdout
	var errb bytes.Buffer
	c.Stderr = &errb
	c.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	err := c.Run()
	if ctx.Err() != nil {
		t.Fatalf("nodenet did not finish within %v", peerTimeout)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if code < 0 {
			t.Fatalf("nodenet was killed: %v", err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return errb.String(), code
}

// TestConnectStdoutClosed: `nodenet connect P < /dev/null | head -c 100`
// printed "nodenet: write EPIPE" and exited 1 as if the network had
// failed. Like cat and nc (killed by SIGPIPE), it is quiet, and its
// status is the one a shell shows for them: 141.
func TestConnectStdoutClosed(t *testing.T) {
	for _, tc := range []struct{ name, args string }{
		// TCP to a pipe: splice(2), which gets EPIPE.
		{"tcp", ""},
		// -vv sees every chunk, so the copy goes through os.Stdout.Write,
		// where Go's runtime kills a process with SIGPIPE.
		{"buffered", "-vv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := streamServer(t)
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			head := make(chan []byte, 1)
			go func() {
				b := make([]byte, 100)
				n, _ := io.ReadFull(pr, b)
				pr.Close() // head -c 100 exits
				head <- b[:n]
			}()
			var extra []string
			if tc.args != "" {
				extra = []string{tc.args}
			}
			stderr, code := runWithStdout(t, pw, port, extra...)
			pw.Close()
			if got := <-head; len(got) != 100 || !strings.HasPrefix(string(got), "nodenet\n") {
				t.Errorf("the reader got %q", got)
			}
			if tc.args != "" {
				stderr = "" // -vv's events
			}
			if stderr != "" || code != 141 {
				t.Errorf("exit %d, stderr %q; want 141 and nothing", code, stderr)
			}
		})
	}
}

// TestConnectStdoutFull: stdout on /dev/full failed as "read EINVAL"
// after splice had taken the bytes from the socket; the loss is the
// write's, and says so.
func TestConnectStdoutFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	defer full.Close()
	stderr, code := runWithStdout(t, full, streamServer(t))
	if stderr != "nodenet: write ENOSPC\n" || code != 1 {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, "nodenet: write ENOSPC\n")
	}
}

// TestConnectPeerEndClosesStdout: when the server ends first while stdin
// is still open (a pipe: allowHalfOpen keeps sending it), stdout is closed
// at once, so that its reader sees the end: ssh's ProxyCommand waited
// for stdin to end before, and stdin (ssh) waited for that end.
func TestConnectPeerEndClosesStdout(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("bye\n"))
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c) // what stdin still sends, to its end
		c.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	c := exec.CommandContext(ctx, nodenetPath(t), "connect", port, "127.0.0.1")
	stdin, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// stdin stays open: the end of stdout can come only from the peer's.
	got, err := io.ReadAll(stdout)
	if ctx.Err() != nil {
		t.Fatalf("stdout did not end within %v of the server's end", peerTimeout)
	}
	if err != nil || string(got) != "bye\n" {
		t.Fatalf("stdout: %q, %v; want %q and its end", got, err, "bye\n")
	}
	// And stdin is still sent until its end.
	if _, err := stdin.Write([]byte("late\n")); err != nil {
		t.Fatalf("stdin after the server's end: %v", err)
	}
	stdin.Close()
	if err := c.Wait(); err != nil {
		t.Fatalf("nodenet connect: %v", err)
	}
}
