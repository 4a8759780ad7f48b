//go:build linux

package cmd

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// workerEvent is the JSON worker event.
type workerEvent struct {
	Worker     int
	Pid        int
	State      string
	ExitCode   *int
	SignalCode *string
}

// workerEvents are the worker events printed so far, in order.
func (p *echoProc) workerEvents(t *testing.T) []workerEvent {
	t.Helper()
	var evs []workerEvent
	for _, l := range p.snapshot() {
		if !strings.HasPrefix(l, `{"event":"worker",`) {
			continue
		}
		var ev workerEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// workerPids waits for n started worker events and returns the pids, by
// worker number (index 0 is worker 1).
func (p *echoProc) workerPids(t *testing.T, n int) []int {
	t.Helper()
	p.waitCount(t, `^\{"event":"worker",.*"state":"started"`, n)
	pids := make([]int, n)
	for _, ev := range p.workerEvents(t) {
		if ev.State == "started" {
			pids[ev.Worker-1] = ev.Pid
		}
	}
	for i, pid := range pids {
		if pid == 0 {
			t.Fatalf("no started event for worker %d", i+1)
		}
	}
	return pids
}

// processGone reports whether no process has pid any more, or only a
// zombie that nobody reaped yet (its parent died, and a container's init
// may never reap).
func processGone(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// TestProcessWorkersOrphaned: when the master is killed (kill -9, no
// chance to stop anything), its workers die too.
func TestProcessWorkersOrphaned(t *testing.T) {
	p := startEcho(t, "", "--events", "json", "0", "127.0.0.1", "--processes", "--workers", "2")
	pids := p.workerPids(t, 2)
	c := echoGreeted(t, p.addr) // a worker holds a connection
	p.signal(t, syscall.SIGKILL)
	// Not p.wait: a worker left running would hold stderr open.
	deadline := time.Now().Add(echoWait)
	for _, pid := range pids {
		for !processGone(pid) {
			if time.Now().After(deadline) {
				for _, pid := range pids {
					syscall.Kill(pid, syscall.SIGKILL)
				}
				t.Fatalf("worker pid %d still runs %v after its master was killed", pid, echoWait)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	p.wait(t)
	// Its connection went with it.
	c.SetDeadline(time.Now().Add(echoWait))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the connection is still served after master and workers died")
	}
}

// TestProcessWorkersSpread: under listen -k --sh-exec, each connection's
// command is a child of the worker that serves it ($PPID); connections go
// to the workers round-robin, so six connections to three workers show
// each worker's pid twice, and no pid that is not a worker's.
func TestProcessWorkersSpread(t *testing.T) {
	p := startServerProc(t, "", "listen", "--events", "json", "-k", "0", "127.0.0.1",
		"--processes", "--workers", "3", "--sh-exec", `echo $PPID`)
	pids := p.workerPids(t, 3)
	if pids[0] == pids[1] || pids[1] == pids[2] || pids[0] == pids[2] {
		t.Fatalf("worker pids %v are not three processes", pids)
	}
	served := map[int]int{}
	for i := 0; i < 6; i++ {
		c, err := net.DialTimeout("tcp", p.addr, echoWait)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(echoWait))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil {
			t.Fatalf("connection %d: %q, %v", i, line, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("connection %d: %q", i, line)
		}
		if want := pids[i%3]; pid != want {
			t.Errorf("connection %d was served by pid %d; round-robin over %v gives %d", i, pid, pids, want)
		}
		served[pid]++
	}
	for _, pid := range pids {
		if served[pid] != 2 {
			t.Errorf("worker pid %d served %d connections; want 2 (served: %v)", pid, served[pid], served)
		}
	}
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM; want 0", code)
	}
}

// TestProcessWorkersCrash: kill -9 of one worker while every worker's
// connections are busy loses that worker's connections only: every
// exchange on the others comes back byte-exact, before and after the
// kill. The worker is started again (exited with SIGKILL, then
// restarted), and new connections are served, by the new process too.
func TestProcessWorkersCrash(t *testing.T) {
	const workers, perWorker = 3, 3
	p := startEcho(t, "", "--events", "json", "0", "127.0.0.1", "--processes", "--workers", strconv.Itoa(workers))
	pids := p.workerPids(t, workers)
	// Connected one at a time, each greeted before the next: the master
	// hands them out in this order, round-robin.
	var conns []*net.TCPConn
	for i := 0; i < workers*perWorker; i++ {
		conns = append(conns, echoGreeted(t, p.addr))
	}
	const victim = 1 // worker 2
	killed := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, len(conns))
	rounds := make([]atomic.Int64, len(conns))
	for i, c := range conns {
		wg.Add(1)
		go func(i int, c net.Conn) {
			defer wg.Done()
			msg := make([]byte, 4096)
			// Until the kill and 50 rounds after it: the load stops by
			// itself.
			after := -1
			for n := 0; after < 50; n++ {
				rand.Read(msg)
				if err := echoExchange(c, msg); err != nil {
					errs[i] = err
					return
				}
				rounds[i].Add(1)
				select {
				case <-killed:
					after++
				default:
					if n > 10_000 {
						errs[i] = errors.New("the kill never came")
						return
					}
				}
			}
		}(i, c)
	}
	// Let every connection do a few rounds first.
	for deadline := time.Now().Add(echoWait); ; time.Sleep(5 * time.Millisecond) {
		busy := 0
		for i := range conns {
			if rounds[i].Load() >= 3 {
				busy++
			}
		}
		if busy == len(conns) || time.Now().After(deadline) {
			break
		}
	}
	if err := syscall.Kill(pids[victim], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(killed)
	wg.Wait()
	for i, err := range errs {
		if i%workers == victim {
			if err == nil {
				t.Errorf("connection %d of the killed worker still echoes", i)
			}
			continue
		}
		if err != nil {
			t.Errorf("connection %d (worker %d): %v", i, i%workers+1, err)
		}
	}
	p.waitCount(t, fmt.Sprintf(`^\{"event":"worker",.*"worker":%d,"pid":%d,"state":"exited","signalCode":"SIGKILL"\}`, victim+1, pids[victim]), 1)
	p.waitCount(t, fmt.Sprintf(`^\{"event":"worker",.*"worker":%d,.*"state":"restarted"\}`, victim+1), 1)
	for _, ev := range p.workerEvents(t) {
		if ev.State == "exited" && ev.Pid != pids[victim] {
			t.Errorf("another worker exited: %+v", ev)
		}
	}
	// New connections, one per worker at least, all served.
	for i := 0; i < 2*workers; i++ {
		c := echoGreeted(t, p.addr)
		if err := echoExchange(c, []byte("after the crash "+strconv.Itoa(i))); err != nil {
			t.Errorf("new connection %d: %v", i, err)
		}
		c.Close()
	}
	for _, c := range conns {
		c.Close()
	}
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM; want 0", code)
	}
}

// TestProcessWorkersMaxConnections: --max-connections holds across the
// workers: with 5 allowed and 12 clients holding on, 5 are greeted and 7
// dropped, each with a drop event. When 2 of them leave (their worker
// tells the master), 2 new clients are taken, and the next is dropped.
func TestProcessWorkersMaxConnections(t *testing.T) {
	const limit, clients = 5, 12
	p := startEcho(t, "", "--events", "json", "0", "127.0.0.1", "--processes", "--workers", "3", "--max-connections", strconv.Itoa(limit))
	p.workerPids(t, 3)
	// try connects and tells whether the client was greeted (taken) or
	// closed at once (dropped).
	try := func() (net.Conn, bool) {
		c, err := net.DialTimeout("tcp", p.addr, echoWait)
		if err != nil {
			t.Error(err)
			return nil, false
		}
		c.SetDeadline(time.Now().Add(echoWait))
		got := make([]byte, 7)
		if _, err := io.ReadFull(c, got); err != nil {
			c.Close()
			return nil, false
		}
		if string(got) != "hello\r\n" {
			t.Errorf("greeting %q", got)
		}
		return c, true
	}
	var mu sync.Mutex
	var taken []net.Conn
	dropped := 0
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, ok := try()
			mu.Lock()
			defer mu.Unlock()
			if ok {
				taken = append(taken, c)
			} else {
				dropped++
			}
		}()
	}
	wg.Wait()
	if len(taken) != limit || dropped != clients-limit {
		t.Fatalf("%d greeted and %d dropped; want %d and %d", len(taken), dropped, limit, clients-limit)
	}
	p.waitCount(t, `^\{"event":"drop",`, clients-limit)
	for _, c := range taken[:2] {
		c.Close()
	}
	// The master learns of their end from the workers; until it has, a
	// client is dropped. Bounded by echoWait.
	admitted := 0
	for deadline := time.Now().Add(echoWait); admitted < 2; {
		if c, ok := try(); ok {
			defer c.Close()
			admitted++
		} else if time.Now().After(deadline) {
			t.Fatalf("%d clients taken after 2 left; want 2", admitted)
		}
	}
	if c, ok := try(); ok {
		c.Close()
		t.Errorf("a sixth client was taken with %d open and a limit of %d", limit, limit)
	}
	for _, c := range taken[2:] {
		c.Close()
	}
}

// TestProcessWorkersStatsAndStop: --stats sums the workers' counts, and
// SIGTERM stops the master and every worker: each worker exits with 0
// and no worker process is left.
func TestProcessWorkersStatsAndStop(t *testing.T) {
	const workers, clients, size = 2, 6, 1000
	p := startEcho(t, "", "--events", "json", "0", "127.0.0.1", "--processes", "--workers", strconv.Itoa(workers), "--stats=1h")
	pids := p.workerPids(t, workers)
	for i := 0; i < clients; i++ {
		c := echoGreeted(t, p.addr)
		if err := echoExchange(c, bytes.Repeat([]byte{byte('a' + i)}, size)); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	// Each worker prints its connections' close events.
	p.waitCount(t, `^\{"event":"close",.*"id":`, clients)
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM; want 0", code)
	}
	var st echoStatsEvent
	if err := json.Unmarshal([]byte(p.waitCount(t, `^\{"event":"stats",`, 1)), &st); err != nil {
		t.Fatal(err)
	}
	want := echoStatsEvent{Final: true, Accepted: clients, BytesRead: clients * size, BytesWritten: clients * (size + 7)}
	if st != want {
		t.Errorf("final stats %+v; want %+v", st, want)
	}
	var exited []int
	for _, ev := range p.workerEvents(t) {
		if ev.State == "exited" {
			exited = append(exited, ev.Pid)
			if ev.ExitCode == nil || *ev.ExitCode != 0 {
				t.Errorf("worker %d exited %+v; want exitCode 0", ev.Worker, ev)
			}
		}
	}
	slices.Sort(exited)
	slices.Sort(pids)
	if !slices.Equal(exited, pids) {
		t.Errorf("exited workers %v; want %v", exited, pids)
	}
	for _, pid := range pids {
		if !processGone(pid) {
			t.Errorf("worker pid %d is still there after the master exited", pid)
		}
	}
}

// TestProcessWorkersExec: listen -k --exec cat under --processes gives
// each connection its own child, in the workers, and every byte comes
// back.
func TestProcessWorkersExec(t *testing.T) {
	const clients = 6
	p := startServerProc(t, "", "listen", "--events", "json", "-k", "0", "127.0.0.1",
		"--processes", "--workers", "2", "--exec", "cat")
	p.workerPids(t, 2)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", p.addr, echoWait)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(echoWait))
			msg := make([]byte, 256<<10)
			rand.Read(msg)
			go func() {
				c.Write(msg)
				c.(*net.TCPConn).CloseWrite()
			}()
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, msg) {
				t.Errorf("client %d: %d bytes back of %d (equal: %v), %v", i, len(got), len(msg), bytes.Equal(got, msg), err)
			}
		}(i)
	}
	wg.Wait()
	// One child per connection: its close event carries its exit code.
	p.waitCount(t, `^\{"event":"close",.*"exitCode":0`, clients)
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM; want 0", code)
	}
}

