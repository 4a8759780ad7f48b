//go:build linux

package netcore

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// reactorSupported tells whether the event-loop engine runs here; where
// it does not, a Server serves each connection on its own goroutine.
const reactorSupported = true

// Epoll data tags: what a descriptor in a loop's epoll set is.
const (
	loopTagConn = iota
	loopTagListener
	loopTagWake
)

// loopBatch bounds the connections accepted per listener event, so that a
// burst of connections does not starve the established ones.
const loopBatch = 64

// loopListener is a listening socket taken over from a net.Listener.
type loopListener struct {
	fd       int
	unix     bool     // a Unix domain socket, else TCP
	wildcard bool     // TCP on 0.0.0.0 or ::
	addr     net.Addr // the listener's address
	refs     atomic.Int32
}

// release drops one loop's hold on the listener and closes the socket
// when no loop holds it any more: only then can no accept4 be running on
// its descriptor number.
func (ln *loopListener) release() {
	if ln.refs.Add(-1) == 0 {
		unix.Close(ln.fd)
	}
}

// loopSlot is a connection's entry in its loop's table, indexed by its
// descriptor: one pointer. nil is a closed slot; plainOpen, shared by all,
// is an open connection that nobody watches and that owes its client
// nothing, which is what an idle connection is; anything else is a
// loopState of the connection's own. So an idle connection costs eight
// bytes of table here, beside the kernel's socket.
type loopSlot struct{ st *loopState }

// loopState is what a connection needs beyond its open slot: bytes still
// to echo while its client does not read, or the Server's view of it.
type loopState struct {
	pend          *[]byte      // bytes still to echo while the client does not read
	lo, hi        int32        // the unsent part of *pend
	big           bool         // pend is a buffer of its own, not the pool's
	conn          *reactorConn // nil unless the Server watches connections
	read, written int64
}

// plainOpen marks the slot of an open connection that has no loopState.
var plainOpen = new(loopState)

func (s *loopSlot) open() bool { return s.st != nil }

// state returns the slot's own loopState, made on first need.
func (s *loopSlot) state() *loopState {
	if s.st == plainOpen {
		s.st = new(loopState)
	}
	return s.st
}

// pending tells whether bytes wait for the client to read.
func (s *loopSlot) pending() bool { return s.st.pend != nil }

// conn is the Server's view of the connection, or nil.
func (s *loopSlot) conn() *reactorConn { return s.st.conn }

// reactorLoop is one event loop. Only its own goroutine touches it, but for
// openNow.
type reactorLoop struct {
	r       *reactor
	rt      *reactorRuntime
	epfd    int
	wakefd  int
	lns     []*loopListener
	shared  bool // the listeners are every loop's (EPOLLEXCLUSIVE)
	paused  bool // accepting paused after EMFILE and the like
	resume  time.Time
	backoff acceptBackoff
	conns   []loopSlot // by descriptor
	open    int
	openNow atomic.Int32 // open, for reactor.open
	rbuf    []byte
	evs     []unix.EpollEvent
	// closeReqs are connections whose Socket was destroyed from outside
	// the loop (reactorConn.Close), for the loop to close.
	closeMu   sync.Mutex
	closeReqs []*reactorConn
	// adopts are connections the reactor's feed handed to this loop.
	adopts adoptQueue
	// counts not yet added to r.stats
	loopCounts
}

// reactorRuntime is a serving reactor: its loops and their state.
type reactorRuntime struct {
	loops    []*reactorLoop
	urings   []*uringLoop // the loops of the uring engine, instead
	state    atomic.Int32 // reactorRunning, reactorClosing, reactorDestroying
	done     chan struct{}
	exited   sync.WaitGroup
	reported atomic.Bool
	pauses   atomic.Int64 // accept pauses after EMFILE and the like
}

