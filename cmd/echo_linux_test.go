//go:build linux

package cmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nodenet/nodenet/netcore/nodetest"
)

// echoWait bounds every wait of these tests.
const echoWait = 30 * time.Second

// echoPaths are the ways nodenet echo serves: epoll loops, io_uring loops
// (the default; epoll where the kernel has no io_uring), and a Socket per
// connection, which --timeout needs.
var echoPaths = []struct {
	name string
	args []string
}{
	{"epoll", []string{"--engine", "epoll"}},
	{"uring", nil}, // the default, where the kernel has io_uring
	{"socket", []string{"--timeout", "1h"}},
}

// fillUntilStuck writes to c, 64 KiB at a time, until a write cannot
// finish within half a second: every buffer on the way is full, so the
// server waits in a write and takes no more. It returns the bytes written,
// and fails the test when the server took 256 MiB from a client that reads
// nothing (a server that buffers without bound would take it all).
func fillUntilStuck(t *testing.T, c net.Conn) int64 {
	t.Helper()
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	var sent int64
	for {
		c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := c.Write(chunk)
		sent += int64(n)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.SetWriteDeadline(time.Time{})
			return sent
		}
		if err != nil {
			t.Fatal(err)
		}
		if sent > 256<<20 {
			t.Fatalf("the server took %d bytes from a client that reads nothing", sent)
		}
	}
}

// echoProc is a `nodenet echo` process, its stderr collected line by line.
type echoProc struct {
	cmd  *exec.Cmd
	addr string

	mu     sync.Mutex
	lines  []string
	more   chan struct{} // closed and replaced at each new line
	exited chan struct{}
	code   int
}

// startEcho runs `nodenet echo ARGS` (prefixed with sh's ulimit when
// ulimit is not empty) and waits until it listens.
func startEcho(t *testing.T, ulimit string, args ...string) *echoProc {
	t.Helper()
	return startServerProc(t, ulimit, "echo", args...)
}

// startServerProc runs `nodenet COMMAND ARGS` as startEcho does.
func startServerProc(t *testing.T, ulimit, command string, args ...string) *echoProc {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	argv := append([]string{nodenetPath(t), command, "--ready-file", ready}, args...)
	var c *exec.Cmd
	if ulimit != "" {
		c = exec.Command("sh", append([]string{"-c", "ulimit -n " + ulimit + ` && exec "$@"`, "sh"}, argv...)...)
	} else {
		c = exec.Command(argv[0], argv[1:]...)
	}
	c.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	stderr, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &echoProc{cmd: c, more: make(chan struct{}), exited: make(chan struct{})}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.more)
			p.more = make(chan struct{})
			p.mu.Unlock()
		}
		err := c.Wait()
		var ee *exec.ExitError
		p.mu.Lock()
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		p.mu.Unlock()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			c.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("nodenet %s's stderr:\n%s", command, strings.Join(p.snapshot(), "\n"))
		}
	})
	p.addr = waitReady(t, ready)
	return p
}

func (p *echoProc) snapshot() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// count is the number of stderr lines so far that match re.
func (p *echoProc) count(re string) int {
	rx := regexp.MustCompile(re)
	n := 0
	for _, l := range p.snapshot() {
		if rx.MatchString(l) {
			n++
		}
	}
	return n
}

// waitCount waits until n stderr lines match re and returns the last.
func (p *echoProc) waitCount(t *testing.T, re string, n int) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(echoWait)
	for {
		p.mu.Lock()
		var last string
		k := 0
		for _, l := range p.lines {
			if rx.MatchString(l) {
				k++
				last = l
			}
		}
		more := p.more
		p.mu.Unlock()
		if k >= n {
			return last
		}
		select {
		case <-more:
		case <-p.exited:
			if p.count(re) < n {
				t.Fatalf("nodenet echo exited with %d lines matching %q; want %d", p.count(re), re, n)
			}
		case <-deadline:
			t.Fatalf("waited %v for %d lines matching %q; have %d", echoWait, n, re, k)
		}
	}
}

