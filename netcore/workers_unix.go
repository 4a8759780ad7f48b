//go:build unix

package netcore

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nodenet/nodenet/internal/fdpass"
)

const processWorkersSupported = true

// How long a worker must have lived for its death to restart it at once;
// one that dies sooner is started again after a pause that starts at
// workerRestartMin and doubles up to workerRestartMax.
const (
	workerStable     = time.Second
	workerRestartMin = 100 * time.Millisecond
	workerRestartMax = 5 * time.Second
)

// workerKillAfter is how long Destroy lets the workers destroy their
// connections and exit before it kills them.
const workerKillAfter = 5 * time.Second

// workerTotalsEvery is how often a worker reports its byte counts when
// they changed and no connection ended to carry them.
const workerTotalsEvery = 250 * time.Millisecond

// procWorkers is the master's side of the process workers.
type procWorkers struct {
	s    *Server
	opts ProcessOptions

	mu        sync.Mutex
	slots     []*workerProc // the running process of each worker; nil while down
	next      int           // round-robin position
	up        chan struct{} // closed and replaced when a worker comes up
	closing   bool
	destroyed bool
	// The byte counts of workers that have exited.
	baseRead, baseWritten int64

	running   sync.WaitGroup // one per worker's watcher
	allExited chan struct{}
}

// workerProc is one run of a worker process.
type workerProc struct {
	slot  int // 1-based
	cmd   *exec.Cmd
	conn  *net.UnixConn
	start time.Time
	sent  sync.Mutex // one record at a time on conn

	// Under procWorkers.mu:
	ready         bool                // it said it handles its signals
	pending       []syscall.Signal    // held back until it is ready
	conns         map[uint64]struct{} // handed over and not yet ended
	read, written int64               // the worker's last totals
}

// startProcesses starts the workers; it fails when the first run of
// any cannot start.
func (s *Server) startProcesses() error {
	o := *s.opts.Processes
	n := max(o.Workers, 1)
	if o.Command == nil {
		return errors.New("netcore: ProcessOptions.Command is not set")
	}
	p := &procWorkers{s: s, opts: o, slots: make([]*workerProc, n), up: make(chan struct{}), allExited: make(chan struct{})}
	var started []*workerProc
	for i := 1; i <= n; i++ {
		w, err := p.startOne(i)
		if err != nil {
			for _, w := range started {
				w.cmd.Process.Kill() //nolint:errcheck // it is ours
				w.cmd.Wait()         //nolint:errcheck // killed
				w.conn.Close()
			}
			return err
		}
		started = append(started, w)
	}
	s.mu.Lock()
	s.procs = p
	s.mu.Unlock()
	p.running.Add(n)
	for _, w := range started {
		p.report(WorkerEvent{Worker: w.slot, Pid: w.cmd.Process.Pid, State: WorkerStarted})
		go p.watch(w)
	}
	go func() {
		p.running.Wait()
		close(p.allExited)
	}()
	return nil
}

// startOne starts a run of worker slot and makes it the slot's process.
func (p *procWorkers) startOne(slot int) (*workerProc, error) {
	// Close-on-exec before any other child can be started (socketPair):
	// a worker holds no end of another's socketpair.
	c, theirs, err := socketPair("master")
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	cmd := p.opts.Command()
	cmd.ExtraFiles = append(cmd.ExtraFiles, theirs)
	fd := 2 + len(cmd.ExtraFiles)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, WorkerEnv+"="+strconv.Itoa(fd))
	cmd.SysProcAttr = workerSysProcAttr()
	if err := cmd.Start(); err != nil {
		c.Close()
		return nil, err
	}
	w := &workerProc{slot: slot, cmd: cmd, conn: c, start: time.Now(), conns: map[uint64]struct{}{}}
	p.mu.Lock()
	p.slots[slot-1] = w
	close(p.up)
	p.up = make(chan struct{})
	p.mu.Unlock()
	return w, nil
}