// start takes the listeners over and starts the loops.
func (r *reactor) start(lns []net.Listener) (*reactorRuntime, error) {
	var els []*loopListener
	fail := func(err error) (*reactorRuntime, error) {
		for _, el := range els {
			unix.Close(el.fd)
		}
		return nil, err
	}
	for _, ln := range lns {
		if _, err := listenerConn(ln); err != nil {
			return fail(err)
		}
	}
	for _, ln := range lns {
		el, err := takeListener(ln)
		if err != nil {
			return fail(err)
		}
		els = append(els, el)
	}
	n := max(r.loops, 1)
	rt := &reactorRuntime{done: make(chan struct{})}
	if r.uring {
		// The loops take the listeners over: on failure they have
		// released them already.
		if err := r.startUring(rt, els); err != nil {
			return nil, err
		}
		r.startFeed(rt)
		return rt, nil
	}
	for i := 0; i < n; i++ {
		l, err := newReactorLoop(r, rt)
		if err != nil {
			for _, l := range rt.loops {
				l.closeFds()
			}
			return fail(err)
		}
		rt.loops = append(rt.loops, l)
	}
	// Hand out the listeners: one loop each while they last; when there
	// are fewer listeners than loops, every loop shares every listener,
	// and EPOLLEXCLUSIVE wakes one loop per new connection, not all.
	shared := len(els) < n
	for i, el := range els {
		if shared {
			for _, l := range rt.loops {
				el.refs.Add(1)
				l.lns = append(l.lns, el)
			}
		} else {
			el.refs.Add(1)
			l := rt.loops[i%n]
			l.lns = append(l.lns, el)
		}
	}
	for _, l := range rt.loops {
		l.shared = shared
		if err := l.armListeners(); err != nil {
			for _, l := range rt.loops {
				l.closeFds()
			}
			return fail(err)
		}
	}
	rt.exited.Add(len(rt.loops))
	for _, l := range rt.loops {
		go l.run()
	}
	go func() {
		rt.exited.Wait()
		close(rt.done)
	}()
	r.startFeed(rt)
	return rt, nil
}

// startFeed hands the connections of the reactor's feed, if it has one,
// to the loops in turn, until the feed ends.
func (r *reactor) startFeed(rt *reactorRuntime) {
	if r.feed == nil {
		return
	}
	type taker struct {
		q      *adoptQueue
		wakefd int
	}
	var ts []taker
	for _, l := range rt.loops {
		ts = append(ts, taker{&l.adopts, l.wakefd})
	}
	for _, l := range rt.urings {
		ts = append(ts, taker{&l.adopts, l.wakefd})
	}
	go func() {
		one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
		for i := 0; ; i++ {
			fd, id, err := r.feed()
			if err != nil {
				return
			}
			a := adopted{fd: fd, id: id}
			t := ts[i%len(ts)]
			if !t.q.put(a) {
				r.refuseFed(a)
				continue
			}
			unix.Write(t.wakefd, one) //nolint:errcheck // a full counter is a pending wake-up anyway
		}
	}()
}

// takeFed takes, on a loop's goroutine, the connections fed to it: serve
// sets each up while the reactor runs; otherwise, and when the loop ends
// (last: the queue then refuses more), each is closed unserved.
func (r *reactor) takeFed(rt *reactorRuntime, q *adoptQueue, last bool, serve func(adopted)) {
	for _, a := range q.take(last) {
		if last || rt.state.Load() != reactorRunning {
			r.refuseFed(a)
			continue
		}
		serve(a)
	}
}

// refuseFed closes a fed connection that no loop will serve, and says so.
func (r *reactor) refuseFed(a adopted) {
	unix.Close(a.fd)
	if r.lost != nil {
		r.lost(a.id)
	}
}

// fedListener describes the socket of a fed connection as a listener
// would: its family, and its local address, which is the connection's.
func fedListener(fd int) *loopListener {
	el := &loopListener{fd: -1}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		el.addr = &net.TCPAddr{}
		return el
	}
	if ua, ok := sa.(*unix.SockaddrUnix); ok {
		el.unix = true
		el.addr = &net.UnixAddr{Name: ua.Name, Net: "unix"}
		return el
	}
	el.addr = sockaddrToAddr(sa)
	return el
}

