//go:build linux

package netcore

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The uring engine serves the echo handler from io_uring loops: the same
// reactor (its hooks, its policy, its counters), but each loop, instead
// of waiting in epoll_wait and then reading and writing with a system
// call each, queues its work as submission entries and makes one
// io_uring_enter per turn, which submits everything queued and waits for
// the next completions. Under load a turn handles many connections for
// one system call; epoll needs three per request.
//
// Per connection, exactly one request is in flight at any time:
//
//   - a receive (IORING_OP_RECV) whose buffer the kernel picks from the
//     loop's ring of provided buffers when data arrives, so a connection
//     that waits holds no buffer; with IORING_RECVSEND_POLL_FIRST it
//     waits for data before trying;
//   - or a send of what the receive brought (or of the greeting). It is
//     tried without waiting (MSG_DONTWAIT); when the client's socket is
//     full the rest is sent by a request that waits, and nothing is
//     received from that client meanwhile (Node's pause and resume): the
//     one buffer is held until the client reads it. The drain event fires
//     when such a send completes.
//
// Accepting is one multishot IORING_OP_ACCEPT per listener and loop;
// closing is IORING_OP_CLOSE, queued with the rest. A connection with a
// request in flight is closed by cancelling that request first (a
// pending request holds a reference to the socket), then closing.
//
// A ring is created with IORING_SETUP_SINGLE_ISSUER and DEFER_TASKRUN:
// only its loop's thread (locked: runtime.LockOSThread) submits, and the
// kernel runs completion work when that thread enters to wait, in its
// context, rather than interrupting it.

// user_data of a request: its kind in the top byte, a descriptor (or a
// listener's index) below.
const (
	udRecv uint64 = iota + 1
	udSend
	udAccept
	udWake
	udTimeout
	udCancel
	udClose
)

func userData(kind uint64, n int) uint64    { return kind<<56 | uint64(uint32(n)) }
func splitUserData(ud uint64) (uint64, int) { return ud >> 56, int(uint32(ud)) }

// Ring sizes. The entry counts are variables for the tests, which run
// loops on rings too small for their load.
var (
	uringSQEntries uint32 = 1024
	uringCQEntries uint32 = 8192
)

const (
	uringBufCount = 128      // provided buffers per loop (a power of two)
	uringBufSize  = 16 << 10 // bytes each
)

// uringSlot flags.
const (
	slotOpen     uint8 = 1 << iota
	slotRecv           // a receive is in flight
	slotSend           // a send is in flight
	slotClosing        // cancelled; closed when the request in flight ends
	slotWaited         // the client's socket was full: drain when sent
	slotGreeting       // the send is of the greeting
	slotRingBuf        // the send is from provided buffer bid
)

// uringSlot is a connection's entry in its loop's table, by descriptor:
// 24 bytes, and nothing else for a connection nobody watches.
type uringSlot struct {
	flags  uint8
	bid    uint16 // the provided buffer being sent
	lo, hi uint32 // the part of the send still to go
	st     *uringState
}

// uringState is what a connection needs beyond its slot: the Server's
// view of it, a pooled buffer when the provided ones ran out, an error
// waiting for the close.
type uringState struct {
	conn          *reactorConn
	pooled        *[]byte
	read, written int64
	err           error
}

func (s *uringSlot) state() *uringState {
	if s.st == nil {
		s.st = new(uringState)
	}
	return s.st
}

func (s *uringSlot) conn() *reactorConn {
	if s.st == nil {
		return nil
	}
	return s.st.conn
}

// uringListener is a listener as one loop accepts on it.
type uringListener struct {
	ln       *loopListener
	armed    bool // a multishot accept is in flight
	gone     bool // accept no more
	released bool // ln.release was called
}

// uringLoop is one io_uring event loop.
type uringLoop struct {
	r      *reactor
	rt     *reactorRuntime
	ring   *ring
	bufs   *bufRing
	wakefd int
	// scratch is memory the kernel writes to or reads from for the
	// loop itself: the wake counter (0..8) and a timespec (16..32).
	scratch []byte
	lns     []*uringListener
	paused  bool // accepting paused after EMFILE and the like
	timer   bool // the pause's timeout is in flight
	stopped bool // accepting stopped for good (Close)
	backoff acceptBackoff
	conns   []uringSlot
	open    int
	closing int // closes handed to the ring and not yet done
	openNow atomic.Int32
	// closeReqs are connections whose Socket was destroyed from outside
	// the loop (reactorConn.Close), for the loop to close.
	closeMu   sync.Mutex
	closeReqs []*reactorConn
	// adopts are connections the reactor's feed handed to this loop.
	adopts adoptQueue
	// counts not yet added to r.stats
	loopCounts
}