// TestProcessesUsageExit: --processes' flag errors exit 2, before
// anything listens or starts.
func TestProcessesUsageExit(t *testing.T) {
	for _, argv := range [][]string{
		{"echo", "--processes", "--tls", "0", "127.0.0.1"},
		{"listen", "-k", "--processes", "0", "127.0.0.1"},
	} {
		_, stderr, code := runNodenet(t, nil, argv...)
		if code != 2 || !strings.Contains(string(stderr), "--processes") {
			t.Errorf("nodenet %v: exit %d, %s; want 2 and a message naming --processes", argv, code, stderr)
		}
	}
}

// TestProcessWorkersSecondSignal: the first SIGINT lets a held client
// stay (the workers finish their connections); the second closes it at
// once, the workers exit, and the master's status is SIGINT's.
func TestProcessWorkersSecondSignal(t *testing.T) {
	p := startEcho(t, "", "-v", "0", "127.0.0.1", "--processes", "--workers", "2", "--stats=1h")
	p.waitCount(t, `worker worker=\d pid=\d+ state=started`, 2)
	var pids []int
	for _, l := range p.snapshot() {
		if i := strings.Index(l, " pid="); i >= 0 && strings.Contains(l, "state=started") {
			pid, _ := strconv.Atoi(strings.Fields(l[i+5:])[0])
			pids = append(pids, pid)
		}
	}
	held := echoGreeted(t, p.addr)
	p.signal(t, os.Interrupt)
	p.waitCount(t, `waiting for 1 open connection`, 1)
	if err := echoExchange(held, []byte("still served")); err != nil {
		t.Fatalf("the held client after the first SIGINT: %v", err)
	}
	secondInterrupt(t, p, held)
	for _, pid := range pids {
		if !processGone(pid) {
			t.Errorf("worker pid %d is still there after the master exited", pid)
		}
	}
}