// signal moves the reactor on to Close or Destroy and wakes the loops.
func (rt *reactorRuntime) signal(state int32) {
	for {
		old := rt.state.Load()
		if old >= state {
			return
		}
		if rt.state.CompareAndSwap(old, state) {
			break
		}
	}
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	for _, l := range rt.loops {
		unix.Write(l.wakefd, one) //nolint:errcheck // a full counter is a pending wake-up anyway
	}
	for _, l := range rt.urings {
		unix.Write(l.wakefd, one) //nolint:errcheck // as above
	}
}

func (rt *reactorRuntime) open() int {
	n := 0
	for _, l := range rt.loops {
		n += int(l.openNow.Load())
	}
	for _, l := range rt.urings {
		n += int(l.openNow.Load())
	}
	return n
}

// listenerConn checks that a listener has a socket to take over.
func listenerConn(ln net.Listener) (syscall.RawConn, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil, errors.New("netcore: the event loops need a TCP or Unix listener")
	}
	return sc.SyscallConn()
}

// takeListener duplicates a listener's socket and closes the listener.
func takeListener(ln net.Listener) (*loopListener, error) {
	rc, err := listenerConn(ln)
	if err != nil {
		return nil, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("fcntl", derr)
	}
	el := &loopListener{fd: nfd, addr: ln.Addr()}
	switch a := el.addr.(type) {
	case *net.UnixAddr:
		el.unix = true
	case *net.TCPAddr:
		el.wildcard = a.IP == nil || a.IP.IsUnspecified()
	}
	// The socket file outlives this Close: the reactor's copy still
	// listens on it.
	if ul, ok := ln.(interface{ SetUnlinkOnClose(bool) }); ok {
		ul.SetUnlinkOnClose(false)
	}
	ln.Close()
	return el, nil
}

func newReactorLoop(r *reactor, rt *reactorRuntime) (*reactorLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	l := &reactorLoop{r: r, rt: rt, epfd: epfd, wakefd: wakefd, evs: make([]unix.EpollEvent, 128)}
	l.backoff.onLimit = l.reportLimit
	if err := l.ctl(unix.EPOLL_CTL_ADD, wakefd, unix.EPOLLIN, loopTagWake); err != nil {
		l.closeFds()
		return nil, err
	}
	return l, nil
}

// reportLimit reports the first EMFILE (or the like) of any loop, once.
func (l *reactorLoop) reportLimit(err error) {
	if l.rt.reported.CompareAndSwap(false, true) {
		l.r.reportError(err)
	}
}

func (l *reactorLoop) closeFds() {
	unix.Close(l.epfd)
	unix.Close(l.wakefd)
}