var (
	uringOnce sync.Once
	uringErr  error
)

// uringAvailable tells whether this kernel lets the process use
// io_uring with what the engine needs (single issuer, deferred task
// work, provided buffer rings): it tries once, and remembers.
func uringAvailable() error { return uringProbe() }

// uringProbe is uringAvailable's test (a variable: tests stand in a
// kernel without io_uring).
var uringProbe = probeUring

func probeUring() error {
	uringOnce.Do(func() {
		if !littleEndian {
			uringErr = errUringUnsupported
			return
		}
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		r, err := newRing(8, 16, uringSetupFlags)
		if err != nil {
			uringErr = err
			return
		}
		defer r.close()
		b, err := newBufRing(r, 2, 4096, 0)
		if err != nil {
			uringErr = err
			return
		}
		b.free()
	})
	return uringErr
}

const uringSetupFlags = ioringSetupSubmitAll | ioringSetupCoopTaskrun | ioringSetupSingleIssuer | ioringSetupDeferTaskrun

// startUring starts the io_uring loops on the listeners already taken
// over; each loop sets its ring up on its own locked thread and reports.
func (r *reactor) startUring(rt *reactorRuntime, els []*loopListener) error {
	n := max(r.loops, 1)
	shared := len(els) < n
	ready := make(chan error, n)
	closeWakes := func() {
		for _, l := range rt.urings {
			unix.Close(l.wakefd)
		}
	}
	for i := 0; i < n; i++ {
		// A blocking eventfd: the ring waits for it to be readable
		// itself. It lives as long as the runtime, since signal may
		// write to it until the loops have all ended.
		wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			closeWakes()
			rt.urings = nil
			for _, el := range els {
				unix.Close(el.fd)
			}
			return os.NewSyscallError("eventfd", err)
		}
		l := &uringLoop{r: r, rt: rt, wakefd: wakefd}
		l.backoff.onLimit = func(err error) {
			if rt.reported.CompareAndSwap(false, true) {
				r.reportError(err)
			}
		}
		for j, el := range els {
			if shared || j%n == i {
				el.refs.Add(1)
				l.lns = append(l.lns, &uringListener{ln: el})
			}
		}
		rt.urings = append(rt.urings, l)
	}
	rt.exited.Add(n)
	for _, l := range rt.urings {
		go l.run(ready)
	}
	var first error
	for i := 0; i < n; i++ {
		if err := <-ready; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		// Those that started stop; wait for all, so that nothing runs
		// on the listeners the caller closes.
		rt.signal(reactorDestroying)
		rt.exited.Wait()
		closeWakes()
		return first
	}
	go func() {
		rt.exited.Wait()
		closeWakes()
		close(rt.done)
	}()
	return nil
}

// setup makes the loop's ring, buffers and wake-up descriptor on the
// calling (locked) thread.
func (l *uringLoop) setup() error {
	rg, err := newRing(uringSQEntries, uringCQEntries, uringSetupFlags)
	if err != nil {
		return err
	}
	l.ring = rg
	if l.bufs, err = newBufRing(rg, uringBufCount, uringBufSize, 0); err != nil {
		return err
	}
	if l.scratch, err = unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS); err != nil {
		l.scratch = nil
		return os.NewSyscallError("mmap", err)
	}
	return nil
}

// teardown frees what setup made. The ring is closed first: its close
// cancels whatever is still in flight, before the memory goes.
func (l *uringLoop) teardown() {
	if l.ring != nil {
		l.ring.close()
	}
	if l.bufs != nil {
		l.bufs.free()
	}
	if l.scratch != nil {
		unix.Munmap(l.scratch) //nolint:errcheck // ours
	}
}

