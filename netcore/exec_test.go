//go:build linux

package netcore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// execServer serves ex on 127.0.0.1:0; each connection's status and
// error arrive on the returned channel.
type execResult struct {
	st  ExitStatus
	err error
}

func execServer(t *testing.T, opts ExecOptions) (*Server, *Exec, <-chan execResult) {
	t.Helper()
	ex, err := NewExec(opts)
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan execResult, 1024)
	srv := listenLocal(t, ServerOptions{AllowHalfOpen: true}, func(s *Socket) {
		st, err := ex.Serve(s)
		results <- execResult{st, err}
	})
	t.Cleanup(func() {
		srv.Destroy()
		ex.Kill()
		ex.Wait()
	})
	return srv, ex, results
}

func TestExecRelaysBothWaysAndExitStatus(t *testing.T) {
	srv, _, results := execServer(t, ExecOptions{Argv: []string{"sh", "-c", "tr a-z A-Z; exit 3"}})
	c := dialLocal(t, srv.Address())
	if _, err := c.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite() // the peer's end closes the child's stdin: tr ends
	if got := readAll(t, c); got != "HELLO\n" {
		t.Fatalf("got %q, want HELLO", got)
	}
	r := waitFor(t, results, "the child")
	if r.err != nil || r.st != (ExitStatus{ExitCode: 3}) || r.st.Code() != 3 {
		t.Fatalf("got %+v, %v; want exit code 3 and no error", r.st, r.err)
	}
}

// TestExecByteExact sends 8 MiB through cat and back, at once.
func TestExecByteExact(t *testing.T) {
	srv, _, results := execServer(t, ExecOptions{Argv: []string{"cat"}})
	c := dialLocal(t, srv.Address())
	data := randomBytes(t, 8<<20)
	go func() {
		c.Write(data)
		c.CloseWrite()
	}()
	if got := readAll(t, c); !bytes.Equal([]byte(got), data) {
		t.Fatalf("got %d bytes back, want the %d sent, unchanged", len(got), len(data))
	}
	if r := waitFor(t, results, "the child"); r.err != nil || r.st.ExitCode != 0 {
		t.Fatalf("got %+v, %v", r.st, r.err)
	}
}

func TestExecEnvironment(t *testing.T) {
	srv, _, _ := execServer(t, ExecOptions{Argv: []string{"sh", "-c",
		`printf '%s %s %s %s' "$NODENET_REMOTE_ADDRESS" "$NODENET_REMOTE_PORT" "$NODENET_LOCAL_ADDRESS" "$NODENET_LOCAL_PORT"`}})
	c := dialLocal(t, srv.Address())
	l, r := c.LocalAddr().(*net.TCPAddr), c.RemoteAddr().(*net.TCPAddr)
	want := fmt.Sprintf("127.0.0.1 %d 127.0.0.1 %d", l.Port, r.Port)
	if got := readAll(t, c); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestExecEnvironmentIPC(t *testing.T) {
	ex, err := NewExec(ExecOptions{Argv: []string{"sh", "-c", `printf '%s' "$NODENET_PATH"`}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.sock")
	srv := NewServer(ServerOptions{AllowHalfOpen: true}, func(s *Socket) { ex.Serve(s) })
	if err := srv.Listen(connectCtx(t), ListenOptions{Path: path}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Destroy)
	c, err := net.DialTimeout("unix", path, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := readAll(t, c); got != path {
		t.Fatalf("got %q, want %q", got, path)
	}
}

// TestExecHalfCloseBothWays: the child closes its stdout and goes on
// reading; the peer sees the end (FIN) at once, then ends its own side,
// which the child sees as the end of its stdin.
func TestExecHalfCloseBothWays(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "got")
	srv, _, results := execServer(t, ExecOptions{Argv: []string{"sh", "-c", `echo first; exec >&-; cat > "$0"`, out}})
	c := dialLocal(t, srv.Address())
	if got := readAll(t, c); got != "first\n" {
		t.Fatalf("got %q before the FIN, want %q", got, "first\n")
	}
	// The child still reads: what we send now reaches its file.
	if _, err := c.Write([]byte("after the child's end\n")); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	if r := waitFor(t, results, "the child"); r.err != nil || r.st.ExitCode != 0 {
		t.Fatalf("got %+v, %v", r.st, r.err)
	}
	if b, _ := os.ReadFile(out); string(b) != "after the child's end\n" {
		t.Fatalf("the child read %q", b)
	}
}

// TestExecChildExitsAtOnce: a child that exits without reading ends the
// connection, even while the peer is still sending.
func TestExecChildExitsAtOnce(t *testing.T) {
	srv, _, results := execServer(t, ExecOptions{Argv: []string{"true"}})
	c := dialLocal(t, srv.Address())
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 16<<20)) // more than every buffer on the way
		werr <- err
	}()
	r := waitFor(t, results, "the child")
	if r.st.ExitCode != 0 {
		t.Fatalf("got %+v", r.st)
	}
	if err := waitFor(t, werr, "the peer's write to fail"); err == nil {
		t.Fatal("16 MiB were taken by a connection whose child read nothing and exited")
	}
}