func (p *procWorkers) report(e WorkerEvent) {
	if p.opts.OnWorker != nil {
		p.opts.OnWorker(e)
	}
}

// watch reads a worker's records until it exits, then releases the
// connections it had and starts it again, unless the server is closing.
func (p *procWorkers) watch(w *workerProc) {
	defer p.running.Done()
	var delay time.Duration
	for {
		read := make(chan struct{})
		go func() {
			p.readRecords(w)
			close(read)
		}()
		err := w.cmd.Wait()
		select {
		case <-read: // every record it sent before it died is counted
		case <-time.After(workerKillAfter):
		}
		w.conn.Close()
		<-read
		p.mu.Lock()
		p.slots[w.slot-1] = nil
		lost := len(w.conns)
		w.conns = nil
		p.baseRead += w.read
		p.baseWritten += w.written
		closing := p.closing
		p.mu.Unlock()
		for i := 0; i < lost; i++ {
			p.s.release(nil)
		}
		p.report(WorkerEvent{Worker: w.slot, Pid: w.cmd.Process.Pid, State: WorkerExited, Status: exitStatus(w.cmd.ProcessState, err), Closing: closing})
		if closing {
			return
		}
		if time.Since(w.start) < workerStable {
			delay = min(max(2*delay, workerRestartMin), workerRestartMax)
		} else {
			delay = 0
		}
		for {
			if delay > 0 {
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-p.s.stopping:
					t.Stop()
					return
				}
			}
			p.mu.Lock()
			closing = p.closing
			p.mu.Unlock()
			if closing {
				return
			}
			nw, err := p.startOne(w.slot)
			if err == nil {
				w = nw
				break
			}
			delay = min(max(2*delay, workerRestartMin), workerRestartMax)
		}
		p.mu.Lock()
		if p.closing {
			// Close ran while it started, and did not see it.
			w.pending = append(w.pending, syscall.SIGTERM)
		}
		p.mu.Unlock()
		p.report(WorkerEvent{Worker: w.slot, Pid: w.cmd.Process.Pid, State: WorkerRestarted})
	}
}

// readRecords reads what the worker says until its end of the
// socketpair closes.
func (p *procWorkers) readRecords(w *workerProc) {
	b := make([]byte, workerRecordSize)
	for {
		if _, err := io.ReadFull(w.conn, b); err != nil {
			return
		}
		r := decodeWorkerRecord(b)
		ended := false
		p.mu.Lock()
		if r.kind == recReady {
			w.ready = true
			for _, sig := range w.pending {
				w.cmd.Process.Signal(sig) //nolint:errcheck // it may be gone
			}
			w.pending = nil
		}
		if r.kind == recEnded || r.kind == recTotals {
			w.read, w.written = max(w.read, r.read), max(w.written, r.written)
		}
		if r.kind == recEnded {
			if _, ok := w.conns[r.id]; ok {
				delete(w.conns, r.id)
				ended = true
			}
		}
		p.mu.Unlock()
		if ended {
			p.s.release(nil)
		}
	}
}

// handOff passes an admitted connection to the next worker, round-robin,
// and closes the master's copy. With no worker up it waits for one; a
// closing server closes the connection instead.
func (p *procWorkers) handOff(c net.Conn) {
	defer c.Close()
	id := socketIDs.Add(1)
	rec := workerRecord{kind: recConn, id: id}.encode()
	sc, ok := c.(syscall.Conn)
	var rc syscall.RawConn
	if ok {
		rc, _ = sc.SyscallConn()
	}
	if rc == nil {
		p.s.release(nil)
		return
	}
	for {
		p.mu.Lock()
		var w *workerProc
		for i := 0; i < len(p.slots) && w == nil; i++ {
			w = p.slots[p.next]
			p.next = (p.next + 1) % len(p.slots)
		}
		up := p.up
		if w != nil {
			w.conns[id] = struct{}{}
		}
		p.mu.Unlock()
		if w == nil {
			select {
			case <-up:
				continue
			case <-p.s.stopping:
				p.s.release(nil)
				return
			}
		}
		var err error
		cerr := rc.Control(func(fd uintptr) { err = w.send(rec, int(fd)) })
		if err == nil {
			err = cerr
		}
		if err == nil {
			return
		}
		// The worker is going: take the connection back, unless its
		// watcher already counted it as lost.
		p.mu.Lock()
		_, mine := w.conns[id]
		delete(w.conns, id)
		p.mu.Unlock()
		if !mine {
			return
		}
		if w.conn != nil {
			w.conn.Close() // its watcher restarts it
		}
	}
}