// run is the loop: set up, report, then serve until the reactor is
// closed and every connection has ended.
func (l *uringLoop) run(ready chan<- error) {
	defer l.rt.exited.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	err := l.setup()
	if err == nil {
		l.armWake()
		for i := range l.lns {
			l.armAccept(i)
		}
		if err = l.ring.enter(false); err != nil {
			l.abandonListeners()
		}
	}
	ready <- err
	if err != nil {
		l.abandonListeners()
		l.teardown()
		return
	}
	for {
		if err := l.ring.enter(true); err != nil {
			// Not expected of a valid ring: end this loop. Closing the
			// ring cancels every request; the sockets are closed
			// here.
			l.r.reportError(err)
			l.failAll()
			break
		}
		l.reap()
		l.flushStats(l.r.stats)
		if l.rt.state.Load() != reactorRunning && l.open == 0 && l.acceptsDone() {
			// Hand the last closes over and see them done before the
			// ring goes.
			if l.closing == 0 {
				break
			}
			if err := l.ring.enter(false); err != nil {
				break
			}
		}
	}
	l.flushStats(l.r.stats)
	l.r.takeFed(l.rt, &l.adopts, true, nil)
	l.teardown()
}

// abandonListeners drops the loop's hold on its listeners.
func (l *uringLoop) abandonListeners() {
	for _, ul := range l.lns {
		ul.release()
	}
}

// failAll ends a loop whose ring failed: the ring goes first (cancelling
// its requests), then the sockets.
func (l *uringLoop) failAll() {
	l.ring.close()
	l.abandonListeners()
	for fd := range l.conns {
		s := &l.conns[fd]
		if s.flags&slotOpen == 0 {
			continue
		}
		s.flags &^= slotRecv | slotSend | slotRingBuf
		l.finishClose(fd, nil, false)
		unix.Close(fd)
	}
}

// acceptsDone tells whether no accept and no pause timer is in flight.
func (l *uringLoop) acceptsDone() bool {
	if l.timer {
		return false
	}
	for _, ul := range l.lns {
		if ul.armed {
			return false
		}
	}
	return true
}

// sqe returns a free submission entry, submitting what is queued when
// the ring is full. A kernel that holds completions the completion ring
// had no room for may refuse submissions (EBUSY) until they are moved
// into the ring: entering to get events (none awaited) moves them, into
// the room that reap gives back completion by completion.
func (l *uringLoop) sqe() *uringSQE {
	for {
		if s := l.ring.sqe(); s != nil {
			return s
		}
		if err := l.ring.enter(false); err != nil {
			runtime.Gosched()
			continue
		}
		if s := l.ring.sqe(); s != nil {
			return s
		}
		l.ring.flush()
	}
}

func (l *uringLoop) armWake() {
	s := l.sqe()
	s.opcode = ioringOpRead
	s.fd = int32(l.wakefd)
	s.addr = uint64(uintptr(unsafe.Pointer(&l.scratch[0])))
	s.len = 8
	s.userData = userData(udWake, 0)
}

func (l *uringLoop) armAccept(i int) {
	ul := l.lns[i]
	if ul.gone || ul.armed || l.paused || l.stopped {
		return
	}
	s := l.sqe()
	s.opcode = ioringOpAccept
	s.fd = int32(ul.ln.fd)
	s.ioprio = ioringAcceptMultishot
	s.opFlags = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	s.userData = userData(udAccept, i)
	ul.armed = true
}

func (l *uringLoop) cancel(ud uint64) {
	s := l.sqe()
	s.opcode = ioringOpAsyncCancel
	s.fd = -1
	s.addr = ud
	s.userData = userData(udCancel, 0)
}

// cancelFD cancels every request on descriptor fd.
func (l *uringLoop) cancelFD(fd int) {
	s := l.sqe()
	s.opcode = ioringOpAsyncCancel
	s.fd = int32(fd)
	s.opFlags = ioringAsyncCancelFD | ioringAsyncCancelAll
	s.userData = userData(udCancel, 0)
}