// TestExecChildNeverReads: a child that neither reads nor exits is hung
// up on when the peer goes away, and its status says so.
func TestExecChildNeverReads(t *testing.T) {
	exits := make(chan bool, 1)
	srv, _, results := execServer(t, ExecOptions{
		Argv:   []string{"sleep", "1000"},
		OnExit: func(_ *Socket, _ ExitStatus, closed bool) { exits <- closed },
	})
	c := dialLocal(t, srv.Address())
	c.Write(make([]byte, 1<<10))
	// The sleep is a child of ours until it is reaped (and this is what
	// TestExecNoZombieNoLeak counts).
	deadline := time.Now().Add(testTimeout)
	for children(t) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no child counted while one runs")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.SetLinger(0)
	c.Close() // a reset: the connection closes before the child exits
	r := waitFor(t, results, "the child")
	if r.st.Signal != "SIGHUP" || r.st.ExitCode != -1 || r.st.Code() != 129 {
		t.Fatalf("got %+v, want ended by SIGHUP (129)", r.st)
	}
	if !waitFor(t, exits, "OnExit") {
		t.Fatal("OnExit: closed is false for a child that outlived its connection")
	}
}

func TestExecSignalStatus(t *testing.T) {
	srv, _, results := execServer(t, ExecOptions{Argv: []string{"sh", "-c", "kill -TERM $$"}})
	c := dialLocal(t, srv.Address())
	readAll(t, c)
	r := waitFor(t, results, "the child")
	if r.st != (ExitStatus{ExitCode: -1, Signal: "SIGTERM"}) || r.st.Code() != 143 {
		t.Fatalf("got %+v (code %d), want SIGTERM (143)", r.st, r.st.Code())
	}
}

// TestExecStatusDuringClose: when the child's exit ends the connection,
// its status is there for the close event: when the child exits of
// itself, and when the peer's end made it end (our FIN then waits for the
// exit).
func TestExecStatusDuringClose(t *testing.T) {
	for _, peerEnds := range []bool{false, true} {
		t.Run(fmt.Sprint("peer ends first: ", peerEnds), func(t *testing.T) { testExecStatusDuringClose(t, peerEnds) })
	}
}

func testExecStatusDuringClose(t *testing.T, peerEnds bool) {
	var ex *Exec
	got := make(chan string, 1)
	hooks := &SocketHooks{OnClose: func(s *Socket, _ bool) {
		st, ok := ex.Status(s)
		got <- fmt.Sprint(st.ExitCode, ok)
	}}
	var err error
	script := "exit 7"
	if peerEnds {
		script = "cat; exit 7"
	}
	ex, err = NewExec(ExecOptions{Argv: []string{"sh", "-c", script}})
	if err != nil {
		t.Fatal(err)
	}
	srv := listenLocal(t, ServerOptions{AllowHalfOpen: true, SocketHooks: hooks}, func(s *Socket) { ex.Serve(s) })
	c := dialLocal(t, srv.Address())
	if peerEnds {
		c.Write([]byte("x"))
		c.CloseWrite()
	}
	readAll(t, c)
	if s := waitFor(t, got, "close"); s != "7 true" {
		t.Fatalf("Status during OnClose: %s, want 7 true", s)
	}
}