// send writes one record with fd attached to its first byte.
func (w *workerProc) send(rec []byte, fd int) error {
	w.sent.Lock()
	defer w.sent.Unlock()
	n, err := fdpass.Send(w.conn, rec, []int{fd})
	if err == nil && n < len(rec) {
		_, err = w.conn.Write(rec[n:])
	}
	return err
}

// signal sends sig to every running worker; closing marks the server
// closing first, so that none is started again. A worker that has not
// said it is ready gets sig once it has (SIGKILL needs no readiness).
func (p *procWorkers) signal(sig syscall.Signal, closing bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if closing {
		p.closing = true
	}
	for _, w := range p.slots {
		switch {
		case w == nil:
		case w.ready || sig == syscall.SIGKILL:
			w.cmd.Process.Signal(sig) //nolint:errcheck // it may be gone
		default:
			w.pending = append(w.pending, sig)
		}
	}
}

// close asks every worker to stop accepting and finish its connections.
func (p *procWorkers) close() { p.signal(syscall.SIGTERM, true) }

// destroy asks every worker again (a worker's second signal destroys its
// connections), and kills those still running after workerKillAfter.
func (p *procWorkers) destroy() {
	p.mu.Lock()
	again := !p.destroyed
	p.destroyed = true
	p.mu.Unlock()
	if !again {
		return
	}
	p.signal(syscall.SIGTERM, true)
	go func() {
		t := time.NewTimer(workerKillAfter)
		defer t.Stop()
		select {
		case <-p.allExited:
		case <-t.C:
			p.signal(syscall.SIGKILL, true)
		}
	}()
}

// exited is closed when every worker has exited for good.
func (p *procWorkers) exited() <-chan struct{} { return p.allExited }

// bytes are the bytes read and written by every worker, as last
// reported.
func (p *procWorkers) bytes() (read, written int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	read, written = p.baseRead, p.baseWritten
	for _, w := range p.slots {
		if w != nil {
			read += w.read
			written += w.written
		}
	}
	return read, written
}

// workerListener is a worker's side: a net.Listener whose connections
// come from the master over the inherited socketpair.
type workerListener struct {
	c      *net.UnixConn
	closed atomic.Bool

	accepting sync.Mutex // one Accept at a time
	buf       []byte
	start     int
	end       int
	fds       []int // received, not yet matched to a record
	oob       []byte

	sent sync.Mutex // one record at a time

	mu   sync.Mutex
	ids  map[net.Conn]uint64 // accepted, not yet taken by the Server
	srv  *Server
	gone func() // the master has gone
	// The totals last reported.
	read, written int64
}

// WorkerListener returns the listener of a worker process: the
// connections its master hands it, over the socketpair named by
// WorkerEnv, which it removes from the environment (the worker's own
// children are not workers). It returns nil and no error in a process
// that is not a worker. Serve it with a Server built as the master's
// was: the master applied the policy (MaxConnections, the BlockList), so
// the worker's Server admits every connection it is handed, numbers it
// with the master's id, reports its end to the master, and destroys its
// connections when the master goes away.
func WorkerListener() (net.Listener, error) {
	v, ok := os.LookupEnv(WorkerEnv)
	if !ok {
		return nil, nil
	}
	os.Unsetenv(WorkerEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, errors.New("netcore: " + WorkerEnv + "=" + strconv.Quote(v) + " is not a descriptor number")
	}
	f := os.NewFile(uintptr(fd), "master")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("netcore: " + WorkerEnv + ": descriptor " + v + " is not a Unix socket")
	}
	return &workerListener{
		c:   uc,
		buf: make([]byte, 64*workerRecordSize),
		oob: make([]byte, fdpass.OOBSize(fdpass.MaxFDs)),
		ids: map[net.Conn]uint64{},
	}, nil
}