func (l *reactorLoop) ctl(op, fd int, events uint32, tag int32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: tag}
	if err := unix.EpollCtl(l.epfd, op, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// armListeners adds the loop's listeners to its epoll set.
func (l *reactorLoop) armListeners() error {
	ev := uint32(unix.EPOLLIN)
	if l.shared {
		ev |= unix.EPOLLEXCLUSIVE
	}
	for _, ln := range l.lns {
		if err := l.ctl(unix.EPOLL_CTL_ADD, ln.fd, ev, loopTagListener); err != nil {
			return err
		}
	}
	return nil
}

// run is the event loop.
func (l *reactorLoop) run() {
	defer l.rt.exited.Done()
	for {
		timeout := -1
		if l.paused {
			timeout = max(int(time.Until(l.resume)/time.Millisecond), 1)
		}
		n, err := pollNow(l.epfd, l.evs)
		if n == 0 && err == nil {
			n, err = unix.EpollWait(l.epfd, l.evs, timeout)
		}
		if err != nil && err != unix.EINTR {
			// Not expected of a valid epoll set: end this loop.
			l.r.reportError(os.NewSyscallError("epoll_wait", err))
			l.stopAccepting()
			l.closeAll()
			break
		}
		if l.paused && !time.Now().Before(l.resume) {
			l.resumeAccepting()
		}
		for i := 0; i < n; i++ {
			ev := &l.evs[i]
			fd := int(ev.Fd)
			switch ev.Pad {
			case loopTagConn:
				l.onConn(fd, ev.Events)
			case loopTagListener:
				l.accept(fd)
			case loopTagWake:
				l.onWake()
			}
		}
		l.flushStats(l.r.stats)
		if l.rt.state.Load() != reactorRunning && l.open == 0 {
			break
		}
	}
	l.flushStats(l.r.stats)
	l.stopAccepting()
	l.r.takeFed(l.rt, &l.adopts, true, nil)
	l.closeFds()
}

// loopPlace is where a reactorConn lives: its loop (an epoll loop, or
// a uring loop) and descriptor.
type loopPlace struct {
	loop *reactorLoop
	ring *uringLoop
	fd   int
}

// requestClose asks c's loop to close it.
func (p loopPlace) requestClose(c *reactorConn) {
	if p.ring != nil {
		p.ring.requestClose(c)
		return
	}
	p.loop.requestClose(c)
}

// requestClose asks the loop to close c (its Socket was destroyed by a
// hook or by the Server), from any goroutine.
func (l *reactorLoop) requestClose(c *reactorConn) {
	l.closeMu.Lock()
	l.closeReqs = append(l.closeReqs, c)
	l.closeMu.Unlock()
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	unix.Write(l.wakefd, one) //nolint:errcheck // a full counter is a pending wake-up anyway
}

// onWake handles Close and Destroy, and the connections asked to close.
func (l *reactorLoop) onWake() {
	var b [8]byte
	unix.Read(l.wakefd, b[:]) //nolint:errcheck // EAGAIN after another read is fine
	l.closeMu.Lock()
	reqs := l.closeReqs
	l.closeReqs = nil
	l.closeMu.Unlock()
	for _, c := range reqs {
		// The descriptor may have been closed, and its number reused,
		// since the request: only the very connection asked for goes.
		if fd := c.at.fd; fd < len(l.conns) && l.conns[fd].open() && l.conns[fd].conn() == c {
			l.closeConn(fd, nil)
		}
	}
	l.r.takeFed(l.rt, &l.adopts, false, func(a adopted) { l.newConn(a.fd, nil, fedListener(a.fd), a.id) })
	switch l.rt.state.Load() {
	case reactorClosing:
		l.stopAccepting()
	case reactorDestroying:
		l.stopAccepting()
		l.closeAll()
	}
}

func (l *reactorLoop) stopAccepting() {
	for _, ln := range l.lns {
		if !l.paused {
			unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, ln.fd, nil) //nolint:errcheck // closing anyway
		}
		ln.release()
	}
	l.lns = nil
	l.paused = false
}

// pauseAccepting takes the listeners out of the epoll set for d, after
// EMFILE and the like: level-triggered, a listener whose queue holds a
// connection we cannot accept would otherwise wake the loop at once,
// again and again.
func (l *reactorLoop) pauseAccepting(d time.Duration) {
	if l.paused {
		return
	}
	for _, ln := range l.lns {
		unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, ln.fd, nil) //nolint:errcheck // re-added by resumeAccepting
	}
	l.paused = true
	l.resume = time.Now().Add(d)
	l.rt.pauses.Add(1)
}

func (l *reactorLoop) resumeAccepting() {
	l.paused = false
	if err := l.armListeners(); err != nil {
		l.r.reportError(err)
	}
}

func (r *reactor) reportError(err error) {
	if r.hooks.onError != nil {
		r.hooks.onError(nodeIOError(err, "accept"))
	}
}

// accept takes up to loopBatch connections from the listener lfd.
func (l *reactorLoop) accept(lfd int) {
	var ln *loopListener
	for _, x := range l.lns {
		if x.fd == lfd {
			ln = x
		}
	}
	if ln == nil || l.paused {
		return
	}
	// The peer's address is for the hooks; a Unix peer has none worth
	// showing (Node gives none).
	wantAddr := l.r.wantConnInfo() && !ln.unix
	for i := 0; i < loopBatch; i++ {
		fd, sa, err := accept4(lfd, wantAddr)
		if err == unix.EAGAIN {
			return
		}
		if err != nil {
			err = os.NewSyscallError("accept", err)
			pause, retry := l.backoff.next(err)
			switch {
			case !retry:
				l.r.reportError(err)
				l.dropListener(ln)
				return
			case pause > 0:
				l.pauseAccepting(pause)
				return
			}
			continue
		}
		l.backoff.Reset()
		l.newConn(fd, sa, ln, 0)
	}
}