// recv queues a receive on fd, into a provided buffer, or into a pooled
// one when the provided ones ran out.
func (l *uringLoop) recv(fd int, sl *uringSlot) {
	s := l.sqe()
	s.opcode = ioringOpRecv
	s.fd = int32(fd)
	s.ioprio = ioringRecvsendPollFirst
	s.userData = userData(udRecv, fd)
	if st := sl.st; st != nil && st.pooled != nil {
		b := *st.pooled
		s.addr = uint64(uintptr(unsafe.Pointer(&b[0])))
		s.len = uint32(len(b))
	} else {
		s.flags = ioSQEBufferSelect
		s.bufGroup = l.bufs.group
	}
	sl.flags |= slotRecv
}

// sendSource is what the slot's send is of.
func (l *uringLoop) sendSource(sl *uringSlot) []byte {
	switch {
	case sl.flags&slotGreeting != 0:
		return l.r.greeting
	case sl.flags&slotRingBuf != 0:
		return l.bufs.buf(sl.bid)
	default:
		return *sl.st.pooled
	}
}

// send queues the send of the slot's bytes lo..hi; wait false tries
// without waiting for room.
func (l *uringLoop) send(fd int, sl *uringSlot, wait bool) {
	p := l.sendSource(sl)[sl.lo:sl.hi]
	s := l.sqe()
	s.opcode = ioringOpSend
	s.fd = int32(fd)
	s.addr = uint64(uintptr(unsafe.Pointer(&p[0])))
	s.len = uint32(len(p))
	s.opFlags = unix.MSG_NOSIGNAL
	if !wait {
		s.opFlags |= unix.MSG_DONTWAIT
	}
	s.userData = userData(udSend, fd)
	sl.flags |= slotSend
}

// reap handles every completion there is.
func (l *uringLoop) reap() {
	for {
		head, tail := l.ring.cqReady()
		if head == tail {
			return
		}
		for ; head != tail; head++ {
			c := *l.ring.cqe(head)
			// Its slot is free for the kernel from now: a full
			// submission ring met while handling it may need it.
			l.ring.cqAdvance(head + 1)
			kind, n := splitUserData(c.userData)
			switch kind {
			case udRecv:
				l.onRecv(n, c.res, c.flags)
			case udSend:
				l.onSend(n, c.res)
			case udAccept:
				l.onAccept(n, c.res, c.flags)
			case udWake:
				l.onWake()
			case udClose:
				l.closing--
			case udTimeout:
				l.timer = false
				if l.paused {
					l.paused = false
					for i := range l.lns {
						l.armAccept(i)
					}
				}
			}
		}
	}
}

// onWake handles Close and Destroy, and the connections asked to close.
func (l *uringLoop) onWake() {
	l.closeMu.Lock()
	reqs := l.closeReqs
	l.closeReqs = nil
	l.closeMu.Unlock()
	for _, c := range reqs {
		// The descriptor may have been closed, and its number reused,
		// since the request: only the very connection asked for goes.
		if fd := c.at.fd; fd < len(l.conns) && l.conns[fd].flags&slotOpen != 0 && l.conns[fd].conn() == c {
			l.closeConn(fd, nil)
		}
	}
	l.r.takeFed(l.rt, &l.adopts, false, func(a adopted) { l.newConn(a.fd, fedListener(a.fd), a.id) })
	state := l.rt.state.Load()
	if state != reactorRunning {
		l.stopAccepting()
	}
	if state == reactorDestroying {
		for fd := range l.conns {
			if l.conns[fd].flags&slotOpen != 0 {
				l.closeConn(fd, nil)
			}
		}
	}
	l.armWake()
}

// stopAccepting cancels the accepts; each listener is released when its
// accept has ended.
func (l *uringLoop) stopAccepting() {
	if l.stopped {
		return
	}
	l.stopped = true
	if l.timer {
		l.cancel(userData(udTimeout, 0))
	}
	for i, ul := range l.lns {
		if ul.armed {
			l.cancel(userData(udAccept, i))
		} else {
			ul.release()
		}
	}
}

// requestClose asks the loop to close c, from any goroutine.
func (l *uringLoop) requestClose(c *reactorConn) {
	l.closeMu.Lock()
	l.closeReqs = append(l.closeReqs, c)
	l.closeMu.Unlock()
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	unix.Write(l.wakefd, one) //nolint:errcheck // a full counter is a pending wake-up anyway
}

