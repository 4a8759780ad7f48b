package netcore

import (
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestIdleTimerKernelCounts: the kernel's counters make a period active
// only for bytes the Socket did not move itself. A greeting written
// through the Socket, acknowledged after the timer started, is no
// activity at the check: the timeout fires one period after the last
// write, not two (it used to be read as fresh activity).
func TestIdleTimerKernelCounts(t *testing.T) {
	for _, tt := range []struct {
		name                   string
		written, read          int64  // through the Socket since the start
		acked, received        uint64 // by the kernel since the start
		wantTimeout            bool
		againAcked, againRecvd uint64 // more at a second check
		wantSecond             bool
	}{
		{name: "greeting acknowledged later", written: 7, acked: 7, wantTimeout: true, wantSecond: true},
		{name: "write acknowledged in two steps", written: 7, acked: 3, wantTimeout: true, againAcked: 4, wantSecond: true},
		{name: "spliced bytes", acked: 1 << 20, wantTimeout: false, againAcked: 1 << 20, wantSecond: false},
		{name: "spliced, then quiet", acked: 1 << 20, wantTimeout: false, wantSecond: true},
		{name: "bytes arrived unread", received: 10, wantTimeout: false, wantSecond: true},
		{name: "arrived and read", received: 10, read: 10, wantTimeout: true, wantSecond: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			var timeouts atomic.Int32
			s := newSocket(a, &SocketHooks{OnTimeout: func(*Socket) { timeouts.Add(1) }}, false)
			var recvd, acked atomic.Uint64
			recvd.Store(100)
			acked.Store(200)
			it := &idleTimer{s: s, d: time.Hour, start: time.Now().Add(-3 * time.Hour)}
			it.probe = func() (uint64, uint64, bool) { return recvd.Load(), acked.Load(), true }
			it.base = it.counts()
			it.t = time.AfterFunc(time.Hour, func() {})
			defer it.stop()
			// The Socket's own I/O, an hour and more ago; the kernel's
			// counts since.
			s.bytesWritten.Add(tt.written)
			s.bytesRead.Add(tt.read)
			it.last.Store(int64(time.Hour))
			recvd.Add(tt.received)
			acked.Add(tt.acked)
			it.fire()
			if got := timeouts.Load() == 1; got != tt.wantTimeout {
				t.Errorf("first check: timeout %v; want %v", got, tt.wantTimeout)
			}
			// A second check, a period later: only bytes beyond the
			// Socket's that are new since the first check count; else
			// it is another idle period, and another timeout.
			before := timeouts.Load()
			acked.Add(tt.againAcked)
			recvd.Add(tt.againRecvd)
			it.fire()
			if got := timeouts.Load() > before; got != tt.wantSecond {
				t.Errorf("second check: timeout %v; want %v", got, tt.wantSecond)
			}
		})
	}
}