// dropListener stops accepting on a listener that failed for good.
func (l *reactorLoop) dropListener(ln *loopListener) {
	for i, x := range l.lns {
		if x == ln {
			unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, ln.fd, nil) //nolint:errcheck // closing anyway
			l.lns = append(l.lns[:i], l.lns[i+1:]...)
			ln.release()
			return
		}
	}
}

// wantConnInfo tells whether the hooks need a reactorConn per
// connection.
func (r *reactor) wantConnInfo() bool { return r.hooks.watch }

// accept4 accepts a connection, non-blocking and close-on-exec; the peer's
// address is fetched only when wanted, which spares an allocation.
func accept4(lfd int, wantAddr bool) (int, unix.Sockaddr, error) {
	if wantAddr {
		return unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	}
	for {
		fd, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, nil, e
		}
		return int(fd), nil, nil
	}
}

// accepted sets an accepted connection's socket options, makes its
// reactorConn when the hooks want one (nil otherwise) and asks
// onConnection, for loops of either engine. sa is the peer's address, or nil to ask the kernel; id
// is the master's id of a fed connection. ok is false when the
// connection was refused: fd is closed.
func (r *reactor) accepted(fd int, sa unix.Sockaddr, ln *loopListener, at loopPlace, id uint64) (conn *reactorConn, ok bool) {
	r.connOptions(fd, ln)
	if !r.wantConnInfo() {
		return nil, true
	}
	conn = &reactorConn{local: ln.addr, remote: &net.UnixAddr{Net: "unix"}, at: at, id: id}
	if !ln.unix {
		if sa == nil {
			sa, _ = unix.Getpeername(fd)
		}
		if sa != nil {
			conn.remote = sockaddrToAddr(sa)
		}
		// On a wildcard listener the local address is the one the
		// client reached; else it is the listener's.
		if ln.wildcard {
			if lsa, err := unix.Getsockname(fd); err == nil {
				conn.local = sockaddrToAddr(lsa)
			}
		}
	}
	if !r.hooks.onConnection(conn) {
		unix.Close(fd)
		return nil, false
	}
	return conn, true
}

// connOptions sets the socket options of an accepted TCP connection,
// on loops of either engine: noDelay and keepAlive, best effort, as in
// Node.
func (r *reactor) connOptions(fd int, ln *loopListener) {
	if ln.unix {
		return
	}
	if r.noDelay {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) //nolint:errcheck // best effort, as in Node
	}
	if r.keepAlive {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1) //nolint:errcheck // best effort
		if s := int(r.keepAliveIdle / time.Second); s > 0 {
			unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, s) //nolint:errcheck // best effort
		}
	}
}

// newConn sets up an accepted connection: options, the OnConnection
// decision, the greeting, and its place in the epoll set.
func (l *reactorLoop) newConn(fd int, sa unix.Sockaddr, ln *loopListener, id uint64) {
	r := l.r
	conn, ok := r.accepted(fd, sa, ln, loopPlace{loop: l, fd: fd}, id)
	if !ok {
		return
	}
	l.grow(fd)
	s := &l.conns[fd]
	s.st = plainOpen
	if conn != nil {
		s.st = &loopState{conn: conn}
	}
	l.open++
	l.openNow.Add(1)
	if conn == nil {
		l.accepted++ // else the Server counted it when it admitted it
	}
	events := uint32(unix.EPOLLIN)
	if len(r.greeting) > 0 {
		if err := l.write(fd, s, r.greeting); err != nil {
			l.closeConn(fd, err)
			return
		}
		if s.pending() {
			events = unix.EPOLLOUT
		}
	}
	if err := l.ctl(unix.EPOLL_CTL_ADD, fd, events, loopTagConn); err != nil {
		l.closeConn(fd, err)
	}
}