// onAccept handles a completion of listener i's multishot accept.
func (l *uringLoop) onAccept(i int, res int32, flags uint32) {
	ul := l.lns[i]
	if flags&ioringCQEFMore == 0 {
		ul.armed = false
	}
	if res >= 0 {
		fd := int(res)
		if l.stopped || ul.gone {
			unix.Close(fd)
		} else {
			l.backoff.Reset()
			l.newConn(fd, ul.ln, 0)
		}
	} else if !l.stopped && !ul.gone {
		err := os.NewSyscallError("accept", syscall.Errno(-res))
		if res == -int32(unix.ECANCELED) {
			err = nil
		}
		pause, retry := l.backoff.next(err)
		switch {
		case !retry:
			l.r.reportError(err)
			ul.gone = true
		case pause > 0:
			l.pause(pause)
		}
	}
	if ul.armed {
		return
	}
	if l.stopped || ul.gone {
		ul.release()
		return
	}
	l.armAccept(i)
}

// release drops the loop's hold on the listener, once: when no loop
// holds it, its socket is closed. Only when its accept has ended, since
// a request in flight holds the socket open.
func (ul *uringListener) release() {
	ul.gone = true
	if !ul.released {
		ul.released = true
		ul.ln.release()
	}
}

// kernelTimespec is struct __kernel_timespec.
type kernelTimespec struct{ sec, nsec int64 }

// pause stops accepting for d: a timeout request re-arms the accepts.
func (l *uringLoop) pause(d time.Duration) {
	if l.paused {
		return
	}
	l.paused = true
	l.rt.pauses.Add(1)
	ts := (*kernelTimespec)(unsafe.Pointer(&l.scratch[16]))
	*ts = kernelTimespec{sec: int64(d / time.Second), nsec: int64(d % time.Second)}
	s := l.sqe()
	s.opcode = ioringOpTimeout
	s.fd = -1
	s.addr = uint64(uintptr(unsafe.Pointer(ts)))
	s.len = 1
	s.userData = userData(udTimeout, 0)
	l.timer = true
}

// newConn sets up an accepted connection: options, the OnConnection
// decision, then the greeting or the first receive.
func (l *uringLoop) newConn(fd int, ln *loopListener, id uint64) {
	r := l.r
	conn, ok := r.accepted(fd, nil, ln, loopPlace{ring: l, fd: fd}, id)
	if !ok {
		return
	}
	l.grow(fd)
	sl := &l.conns[fd]
	*sl = uringSlot{flags: slotOpen}
	if conn != nil {
		sl.st = &uringState{conn: conn}
	} else {
		l.accepted++ // else the Server counted it when it admitted it
	}
	l.open++
	l.openNow.Add(1)
	if len(r.greeting) > 0 {
		sl.flags |= slotGreeting
		sl.lo, sl.hi = 0, uint32(len(r.greeting))
		l.send(fd, sl, false)
		return
	}
	l.recv(fd, sl)
}

// onRecv handles a receive's completion.
func (l *uringLoop) onRecv(fd int, res int32, flags uint32) {
	sl := &l.conns[fd]
	sl.flags &^= slotRecv
	var p []byte
	if flags&ioringCQEFBuffer != 0 {
		sl.bid = uint16(flags >> ioringCQEBufferShft)
		sl.flags |= slotRingBuf
		p = l.bufs.buf(sl.bid)
	} else if sl.st != nil && sl.st.pooled != nil {
		p = *sl.st.pooled
	}
	if sl.flags&slotClosing != 0 {
		l.finishClose(fd, sl.st.err, true)
		return
	}
	switch {
	case res == -int32(unix.ENOBUFS):
		// Every provided buffer is held by a client that does not
		// read: this one gets a pooled buffer of its own until its
		// bytes are out.
		sl.state().pooled = getBuf(false)
		l.recv(fd, sl)
		return
	case res == -int32(unix.EINTR) || res == -int32(unix.EAGAIN):
		l.releaseBuf(sl)
		l.recv(fd, sl)
		return
	case res < 0:
		l.releaseBuf(sl)
		l.closeConn(fd, os.NewSyscallError("read", syscall.Errno(-res)))
		return
	case res == 0:
		// The client ended and everything it sent has been echoed:
		// close, which sends our FIN (Node's allowHalfOpen false).
		l.releaseBuf(sl)
		if c := sl.conn(); l.r.hooks.onEnd != nil && c != nil {
			l.r.hooks.onEnd(c)
		}
		l.closeConn(fd, nil)
		return
	}
	n := int(res)
	l.read += int64(n)
	if c := sl.conn(); c != nil {
		sl.st.read += int64(n)
		if l.r.hooks.onData != nil && c.sock != nil {
			c.sock.bytesRead.Store(sl.st.read)
			l.r.hooks.onData(c, p[:n])
		}
		if sl.flags&slotClosing != 0 || sl.flags&slotOpen == 0 {
			return // closed by the hook
		}
	}
	sl.lo, sl.hi = 0, uint32(n)
	l.send(fd, sl, false)
}

