//go:build linux

package netcore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestEchoServerFileLimit runs an echo server, on each engine, in a child
// process whose file limit is low, and opens more connections than it can hold: it must
// report EMFILE once, go on serving the connections it has, and accept
// the waiting ones as soon as descriptors are free again.
func TestEchoServerFileLimit(t *testing.T) {
	if engine := os.Getenv("NODENET_ECHO_LIMIT_CHILD"); engine != "" {
		echoLimitChild(Engine(engine))
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	for _, engine := range echoEngines() {
		t.Run(string(engine), func(t *testing.T) { echoFileLimit(t, engine) })
	}
}

func echoFileLimit(t *testing.T, engine Engine) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestEchoServerFileLimit$")
	cmd.Env = append(os.Environ(), "NODENET_ECHO_LIMIT_CHILD="+string(engine))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(echoTestTimeout):
			cmd.Process.Kill()
			t.Error("the child did not exit")
		}
	}()
	lines := bufio.NewScanner(stdout)
	ask := func(q string) string {
		t.Helper()
		fmt.Fprintln(stdin, q)
		if !lines.Scan() {
			t.Fatalf("the child said nothing to %q", q)
		}
		return lines.Text()
	}
	port := ask("port")
	const conns = 120 // more than the child's limit of 64 descriptors
	var clients []net.Conn
	for i := 0; i < conns; i++ {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, echoTestTimeout)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(echoTestTimeout))
		clients = append(clients, c)
	}
	// Which connections were greeted? The child accepts as many as its
	// descriptors allow, and the rest wait in the listen queue.
	var open, errs int
	echoEventually(t, "the child hit its limit", func() bool {
		fmt.Sscanf(ask("stats"), "open %d errors %d", &open, &errs)
		return errs > 0
	})
	if open == 0 || open >= conns {
		t.Fatalf("the child has %d connections open; want some, not all %d", open, conns)
	}
	t.Logf("the child holds %d of %d connections at its limit", open, conns)
	// The listen queue is first in, first out, and the clients connected
	// one after another: the first ones are those the child holds.
	greet := make([]byte, 2)
	for i, c := range clients[:open] {
		if _, err := io.ReadFull(c, greet); err != nil || string(greet) != "hi" {
			t.Fatalf("held connection %d got %q, %v", i, greet, err)
		}
	}
	// They are still served while the child is at its limit.
	if _, err := clients[0].Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(clients[0], greet); err != nil || string(greet) != "ok" {
		t.Fatalf("a held connection got %q, %v while the server was at its limit", greet, err)
	}
	// Free ten descriptors: the next ten waiting connections are accepted.
	for _, c := range clients[:10] {
		c.Close()
	}
	for i, c := range clients[open : open+10] {
		if _, err := io.ReadFull(c, greet); err != nil || string(greet) != "hi" {
			t.Fatalf("waiting connection %d was not served after descriptors were freed: %q, %v", open+i, greet, err)
		}
	}
	var pauses int
	fmt.Sscanf(ask("stats"), "open %d errors %d pauses %d", &open, &errs, &pauses)
	if errs != 1 {
		t.Errorf("OnError was called %d times; want once for the whole episode", errs)
	}
	// Accepting pauses 5ms, 10ms, ... up to 1s at a time: a few dozen
	// pauses in a test's lifetime. Without pauses the level-triggered
	// listener would wake the loop for the waiting connections at once,
	// again and again; with pauses too short, far more than this.
	if engine != EngineGoroutines && (pauses == 0 || pauses > 1000) {
		t.Errorf("accepting paused %d times; want some, and not a spin", pauses)
	}
}

// echoLimitChild is the child of TestEchoServerFileLimit: an echo server
// with 64 descriptors, answering "port" and "stats" on stdin.
func echoLimitChild(engine Engine) {
	lim := unix.Rlimit{Cur: 64, Max: 64}
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err == nil {
		lim.Cur = 64
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	var mu sync.Mutex
	errs := 0
	so := ServerOptions{Engine: engine}
	so.Hooks.OnError = func(err error) {
		if !errors.Is(err, syscall.EMFILE) {
			fmt.Fprintln(os.Stderr, "unexpected error:", err)
		}
		mu.Lock()
		errs++
		mu.Unlock()
	}
	r := NewEchoServer(so, EchoOptions{Greeting: []byte("hi")})
	if err := r.Serve(ln); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch strings.TrimSpace(in.Text()) {
		case "port":
			fmt.Println(port)
		case "stats":
			mu.Lock()
			var pauses int64
			if r.loops != nil {
				pauses = r.loops.runtime().pauses.Load()
			}
			fmt.Printf("open %d errors %d pauses %d\n", r.Connections(), errs, pauses)
			mu.Unlock()
		}
	}
	r.Destroy()
	os.Exit(0)
}

// TestEchoServerIPCOnLoops: a Unix socket file and an abstract name that
// the server binds itself (ipc's listener) are served from the event
// loops, and Close removes the socket file.
func TestEchoServerIPCOnLoops(t *testing.T) {
	for _, engine := range echoEngines() {
		if engine != EngineGoroutines {
			t.Run(string(engine), func(t *testing.T) { echoIPCOnLoops(t, engine) })
		}
	}
}

func echoIPCOnLoops(t *testing.T, engine Engine) {
	path := t.TempDir() + "/echo.sock"
	abstract := fmt.Sprintf("@nodenet-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	for _, p := range []string{path, abstract} {
		srv := NewEchoServer(ServerOptions{Engine: engine}, EchoOptions{Greeting: []byte("hi")})
		if err := srv.Listen(context.Background(), ListenOptions{Path: p, Workers: 2}); err != nil {
			t.Fatal(err)
		}
		if got := srv.Engine(); got != engine {
			t.Errorf("%s: served on %q; want the %s engine", p, got, engine)
		}
		if got := srv.Address().Path; got != p {
			t.Errorf("address %q; want %q", got, p)
		}
		dial := p
		if p[0] == '@' {
			dial = "\x00" + p[1:]
		}
		c, err := net.DialTimeout("unix", dial, echoTestTimeout)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(echoTestTimeout))
		if got := echoRoundTrip(t, c, []byte("over ipc")); string(got) != "hiover ipc" {
			t.Errorf("%s: got %q", p, got)
		}
		c.Close()
		srv.Close()
		select {
		case <-srv.Done():
		case <-time.After(echoTestTimeout):
			t.Fatal("not done after Close")
		}
		if p == path {
			if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the socket file is still there after Close: %v", err)
			}
		}
	}
}