func TestExecCommandNotFound(t *testing.T) {
	_, err := NewExec(ExecOptions{Argv: []string{"nodenet-no-such-command", "x"}})
	var ne *Error
	if !errors.As(err, &ne) || ne.Code != "ENOENT" || !ne.Usage || ne.Message != "spawn nodenet-no-such-command ENOENT" {
		t.Fatalf("got %#v", err)
	}
}

// TestExecNoZombieNoLeak runs 1,000 connections, in sequential batches of
// 50 at once, and then counts this process's descriptors and children:
// both are back where they were.
func TestExecNoZombieNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 children")
	}
	srv, ex, results := execServer(t, ExecOptions{Argv: []string{"cat"}})
	const total, batch = 1000, 50
	runBatch := func(first int) {
		var wg sync.WaitGroup
		for j := 0; j < batch; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				exchange(t, srv.Address(), "n"+strconv.Itoa(first+j))
			}()
		}
		wg.Wait()
		for j := 0; j < batch; j++ {
			if r := waitFor(t, results, "a child"); r.err != nil || r.st.ExitCode != 0 {
				t.Fatalf("connection %d: %+v, %v", first+j, r.st, r.err)
			}
		}
	}
	// One batch first, so that the runtime's own descriptors exist before
	// the baseline: the poller, and the pipes that splice(2) goes through,
	// which Go keeps in a pool as large as the number of splices at once.
	runBatch(-batch)
	fds, pipes := openFDs(t)
	kids := children(t)
	// No garbage collection meanwhile: a finalizer closing a descriptor
	// that was dropped would hide the leak.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for i := 0; i < total; i += batch {
		runBatch(i)
	}
	ex.Wait()
	if got := children(t); got != kids {
		t.Errorf("%d children after 1,000 connections, %d before", got, kids)
	}
	// The server goroutine may still be closing the last socket it
	// forgot; wait for the count to come back, within the test's bound.
	deadline := time.Now().Add(testTimeout)
	for {
		got, _ := openFDs(t)
		if got <= fds {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 1,000 connections: %d descriptors open, %d before (pipes apart): %s", got, fds, fdKinds(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Pipes are counted apart, after a collection: splice(2) goes through
	// pipes that Go keeps in a pool (two descriptors for each splice under
	// way at once, two per connection here), which only a collection
	// empties, and which the race detector's pool drops at random.
	debug.SetGCPercent(100)
	runtime.GC()
	runtime.GC()
	const poolBound = 2 * 2 * batch
	for {
		_, got := openFDs(t)
		if got <= pipes+poolBound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 1,000 connections: %d pipes open, %d before (and up to %d more for splice's pool)", got, pipes, poolBound)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// exchange sends msg through the child and checks it comes back.
func exchange(t *testing.T, a Addr, msg string) {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port)), testTimeout)
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	c.Write([]byte(msg))
	c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != msg {
		t.Errorf("got %q, %v; want %q", b, err, msg)
	}
}

// openFDs counts this process's open descriptors: pipes apart, the
// others in n.
func openFDs(t *testing.T) (n, pipes int) {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		l, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if strings.HasPrefix(l, "pipe:") {
			pipes++
		} else {
			n++
		}
	}
	return n, pipes
}

// children counts this process's child processes, zombies included: any
// process whose parent is us.
func children(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	me := strconv.Itoa(os.Getpid())
	n := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == me {
			n++
		}
	}
	return n
}

// fdKinds counts the open descriptors by what they are ("socket", "pipe",
// "anon_inode:[pidfd]", a path), for a failure message.
func fdKinds(t *testing.T) string {
	ents, _ := os.ReadDir("/proc/self/fd")
	kinds := map[string]int{}
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue
		}
		if i := strings.IndexByte(l, ':'); i > 0 && !strings.HasPrefix(l, "/") && !strings.HasPrefix(l, "anon_inode") {
			l = l[:i]
		}
		kinds[l]++
	}
	return fmt.Sprint(kinds)
}
