//go:build linux

package netcore

import (
	"bytes"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// uringNeeded skips a test of the ring layer where io_uring is not
// available (an old kernel, a seccomp filter, io_uring_disabled).
func uringNeeded(t *testing.T) {
	t.Helper()
	if err := uringAvailable(); err != nil {
		t.Skipf("io_uring is not available here: %v", err)
	}
}

// TestRingNop: entries submitted come back as completions, each with its
// user_data, in one enter.
func TestRingNop(t *testing.T) {
	uringNeeded(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := newRing(8, 16, uringSetupFlags)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	// More than the submission ring holds: sqe says so, and a submit
	// makes room.
	got := map[uint64]bool{}
	for round := 0; round < 3; round++ {
		for i := 0; i < 8; i++ {
			s := r.sqe()
			if s == nil {
				t.Fatalf("round %d: no free entry at %d of 8", round, i)
			}
			s.opcode = ioringOpNop
			s.userData = uint64(round*100 + i)
		}
		if r.sqe() != nil {
			t.Fatal("a ninth entry in a ring of eight")
		}
		if err := r.enter(true); err != nil {
			t.Fatal(err)
		}
		head, tail := r.cqReady()
		for ; head != tail; head++ {
			c := r.cqe(head)
			if c.res != 0 {
				t.Errorf("nop %d: res %d", c.userData, c.res)
			}
			got[c.userData] = true
		}
		r.cqAdvance(tail)
	}
	if len(got) != 24 {
		t.Errorf("%d distinct completions; want 24", len(got))
	}
}

// TestBufRingRecv: a receive with buffer selection takes a provided
// buffer only when data is there, says which, and the buffer given back
// is used again.
func TestBufRingRecv(t *testing.T) {
	uringNeeded(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := newRing(8, 16, uringSetupFlags)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	b, err := newBufRing(r, 2, 64, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer b.free()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	seen := map[uint16]bool{}
	for i := 0; i < 5; i++ {
		s := r.sqe()
		s.opcode = ioringOpRecv
		s.fd = int32(fds[0])
		s.flags = ioSQEBufferSelect
		s.bufGroup = 7
		s.userData = uint64(i)
		if err := r.enter(false); err != nil {
			t.Fatal(err)
		}
		if head, tail := r.cqReady(); head != tail {
			t.Fatalf("receive %d completed before anything was sent", i)
		}
		msg := []byte{'a' + byte(i), 'b', 'c'}
		if _, err := unix.Write(fds[1], msg); err != nil {
			t.Fatal(err)
		}
		if err := r.enter(true); err != nil {
			t.Fatal(err)
		}
		head, _ := r.cqReady()
		c := *r.cqe(head)
		r.cqAdvance(head + 1)
		if c.res != 3 || c.flags&ioringCQEFBuffer == 0 {
			t.Fatalf("receive %d: res %d flags %#x", i, c.res, c.flags)
		}
		id := uint16(c.flags >> ioringCQEBufferShft)
		if got := b.buf(id)[:3]; !bytes.Equal(got, msg) {
			t.Fatalf("receive %d: buffer %d holds %q; want %q", i, id, got, msg)
		}
		seen[id] = true
		b.add(id)
		b.commit()
	}
	if len(seen) != 2 {
		t.Errorf("buffers used: %v; want both of the two, given back and used again", seen)
	}
}

// TestEchoServerUringFallback: where io_uring is missing, the uring
// engine serves from epoll loops, and says so.
func TestEchoServerUringFallback(t *testing.T) {
	probe := uringProbe
	t.Cleanup(func() { uringProbe = probe })
	uringProbe = func() error { return os.NewSyscallError("io_uring_setup", unix.EPERM) }
	srv := NewEchoServer(ServerOptions{Engine: EngineUring}, EchoOptions{})
	if err := srv.Serve(echoListen(t, "tcp")); err != nil {
		t.Fatal(err)
	}
	defer srv.Destroy()
	if got := srv.Engine(); got != EngineEpoll {
		t.Errorf("served on %q without io_uring; want epoll", got)
	}
}

// TestEchoServerNoLeak: after Destroy, and after Close once the clients
// have gone, every descriptor the server opened (listeners, sockets,
// rings, wake-ups) is closed and its goroutines have ended, whatever the
// connections were doing: idle, mid-exchange, or blocked on a client
// that does not read.
func TestEchoServerNoLeak(t *testing.T) {
	for _, engine := range echoEngines() {
		for _, how := range []string{"destroy", "close"} {
			t.Run(string(engine)+"/"+how, func(t *testing.T) {
				fds0, g0 := openFds(t), runtime.NumGoroutine()
				ln := echoListen(t, "tcp")
				srv := NewEchoServer(ServerOptions{Engine: engine}, EchoOptions{Greeting: []byte("hi")})
				if err := srv.Listen(t.Context(), ListenOptions{Listener: ln, Workers: 2}); err != nil {
					t.Fatal(err)
				}
				var clients []net.Conn
				for i := 0; i < 20; i++ {
					c := echoDial(t, ln)
					clients = append(clients, c)
					b := make([]byte, 2)
					if _, err := io.ReadFull(c, b); err != nil {
						t.Fatal(err)
					}
				}
				// One blocked: it sends and does not read.
				echoFill(t, clients[0], echoRandom(largeBufSize), nil)
				if how == "destroy" {
					srv.Destroy()
				} else {
					srv.Close()
					for _, c := range clients {
						c.Close()
					}
				}
				select {
				case <-srv.Done():
				case <-time.After(echoTestTimeout):
					t.Fatal("not done")
				}
				for _, c := range clients {
					c.Close()
				}
				echoEventually(t, "every descriptor closed", func() bool { return openFds(t) <= fds0 })
				echoEventually(t, "every goroutine ended", func() bool { return runtime.NumGoroutine() <= g0 })
			})
		}
	}
}

// openFds counts the process's open descriptors.
func openFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestRingSendDontWait: a send with MSG_DONTWAIT to a full socket
// completes at once with EAGAIN (or a short count) instead of waiting in
// the ring, which is how the engine learns that a client does not read.
func TestRingSendDontWait(t *testing.T) {
	uringNeeded(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := newRing(8, 16, uringSetupFlags)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	chunk := make([]byte, 4096)
	for {
		if _, err := unix.Write(fds[0], chunk); err == unix.EAGAIN {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	s := r.sqe()
	s.opcode = ioringOpSend
	s.fd = int32(fds[0])
	s.addr = uint64(uintptr(unsafe.Pointer(&chunk[0])))
	s.len = uint32(len(chunk))
	s.opFlags = unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL
	if err := r.enter(false); err != nil {
		t.Fatal(err)
	}
	head, tail := r.cqReady()
	if head == tail {
		t.Fatal("a send with MSG_DONTWAIT to a full socket is waiting in the ring")
	}
	if c := r.cqe(head); c.res != -int32(unix.EAGAIN) && (c.res < 0 || c.res >= int32(len(chunk))) {
		t.Errorf("res %d; want EAGAIN or a short count", c.res)
	}
	r.cqAdvance(tail)
}

// TestEchoServerUringSmallRings: a loop whose rings are far too small for
// its load (two submission entries, four completion slots, against 200
// clients talking at once) queues what does not fit and goes on: every
// client gets its bytes back, none waits for ever. (The kernel keeps the
// completions that overflow the completion ring; an older one takes no
// submission while it holds them, so the loop gives them room. Linux 6.18
// takes them; one run of this test, counted, made about 1,600
// submissions from a full ring.)
func TestEchoServerUringSmallRings(t *testing.T) {
	uringNeeded(t)
	sq, cq := uringSQEntries, uringCQEntries
	t.Cleanup(func() { uringSQEntries, uringCQEntries = sq, cq })
	uringSQEntries, uringCQEntries = 2, 4
	ln := echoListen(t, "tcp")
	echoServe(t, EngineUring, ServerOptions{}, EchoOptions{Greeting: []byte(DefaultGreeting)}, 1, ln)
	echoClients(t, ln.Addr().String(), 200, 20, 100)
}