// TestProcessWorkersEngines: under --processes each worker serves on the
// engine --engine names (the event loops by default), says so with -vv,
// and echoes byte-exact, the connections shared out among the workers.
func TestProcessWorkersEngines(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // the engine the -vv lines name
	}{
		{"default", nil, "(uring|epoll)"}, // io_uring where the kernel has it
		{"epoll", []string{"--engine", "epoll"}, "epoll"},
		{"goroutines", []string{"--engine", "goroutines"}, "goroutines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-vv", "0", "127.0.0.1", "--processes", "--workers", "2"}, tc.args...)
			p := startEcho(t, "", args...)
			p.waitCount(t, `^worker \d+ serving on the `+tc.want+` engine$`, 2)
			for _, l := range p.snapshot() {
				if strings.Contains(l, "serving on the") && !strings.HasPrefix(l, "worker ") {
					t.Errorf("the master names an engine: %q", l)
				}
			}
			for i := range 4 {
				c := echoGreeted(t, p.addr)
				msg := bytes.Repeat([]byte{byte('a' + i)}, 100000)
				if err := echoExchange(c, msg); err != nil {
					t.Fatalf("connection %d: %v", i, err)
				}
				c.Close()
			}
			p.signal(t, syscall.SIGTERM)
			if code := p.wait(t); code != 0 {
				t.Errorf("exit status %d after SIGTERM; want 0", code)
			}
		})
	}
}
