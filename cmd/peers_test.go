package cmd

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["peer"] = peerCmd
	// portof VAR HOST:PORT: set VAR to the port of an address.
	scriptCmds["portof"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: portof VAR HOST:PORT")
		}
		_, port, err := net.SplitHostPort(args[1])
		ts.Check(err)
		ts.Setenv(args[0], port)
	}
}

// peerOutput collects a peer's output while the test reads it.
type peerOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *peerOutput) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *peerOutput) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// scriptCondition adds [peer:PROG] to the scripts' conditions: PROG is
// installed, or CI=true, where a missing peer must fail the script (at
// its `peer` command) rather than skip it. Scripts start with
// "[!peer:PROG] skip 'PROG is not installed'".
//
// [mountns] is true when the test runs as root and may make a private
// mount namespace (unshare -m), which a test sshd needs.
func scriptCondition(cond string) (bool, error) {
	if cond == "mountns" {
		return os.Geteuid() == 0 && exec.Command("unshare", "-m", "true").Run() == nil, nil
	}
	name, ok := strings.CutPrefix(cond, "peer:")
	if !ok {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if os.Getenv("CI") == "true" {
		return true, nil
	}
	_, err := lookPeer(name)
	return err == nil, nil
}

// lookPeer finds a peer program in PATH or, for daemons, /usr/sbin.
func lookPeer(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return exec.LookPath("/usr/sbin/" + name)
}

// peerCmd is `peer VAR PROG ARGS...`: start a real peer (microsocks,
// ncat, sshd) that cannot listen on port 0, on a random loopback port
// written {port} in ARGS, and set VAR to that port once it accepts. When
// the port is taken (the peer says "Address already in use") another is
// tried. The peer is killed when the script ends. A PROG that is not
// installed fails the script: guard it with [!peer:PROG] skip.
func peerCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: peer VAR PROG ARGS...")
	}
	prog, err := lookPeer(args[1])
	if err != nil {
		ts.Fatalf("peer %s is not installed (CI installs it): %v", args[1], err)
	}
	for try := 0; try < 20; try++ {
		port := 20000 + rand.IntN(40000)
		argv := make([]string, len(args)-2)
		for i, a := range args[2:] {
			argv[i] = strings.ReplaceAll(a, "{port}", strconv.Itoa(port))
		}
		cmd := exec.Command(prog, argv...)
		cmd.Dir = ts.Getenv("WORK")
		var out peerOutput
		cmd.Stdout, cmd.Stderr = &out, &out
		ts.Check(cmd.Start())
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }() //nolint:errcheck // its output says why
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		deadline := time.Now().Add(10 * time.Second)
		for {
			select {
			case <-exited:
				if strings.Contains(strings.ToLower(out.String()), "address already in use") {
					goto next
				}
				ts.Fatalf("peer %s exited: %s", args[1], out.String())
			default:
			}
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				ts.Setenv(args[0], strconv.Itoa(port))
				ts.Defer(func() {
					cmd.Process.Kill() //nolint:errcheck // it may have exited
					<-exited
				})
				return
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill() //nolint:errcheck // it did not start in time
				<-exited
				ts.Fatalf("peer %s did not accept on %s within 10s: %s", args[1], addr, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	next:
	}
	ts.Fatalf("peer %s: no free port in 20 tries", args[1])
}