// onSend handles a send's completion.
func (l *uringLoop) onSend(fd int, res int32) {
	sl := &l.conns[fd]
	sl.flags &^= slotSend
	if sl.flags&slotClosing != 0 {
		if res > 0 {
			l.wrote(sl, int(res))
		}
		l.finishClose(fd, sl.st.err, true)
		return
	}
	switch {
	case res == -int32(unix.EAGAIN) || res == -int32(unix.EINTR):
		// The client's socket is full: wait for room, receiving
		// nothing meanwhile.
		sl.flags |= slotWaited
		l.send(fd, sl, true)
		return
	case res < 0:
		l.closeConn(fd, os.NewSyscallError("write", syscall.Errno(-res)))
		return
	}
	l.wrote(sl, int(res))
	sl.lo += uint32(res)
	if sl.lo < sl.hi {
		sl.flags |= slotWaited
		l.send(fd, sl, true)
		return
	}
	waited := sl.flags&slotWaited != 0
	sl.flags &^= slotWaited | slotGreeting
	l.releaseBuf(sl)
	l.recv(fd, sl)
	if c := sl.conn(); waited && l.r.hooks.onDrain != nil && c != nil && c.sock != nil {
		c.sock.bytesWritten.Store(sl.st.written)
		l.r.hooks.onDrain(c)
	}
}

func (l *uringLoop) wrote(sl *uringSlot, n int) {
	l.written += int64(n)
	if sl.st != nil && sl.st.conn != nil {
		sl.st.written += int64(n)
	}
}

// releaseBuf gives back the buffer the slot holds: a provided one to the
// ring, a pooled one to the pool.
func (l *uringLoop) releaseBuf(sl *uringSlot) {
	if sl.flags&slotRingBuf != 0 {
		sl.flags &^= slotRingBuf
		l.bufs.add(sl.bid)
		l.bufs.commit()
	}
	if st := sl.st; st != nil && st.pooled != nil {
		putBuf(st.pooled)
		st.pooled = nil
		if st.conn == nil && st.err == nil {
			sl.st = nil
		}
	}
}

// closeConn closes a connection: at once when no request is in flight,
// else once the cancelled request has ended.
func (l *uringLoop) closeConn(fd int, err error) {
	sl := &l.conns[fd]
	if sl.flags&slotClosing != 0 {
		return
	}
	if sl.flags&(slotRecv|slotSend) != 0 {
		sl.flags |= slotClosing
		sl.state().err = err
		if c := sl.st.conn; c != nil {
			c.closing.Store(true)
		}
		l.cancelFD(fd)
		return
	}
	l.finishClose(fd, err, true)
}

// finishClose releases the slot, closes the descriptor (through the ring
// when viaRing) and reports the close.
func (l *uringLoop) finishClose(fd int, err error, viaRing bool) {
	sl := &l.conns[fd]
	l.releaseBuf(sl)
	var conn *reactorConn
	var read, written int64
	if st := sl.st; st != nil {
		conn, read, written = st.conn, st.read, st.written
	}
	*sl = uringSlot{}
	if viaRing {
		s := l.sqe()
		s.opcode = ioringOpClose
		s.fd = int32(fd)
		s.userData = userData(udClose, fd)
		l.closing++
	}
	l.open--
	l.openNow.Add(-1)
	if !l.r.closed(conn, read, written, err) {
		l.closed++
	}
}

// grow makes the table hold descriptor fd, as reactorLoop.grow does.
func (l *uringLoop) grow(fd int) { l.conns = growSlots(l.conns, fd) }
