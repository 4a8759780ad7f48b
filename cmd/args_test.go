package cmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	// hostport ADDR HOSTVAR PORTVAR: split the address in $ADDR (what
	// --ready-file holds: "127.0.0.1:41234", "[::1]:41234") into two
	// variables, for scripts that pass HOST and PORT as two arguments.
	scriptCmds["hostport"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 3 {
			ts.Fatalf("usage: hostport ADDR HOSTVAR PORTVAR")
		}
		host, port, err := net.SplitHostPort(ts.Getenv(args[0]))
		ts.Check(err)
		ts.Setenv(args[1], host)
		ts.Setenv(args[2], port)
	}
}

// parseListen runs `listen ARGS` through NewCmdListen and returns the
// options it would run with.
func parseListen(t *testing.T, argv string) (*ListenOptions, error) {
	t.Helper()
	ios := Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	var got *ListenOptions
	cmd := NewCmdListen(NewFactory(ios), func(o *ListenOptions) error { got = o; return nil })
	cmd.SetArgs(splitArgs(argv))
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	return got, cmd.Execute()
}

// TestEndpointArgs checks that connect, listen and echo take HOST PORT as
// well as PORT [HOST]: argv to the options each command runs with.
func TestEndpointArgs(t *testing.T) {
	tests := []struct {
		name string
		argv string
		host string
		port int
	}{
		{"port host", "8124 localhost", "localhost", 8124},
		{"host port", "localhost 8124", "localhost", 8124},
		{"ssh %h %p", "example.com 22", "example.com", 22},
		{"v4 port", "127.0.0.1 8124", "127.0.0.1", 8124},
		{"v6 port", "::1 8124", "::1", 8124},
		{"bracketed v6 port", "[::1] 8124", "::1", 8124},
		{"two ports: PORT HOST", "8124 8125", "8125", 8124},
		{"host:port", "localhost:8124", "localhost", 8124},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConnect(t, tt.argv, false)
			if err != nil || c.Host != tt.host || c.Port != tt.port {
				t.Errorf("connect %s: %v; host %q port %d, want %q %d", tt.argv, err, hostOf(c), portOf(c), tt.host, tt.port)
			}
			l, err := parseListen(t, tt.argv)
			if err != nil || l.Host != tt.host || l.Port != tt.port {
				t.Errorf("listen %s: %v, options %+v", tt.argv, err, l)
			}
			e, err := parseEcho(t, tt.argv)
			if err != nil || e.Host != tt.host || e.Port != tt.port {
				t.Errorf("echo %s: %v, options %+v", tt.argv, err, e)
			}
		})
	}
}

func hostOf(o *ConnectOptions) string {
	if o == nil {
		return ""
	}
	return o.Host
}

func portOf(o *ConnectOptions) int {
	if o == nil {
		return -1
	}
	return o.Port
}

// TestEndpointArgsUsageErrors checks the errors of two arguments that are
// neither PORT HOST nor HOST PORT, and of an empty -U or --fd, which used
// to read as not given (listen with an empty -U PATH listened on TCP).
func TestEndpointArgsUsageErrors(t *testing.T) {
	tests := []struct{ name, argv, want string }{
		{"connect host, bad port", "connect localhost 80x", "ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type string ('80x')."},
		{"connect host, port too big", "connect localhost 70000", "Received type number (70000)."},
		{"connect number first", "connect 70000 8124", "Received type number (70000)."},
		{"listen host, bad port", "listen -- :: -1", "ERR_SOCKET_BAD_PORT: options.port should be >= 0 and < 65536. Received type number (-1)."},
		{"echo two hosts", "echo localhost example.com", "Received type string ('localhost')."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkUsageError(t, tt.argv, tt.want) })
	}
}

// TestEmptyPathFlags checks that an empty -U or --fd is refused before
// anything runs: each used to read as not given, so that listen with an
// empty -U PATH listened on TCP. The commands are given a runF, so that a
// regression fails here instead of listening.
func TestEmptyPathFlags(t *testing.T) {
	const unix = "-U/--unix '': want a socket PATH, an @abstract name or a \\\\.\\pipe\\NAME"
	const fd = `--fd '': want a file descriptor number N or "systemd"`
	tests := []struct{ command, argv, want string }{
		{"connect", "-U ''", unix},
		{"connect", "-U '' 8124", unix},
		{"connect", "--unix=", unix},
		{"listen", "-U ''", unix},
		{"listen", "--unix= 8124", unix},
		{"listen", "--fd ''", fd},
		{"echo", "-U ''", unix},
		{"echo", "--fd=", fd},
	}
	for _, tt := range tests {
		t.Run(tt.command+" "+tt.argv, func(t *testing.T) {
			var ran any
			var err error
			switch tt.command {
			case "connect":
				var o *ConnectOptions
				o, err = parseConnect(t, tt.argv, false)
				if o != nil {
					ran = o
				}
			case "listen":
				var o *ListenOptions
				o, err = parseListen(t, tt.argv)
				if o != nil {
					ran = o
				}
			case "echo":
				var o *EchoOptions
				o, err = parseEcho(t, tt.argv)
				if o != nil {
					ran = o
				}
			}
			if ran != nil {
				t.Fatalf("%s %s ran with %+v", tt.command, tt.argv, ran)
			}
			var ue *UsageError
			if !errors.As(err, &ue) || err.Error() != tt.want {
				t.Errorf("%s %s: %v, want the usage error %q", tt.command, tt.argv, err, tt.want)
			}
		})
	}
}

// TestSSHProxyCommand runs OpenSSH's client with the ProxyCommand that
// users write, `nodenet connect %h %p` (HOST PORT), against a listener
// that reads the client's identification string and answers with one
// that ssh refuses: the
// string arrives only if nodenet read %h %p as host and port.
func TestSSHProxyCommand(t *testing.T) {
	ssh, err := exec.LookPath("ssh")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ssh is not installed (CI installs openssh-client)")
		}
		t.Skip("skipping: ssh is not installed")
	}
	if _, err := exec.LookPath("nodenet"); err != nil {
		t.Fatalf("nodenet is not on PATH (testscript.Main puts it there): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- "accept: " + err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second)) //nolint:errcheck // a failed read reports itself
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			line += " (" + err.Error() + ")"
		}
		got <- line
		// An SSH-1 identification makes ssh give up at once ("Protocol
		// major versions differ").
		c.Write([]byte("SSH-1.0-nodenet-test\r\n")) //nolint:errcheck // ssh gives up either way
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, ssh, "-F", "/dev/null",
		"-o", "ProxyCommand=nodenet connect %h %p",
		"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-p", port, "nobody@"+host, "true")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Run() //nolint:errcheck // ssh fails: the listener is no SSH server
	// ssh ends only after the listener has read and closed, or when it
	// never connected: then the closed listener ends the wait.
	ln.Close()
	if line := <-got; !strings.HasPrefix(line, "SSH-2.0-") {
		t.Errorf("the listener read %q, want ssh's identification string; ssh said:\n%s", line, stderr.String())
	}
	if strings.Contains(stderr.String(), "ERR_SOCKET_BAD_PORT") {
		t.Errorf("nodenet refused %%h %%p:\n%s", stderr.String())
	}
}