// signal sends sig to the process.
func (p *echoProc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the process to exit and returns its status.
func (p *echoProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(echoWait):
		t.Fatalf("nodenet echo still running after %v", echoWait)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code
}

// rssKiB is the process's resident set (VmRSS) in KiB.
func (p *echoProc) rssKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// echoStatsEvent is the JSON stats event.
type echoStatsEvent struct {
	Final                   bool
	Open                    int
	Accepted, Dropped       int64
	BytesRead, BytesWritten int64
}

// stats waits for the next stats event and returns it.
func (p *echoProc) stats(t *testing.T) echoStatsEvent {
	t.Helper()
	re := `^\{"event":"stats",`
	line := p.waitCount(t, re, p.count(re)+1)
	var ev echoStatsEvent
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return ev
}

// secondInterrupt sends the second SIGINT and checks what it does: exit
// status 130, the held client's connection closed, one final stats line.
func secondInterrupt(t *testing.T, p *echoProc, held *net.TCPConn) {
	t.Helper()
	p.signal(t, os.Interrupt)
	if code := p.wait(t); code != 130 {
		t.Errorf("exit status %d; want 130", code)
	}
	held.SetReadDeadline(time.Now().Add(echoWait))
	if n, err := held.Read(make([]byte, 1)); err == nil {
		t.Errorf("the held client read %d bytes; want its connection closed", n)
	}
	if p.count(`^stats: final after `) != 1 {
		t.Error("no final stats line after the second SIGINT")
	}
}

// echoGreeted connects and reads the greeting.
func echoGreeted(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, echoWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(echoWait))
	got := make([]byte, 7)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello\r\n" {
		t.Fatalf("greeting %q, %v", got, err)
	}
	return c.(*net.TCPConn)
}

// echoExchange sends p on c and reads it back.
func echoExchange(c net.Conn, p []byte) error {
	c.SetDeadline(time.Now().Add(echoWait))
	if _, err := c.Write(p); err != nil {
		return err
	}
	got := make([]byte, len(p))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, p) {
		return fmt.Errorf("sent %q, got %q back", p, got)
	}
	return nil
}