// onConn handles readiness of a connection.
func (l *reactorLoop) onConn(fd int, events uint32) {
	if fd >= len(l.conns) || !l.conns[fd].open() {
		return // an event for a descriptor closed earlier in this batch
	}
	s := &l.conns[fd]
	if s.pending() {
		if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			l.flush(fd, s)
		}
		return
	}
	n, err := rawRead(fd, l.buf())
	switch {
	case err == unix.EAGAIN, err == unix.EINTR:
		return
	case err != nil:
		l.closeConn(fd, os.NewSyscallError("read", err))
		return
	case n == 0:
		// The client ended and everything it sent has been echoed:
		// close, which sends our FIN (Node's allowHalfOpen false).
		if c := s.conn(); l.r.hooks.onEnd != nil && c != nil {
			l.r.hooks.onEnd(c)
		}
		l.closeConn(fd, nil)
		return
	}
	l.read += int64(n)
	p := l.buf()[:n]
	if c := s.conn(); c != nil {
		s.st.read += int64(n)
		if l.r.hooks.onData != nil && c.sock != nil {
			c.sock.bytesRead.Store(s.st.read)
			l.r.hooks.onData(c, p)
		}
	}
	if err := l.write(fd, s, p); err != nil {
		l.closeConn(fd, err)
		return
	}
	if s.pending() {
		// The client is not reading: wait until it can take more, and
		// read nothing from it meanwhile.
		if err := l.ctl(unix.EPOLL_CTL_MOD, fd, unix.EPOLLOUT, loopTagConn); err != nil {
			l.closeConn(fd, err)
		}
	}
}

// buf is the loop's read buffer, allocated when first needed.
func (l *reactorLoop) buf() []byte {
	if l.rbuf == nil {
		l.rbuf = make([]byte, largeBufSize)
	}
	return l.rbuf
}

// write writes p to the connection; what the socket does not take is kept
// in s.pend.
func (l *reactorLoop) write(fd int, s *loopSlot, p []byte) error {
	for len(p) > 0 {
		n, err := rawWrite(fd, p)
		if n > 0 {
			if s.st.conn != nil {
				s.st.written += int64(n)
			}
			l.written += int64(n)
			p = p[n:]
		}
		switch err {
		case nil, unix.EINTR:
		case unix.EAGAIN:
			st := s.state()
			if len(p) > largeBufSize {
				// A greeting larger than a pooled buffer: kept whole.
				b := append([]byte(nil), p...)
				st.pend, st.big = &b, true
			} else {
				st.pend = getBuf(len(p) > smallBufSize)
			}
			st.lo, st.hi = 0, int32(copy(*st.pend, p))
			return nil
		default:
			return os.NewSyscallError("write", err)
		}
	}
	return nil
}

// flush writes the pending bytes of a connection and, once they are all
// out, goes back to reading from it.
func (l *reactorLoop) flush(fd int, s *loopSlot) {
	st := s.st
	for st.lo < st.hi {
		n, err := rawWrite(fd, (*st.pend)[st.lo:st.hi])
		if n > 0 {
			st.lo += int32(n)
			st.written += int64(n)
			l.written += int64(n)
		}
		switch err {
		case nil, unix.EINTR:
		case unix.EAGAIN:
			return // still full: wait for the next EPOLLOUT
		default:
			l.closeConn(fd, os.NewSyscallError("write", err))
			return
		}
	}
	if !st.big {
		putBuf(st.pend)
	}
	st.pend, st.big = nil, false
	if st.conn == nil {
		s.st = plainOpen // nothing owed, nobody watching: back to the shared mark
	}
	if err := l.ctl(unix.EPOLL_CTL_MOD, fd, unix.EPOLLIN, loopTagConn); err != nil {
		l.closeConn(fd, err)
		return
	}
	if c := st.conn; l.r.hooks.onDrain != nil && c != nil && c.sock != nil {
		c.sock.bytesWritten.Store(st.written)
		l.r.hooks.onDrain(c)
	}
}

// closeConn closes a connection, which also takes it out of the epoll
// set, and reports it.
func (l *reactorLoop) closeConn(fd int, err error) {
	s := &l.conns[fd]
	st := s.st
	if st.pend != nil && !st.big {
		putBuf(st.pend)
	}
	conn, read, written := st.conn, st.read, st.written
	s.st = nil
	unix.Close(fd)
	l.open--
	l.openNow.Add(-1)
	if !l.r.closed(conn, read, written, err) {
		l.closed++
	}
}

