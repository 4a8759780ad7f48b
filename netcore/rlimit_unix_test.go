//go:build unix

package netcore

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestAcceptBackoffNext(t *testing.T) {
	wrap := func(errno syscall.Errno) error {
		return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
	}
	tests := []struct {
		name   string
		err    error
		retry  bool
		paused bool
	}{
		{name: "closed", err: fmt.Errorf("accept: %w", net.ErrClosed), retry: false},
		{name: "EMFILE", err: wrap(syscall.EMFILE), retry: true, paused: true},
		{name: "ENFILE", err: wrap(syscall.ENFILE), retry: true, paused: true},
		{name: "ENOBUFS", err: wrap(syscall.ENOBUFS), retry: true, paused: true},
		{name: "ECONNABORTED", err: wrap(syscall.ECONNABORTED), retry: true},
		{name: "EPROTO", err: wrap(syscall.EPROTO), retry: true},
		{name: "EINVAL", err: wrap(syscall.EINVAL), retry: false},
		{name: "no errno", err: errors.New("something else"), retry: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b acceptBackoff
			pause, retry := b.next(tt.err)
			if retry != tt.retry || (pause > 0) != tt.paused {
				t.Errorf("next(%v) = %v, %v; want retry %v, paused %v", tt.err, pause, retry, tt.retry, tt.paused)
			}
		})
	}
}

func TestAcceptBackoffGrowth(t *testing.T) {
	reports := 0
	b := acceptBackoff{onLimit: func(error) { reports++ }}
	emfile := os.NewSyscallError("accept4", syscall.EMFILE)
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i, w := range want {
		if pause, _ := b.next(emfile); pause != w*time.Millisecond {
			t.Fatalf("pause %d = %v; want %v", i, pause, w*time.Millisecond)
		}
	}
	b.Reset()
	if pause, _ := b.next(emfile); pause != acceptBackoffMin {
		t.Errorf("after Reset the pause is %v; want %v", pause, acceptBackoffMin)
	}
	if reports != 1 {
		t.Errorf("onLimit called %d times; want once", reports)
	}
}

func TestAcceptBackoffWait(t *testing.T) {
	stop := make(chan struct{})
	b := acceptBackoff{stop: stop}
	if !b.Wait(os.NewSyscallError("accept4", syscall.EMFILE)) {
		t.Error("Wait(EMFILE) = false; want true after the pause")
	}
	if b.Wait(net.ErrClosed) {
		t.Error("Wait(net.ErrClosed) = true; want false")
	}
	close(stop)
	b.delay = time.Hour // a pause that only stop can cut short
	if b.Wait(os.NewSyscallError("accept4", syscall.EMFILE)) {
		t.Error("Wait returned true after stop was closed; want false")
	}
}

// TestRaiseFileLimit lowers the soft limit a little and raises it again.
func TestRaiseFileLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	orig := lim
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	probe := lim
	probe.Cur = probe.Max
	capFileLimit(&probe) // macOS: kern.maxfilesperproc
	want := probe.Cur
	if uint64(want) < 200 {
		t.Skipf("the hard limit (%d) is too low to play with", want)
	}
	low := orig
	low.Cur = want - 100
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	old, raised, err := RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if old != uint64(low.Cur) || raised != uint64(want) {
		t.Errorf("RaiseFileLimit() = %d, %d; want %d, %d", old, raised, low.Cur, want)
	}
	var now syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now)
	if uint64(now.Cur) != raised {
		t.Errorf("the soft limit is %d after RaiseFileLimit said %d", now.Cur, raised)
	}
	if old, raised, err := RaiseFileLimit(); err != nil || old != raised {
		t.Errorf("a second RaiseFileLimit() = %d, %d, %v; want no change", old, raised, err)
	}
}