// echoWaitRefused waits until addr refuses connections.
func echoWaitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(echoWait)
	for {
		c, err := net.DialTimeout("tcp", addr, echoWait)
		if errors.Is(err, syscall.ECONNREFUSED) {
			return
		}
		if err == nil {
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEchoReliability: a client that sends nothing, one that sends and
// never reads, and one that resets mid-message leave the server up and
// serving everyone else; the one that does not read is not read from
// beyond one buffer (back-pressure), and gets every byte once it reads.
// Then SIGINT lets the open clients finish, and the exit status is 0.
func TestEchoReliability(t *testing.T) {
	for _, path := range echoPaths {
		t.Run(path.name, func(t *testing.T) {
			p := startEcho(t, "", append([]string{"0", "127.0.0.1", "--events", "json", "--stats=50ms"}, path.args...)...)
			rss0 := p.rssKiB(t)

			idle := echoGreeted(t, p.addr)

			// The client that never reads: write until the server stops
			// taking data. A server that buffered without bound would
			// take it all.
			quiet := echoGreeted(t, p.addr)
			sent := fillUntilStuck(t, quiet)
			st := p.stats(t)
			st = p.stats(t) // one whole interval after the writes stopped
			held := st.BytesRead - (st.BytesWritten - 7*st.Accepted)
			t.Logf("a client that does not read pushed %d bytes; the server holds %d of them, RSS %d → %d KiB", sent, held, rss0, p.rssKiB(t))
			if held < 0 || held > 64<<10 {
				t.Errorf("the server holds %d bytes read and not echoed; want at most one 64 KiB buffer", held)
			}
			if grew := p.rssKiB(t) - rss0; grew > 32<<10 {
				t.Errorf("the server's RSS grew by %d KiB for one client that does not read", grew)
			}

			// The client that resets in the middle of a message.
			reset := echoGreeted(t, p.addr)
			if _, err := reset.Write([]byte("half a mess")); err != nil {
				t.Fatal(err)
			}
			reset.SetLinger(0)
			reset.Close()
			p.waitCount(t, `^\{"event":"close","time":"[^"]+","id":3,"hadError":true,`, 1)
			if n := p.count(`^\{"event":"error","time":"[^"]+","id":3,"code":"(ECONNRESET|EPIPE)","syscall":"(read|write)",`); n != 1 {
				t.Errorf("%d error events for the reset client; want 1 naming ECONNRESET or EPIPE", n)
			}

			// Everyone else is served meanwhile.
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := net.DialTimeout("tcp", p.addr, echoWait)
					if err != nil {
						errs <- err
						return
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(echoWait))
					msg := bytes.Repeat([]byte{byte('a' + i)}, 1000+i)
					go func() {
						c.Write(msg)
						c.(*net.TCPConn).CloseWrite()
					}()
					got, err := io.ReadAll(c)
					if err != nil || string(got) != "hello\r\n"+string(msg) {
						errs <- fmt.Errorf("client %d got %d bytes, %v", i, len(got), err)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if err := echoExchange(idle, []byte("still there?")); err != nil {
				t.Errorf("the idle client: %v", err)
			}

			// SIGINT: no new clients, the open ones finish.
			p.signal(t, os.Interrupt)
			echoWaitRefused(t, p.addr)
			if err := echoExchange(idle, []byte("after SIGINT")); err != nil {
				t.Errorf("the idle client after SIGINT: %v", err)
			}
			// The client that did not read gets every byte it sent.
			quiet.SetDeadline(time.Now().Add(echoWait))
			go quiet.CloseWrite()
			back, err := io.Copy(io.Discard, quiet)
			if err != nil || back != sent {
				t.Errorf("the client that did not read got %d of its %d bytes back, %v", back, sent, err)
			}
			idle.Close()
			if code := p.wait(t); code != 0 {
				t.Errorf("exit status %d after the last client ended; want 0", code)
			}
			final := p.waitCount(t, `^\{"event":"stats",.*"final":true`, 1)
			var ev echoStatsEvent
			json.Unmarshal([]byte(final), &ev)
			if ev.Open != 0 || ev.Accepted < 23 || ev.BytesRead < sent {
				t.Errorf("final stats %+v; want 0 open, at least 23 accepted, %d bytes read", ev, sent)
			}
		})
	}
}

// TestEchoSecondSignal: a second SIGINT closes the open connections at
// once; the status is 130, as a shell reports SIGINT, and the final
// --stats line is printed.
func TestEchoSecondSignal(t *testing.T) {
	for _, path := range echoPaths {
		t.Run(path.name, func(t *testing.T) {
			p := startEcho(t, "", append([]string{"0", "127.0.0.1", "--stats=1h"}, path.args...)...)
			held := echoGreeted(t, p.addr)
			p.signal(t, os.Interrupt)
			p.waitCount(t, `waiting for \d+ open connection`, 1)
			select {
			case <-p.exited:
				t.Fatal("exited after the first SIGINT with a client still open")
			default:
			}
			secondInterrupt(t, p, held)
		})
	}
}

// TestEchoMaxConnectionsChurn: with --max-connections 3 and two accept
// loops, every client is either served or dropped, and the server's
// connection and drop events account for exactly those the clients saw,
// while clients come and go.
func TestEchoMaxConnectionsChurn(t *testing.T) {
	for _, path := range echoPaths {
		t.Run(path.name, func(t *testing.T) {
			p := startEcho(t, "", append([]string{"0", "127.0.0.1", "--max-connections", "3", "--workers", "2", "--events", "json"}, path.args...)...)
			// try connects once: true when served (greeted), false when
			// dropped (closed without a byte).
			try := func() (bool, error) {
				c, err := net.DialTimeout("tcp", p.addr, echoWait)
				if err != nil {
					return false, err
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(echoWait))
				got, err := io.ReadAll(io.LimitReader(c, 7))
				if errors.Is(err, syscall.ECONNRESET) {
					err = nil
				}
				switch {
				case err != nil:
					return false, err
				case string(got) == "hello\r\n":
					return true, nil
				case len(got) == 0:
					return false, nil
				}
				return false, fmt.Errorf("got %q", got)
			}
			var mu sync.Mutex
			served, dropped := 0, 0
			churn := func(workers, each int) {
				var wg sync.WaitGroup
				for w := 0; w < workers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < each; i++ {
							ok, err := try()
							mu.Lock()
							switch {
							case err != nil:
								t.Error(err)
							case ok:
								served++
							default:
								dropped++
							}
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
			}

			// Below the limit, with two clients held: churners come and
			// go, each served or dropped, depending on who else is open.
			a, b := echoGreeted(t, p.addr), echoGreeted(t, p.addr)
			churn(4, 25)
			// At the limit: once a third client is held, every further
			// client is dropped. (It may take a few tries: the server may
			// not have seen the churners' closes yet.)
			var c net.Conn
			for c == nil {
				cc, err := net.DialTimeout("tcp", p.addr, echoWait)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { cc.Close() })
				cc.SetDeadline(time.Now().Add(echoWait))
				got, err := io.ReadAll(io.LimitReader(cc, 7))
				switch {
				case string(got) == "hello\r\n":
					c = cc
				case len(got) == 0 && (err == nil || errors.Is(err, syscall.ECONNRESET)):
					cc.Close()
					dropped++
					time.Sleep(5 * time.Millisecond)
				default:
					t.Fatalf("got %q, %v", got, err)
				}
			}
			before := dropped
			churn(8, 25)
			if got := dropped - before; got != 200 {
				t.Errorf("at the limit %d of 200 clients were dropped; want all", got)
			}
			a.Close()
			b.Close()
			c.Close()
			p.signal(t, os.Interrupt)
			if code := p.wait(t); code != 0 {
				t.Errorf("exit status %d", code)
			}
			t.Logf("served %d, dropped %d", served+3, dropped)
			if n := p.count(`^\{"event":"drop","time":"[^"]+","localAddress":"127\.0\.0\.1","localPort":\d+,"localFamily":"IPv4","remoteAddress":"127\.0\.0\.1","remotePort":\d+,"remoteFamily":"IPv4"\}$`); n != dropped {
				t.Errorf("%d drop events; the clients saw %d drops", n, dropped)
			}
			if n := p.count(`^\{"event":"connection",`); n != served+3 {
				t.Errorf("%d connection events; the clients were served %d times", n, served+3)
			}
		})
	}
}

// TestEchoManyConnections holds 2,000 connections at once, each greeted
// and then answering its own message.
func TestEchoManyConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 connections")
	}
	for _, path := range echoPaths {
		t.Run(path.name, func(t *testing.T) {
			p := startEcho(t, "", append([]string{"0", "127.0.0.1", "--stats=1h"}, path.args...)...)
			const n = 2000
			conns := make([]net.Conn, n)
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for w := 0; w < 50; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < n; i += 50 {
						c, err := net.DialTimeout("tcp", p.addr, echoWait)
						if err != nil {
							errs <- err
							return
						}
						conns[i] = c
						c.SetDeadline(time.Now().Add(echoWait))
						got := make([]byte, 7)
						if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello\r\n" {
							errs <- fmt.Errorf("connection %d: greeting %q, %v", i, got, err)
						}
					}
				}()
			}
			wg.Wait()
			for w := 0; w < 50; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < n; i += 50 {
						if conns[i] == nil {
							continue
						}
						if err := echoExchange(conns[i], []byte("connection "+strconv.Itoa(i)+"\n")); err != nil {
							errs <- fmt.Errorf("connection %d: %v", i, err)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			for _, c := range conns {
				if c != nil {
					c.Close()
				}
			}
			p.signal(t, os.Interrupt)
			if code := p.wait(t); code != 0 {
				t.Errorf("exit status %d", code)
			}
			if p.count(`^stats: final after [0-9.]+s: open 0, accepted 2000 \(`) != 1 {
				t.Errorf("want a final line with 2000 accepted")
			}
		})
	}
}