// Accept returns the next connection the master hands over.
func (l *workerListener) Accept() (net.Conn, error) {
	for {
		fd, id, err := l.acceptFD()
		if err != nil {
			return nil, err
		}
		f := os.NewFile(uintptr(fd), "connection")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			l.ended(id)
			continue
		}
		l.mu.Lock()
		l.ids[c] = id
		l.mu.Unlock()
		return c, nil
	}
}

// acceptFD returns the descriptor of the next connection the master hands
// over, and the master's id for it: what Accept wraps in a net.Conn, and
// what the event loops serve as it is.
func (l *workerListener) acceptFD() (int, uint64, error) {
	l.accepting.Lock()
	defer l.accepting.Unlock()
	for {
		if l.end-l.start >= workerRecordSize {
			r := decodeWorkerRecord(l.buf[l.start:])
			l.start += workerRecordSize
			if r.kind != recConn {
				continue
			}
			if len(l.fds) == 0 {
				l.ended(r.id) // a record without its descriptor
				continue
			}
			fd := l.fds[0]
			l.fds = l.fds[1:]
			return fd, r.id, nil
		}
		if l.start > 0 {
			l.end = copy(l.buf, l.buf[l.start:l.end])
			l.start = 0
		}
		n, fds, err := fdpass.Recv(l.c, l.buf[l.end:], l.oob)
		l.fds = append(l.fds, fds...)
		l.end += n
		if errors.Is(err, fdpass.ErrTruncated) {
			err = nil // the records left without one are reported ended
		}
		if err == nil && n > 0 {
			continue
		}
		fdpass.CloseAll(l.fds)
		l.fds = nil
		if !l.closed.Swap(true) {
			// Not closed by us: the master is gone.
			l.mu.Lock()
			gone := l.gone
			l.mu.Unlock()
			if gone != nil {
				go gone()
			}
		}
		return -1, 0, net.ErrClosed
	}
}

// take returns the master's id of a connection Accept returned.
func (l *workerListener) take(c net.Conn) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := l.ids[c]
	delete(l.ids, c)
	return id
}

// ended tells the master that connection id has ended, with the
// worker's totals.
func (l *workerListener) ended(id uint64) { l.tell(recEnded, id) }

func (l *workerListener) tell(kind byte, id uint64) {
	var read, written int64
	l.mu.Lock()
	srv := l.srv
	l.mu.Unlock()
	if srv != nil {
		st := srv.Stats()
		read, written = st.BytesRead, st.BytesWritten
	}
	l.sent.Lock()
	defer l.sent.Unlock()
	if kind == recTotals && read == l.read && written == l.written {
		return
	}
	if kind == recReady {
		read, written = 0, 0
	}
	l.read, l.written = read, written
	l.c.Write(workerRecord{kind: kind, id: id, read: read, written: written}.encode()) //nolint:errcheck // a master that is gone hears nothing
}

// attach makes s the listener's server: it reports s's totals, and
// destroys s when the master goes away.
func (l *workerListener) attach(s *Server) {
	l.mu.Lock()
	l.srv = s
	l.gone = s.Destroy
	l.mu.Unlock()
	l.tell(recReady, 0)
	go func() {
		t := time.NewTicker(workerTotalsEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.tell(recTotals, 0)
			case <-s.done:
				return
			}
		}
	}()
}

// Close stops accepting; the socketpair stays open for the ends of the
// connections still served.
func (l *workerListener) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	l.c.SetReadDeadline(time.Unix(1, 0)) //nolint:errcheck // Accept returns
	return nil
}

func (l *workerListener) Addr() net.Addr { return l.c.LocalAddr() }