// closed reports a connection's close, with its final byte counts, to
// the hooks of a loop of either engine: false when no reactorConn
// watched it (the loop counts those itself).
func (r *reactor) closed(conn *reactorConn, read, written int64, err error) bool {
	if conn == nil {
		return false
	}
	conn.closing.Store(true) // a Close from the hooks asks nothing more of the loop
	if sock := conn.sock; sock != nil {
		sock.bytesRead.Store(read)
		sock.bytesWritten.Store(written)
	}
	r.hooks.onClose(conn, nodeIOError(err, "read"))
	return true
}

// grow makes the table hold descriptor fd.
func (l *reactorLoop) grow(fd int) { l.conns = growSlots(l.conns, fd) }

// growSlots makes a loop's table of slots hold descriptor fd. The first
// table is as long as the open-file limit allows descriptors (up to a
// million), so that it is never copied; its pages cost memory only once
// descriptors that high are in use.
func growSlots[T any](conns []T, fd int) []T {
	if fd < len(conns) {
		return conns
	}
	n := max(2*len(conns), fd+1)
	if len(conns) == 0 {
		var lim unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && lim.Cur > uint64(fd) {
			n = int(min(lim.Cur, 1<<20))
		}
		n = max(n, fd+1, 256)
	}
	return append(conns, make([]T, n-len(conns))...)
}

// closeAll closes every connection of the loop (Destroy).
func (l *reactorLoop) closeAll() {
	for fd := range l.conns {
		if l.conns[fd].open() {
			l.closeConn(fd, nil)
		}
	}
}

// loopCounts are a loop's counts of the turn, not yet added to the
// shared Stats: loops of either engine add them once per turn.
type loopCounts struct{ accepted, closed, read, written int64 }

// flushStats adds the turn's counts to st.
func (c *loopCounts) flushStats(st *serverStats) {
	if c.accepted != 0 {
		st.Accepted.Add(c.accepted)
		c.accepted = 0
	}
	if c.closed != 0 {
		st.Closed.Add(c.closed)
		c.closed = 0
	}
	if c.read != 0 {
		st.BytesRead.Add(c.read)
		c.read = 0
	}
	if c.written != 0 {
		st.BytesWritten.Add(c.written)
		c.written = 0
	}
}

// sockaddrToAddr converts an accepted or local TCP socket address to the
// net.Addr Go's own accept would give: a 4-byte IP for IPv4, 16 bytes
// (IPv4-mapped on a dual-stack socket) for IPv6.
func sockaddrToAddr(sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
	case *unix.SockaddrInet6:
		ta := &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				ta.Zone = ifi.Name
			}
		}
		return ta
	}
	return nil
}

// The loops' system calls on their non-blocking descriptors never block:
// pollNow, rawRead and rawWrite make them without telling the Go scheduler
// (RawSyscall), which spares the entersyscall and exitsyscall of every
// call and keeps sysmon asleep; under load most wake-ups find events
// already waiting. Only a wait that may block (EpollWait with a timeout)
// goes through the scheduler, so that its thread's P serves others
// meanwhile.

// pollNow is epoll_wait with a zero timeout: the events already there.
func pollNow(epfd int, evs []unix.EpollEvent) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(evs))), uintptr(len(evs)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// rawRead is read(2) on a non-blocking descriptor.
func rawRead(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// rawWrite is write(2) on a non-blocking descriptor.
func rawWrite(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// reactorCanServe tells whether the event loops can take ln over: a TCP
// or Unix socket listener that exposes its descriptor (syscall.Conn), as
// *net.TCPListener, *net.UnixListener and ipc.Listener do.
func reactorCanServe(ln net.Listener) bool {
	if _, ok := ln.(syscall.Conn); !ok {
		return false
	}
	switch ln.Addr().(type) {
	case *net.TCPAddr, *net.UnixAddr:
		return true
	}
	return false
}