// TestEchoFileLimit: with 64 descriptors, more clients than fit wait in
// the listen queue; the lack of descriptors is reported once, the open
// clients are still served, and the waiting ones are served as soon as
// others leave.
func TestEchoFileLimit(t *testing.T) {
	for _, path := range echoPaths {
		t.Run(path.name, func(t *testing.T) {
			p := startEcho(t, "64", append([]string{"0", "127.0.0.1", "--workers", "1"}, path.args...)...)
			const conns = 100
			var cs []net.Conn
			for i := 0; i < conns; i++ {
				c, err := net.DialTimeout("tcp", p.addr, echoWait)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				c.SetDeadline(time.Now().Add(echoWait))
				cs = append(cs, c)
			}
			p.waitCount(t, `^nodenet: accept EMFILE \(still serving open connections, retrying\)$`, 1)
			// The first clients were accepted (the queue is first in,
			// first out): they are served.
			got := make([]byte, 7)
			if _, err := io.ReadFull(cs[0], got); err != nil || string(got) != "hello\r\n" {
				t.Fatalf("the first client got %q, %v", got, err)
			}
			if err := echoExchange(cs[0], []byte("served at the limit")); err != nil {
				t.Fatal(err)
			}
			// The last one waits; once the first 60 leave, it is served.
			for _, c := range cs[:60] {
				c.Close()
			}
			if _, err := io.ReadFull(cs[conns-1], got); err != nil || string(got) != "hello\r\n" {
				t.Fatalf("the last client got %q, %v after others left", got, err)
			}
			if err := echoExchange(cs[conns-1], []byte("served after the limit")); err != nil {
				t.Fatal(err)
			}
			// Two signals sent at once may reach the process as one.
			p.signal(t, os.Interrupt)
			p.waitCount(t, `waiting for \d+ open connection`, 1)
			p.signal(t, os.Interrupt)
			p.wait(t)
			if n := p.count(`EMFILE`); n != 1 {
				t.Errorf("EMFILE reported %d times; want once", n)
			}
		})
	}
}

// TestNodeClientAgainstEcho: a Node v20 client is greeted with hello\r\n,
// then gets its data back, and sees the server end after its own end.
func TestNodeClientAgainstEcho(t *testing.T) {
	node := nodetest.Node20(t)
	for _, path := range echoPaths {
		t.Run(path.name, func(t *testing.T) {
			p := startEcho(t, "", append([]string{"0", "127.0.0.1"}, path.args...)...)
			_, port, _ := strings.Cut(p.addr, "127.0.0.1:")
			script := `
const net = require('net');
const c = net.connect(` + port + `, '127.0.0.1');
let got = '';
c.setEncoding('latin1');
c.on('data', (d) => {
  got += d;
  if (got === 'hello\r\n') c.end('from node\n');
});
c.on('end', () => { console.log(JSON.stringify(got)); });
`
			got := nodetest.Run(t, node, script, nil, echoWait)
			if want := `"hello\r\nfrom node\n"`; strings.TrimSpace(string(got)) != want {
				t.Errorf("node received %s, want %s", got, want)
			}
			p.signal(t, os.Interrupt)
			if code := p.wait(t); code != 0 {
				t.Errorf("exit status %d", code)
			}
		})
	}
}
