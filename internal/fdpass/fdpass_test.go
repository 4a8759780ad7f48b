//go:build unix

package fdpass

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func unixPair(t *testing.T) (a, b *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "pair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

func TestSendRecvFileByteExact(t *testing.T) {
	a, b := unixPair(t)
	path := filepath.Join(t.TempDir(), "f")
	want := "passed along\n"
	if err := os.WriteFile(path, []byte(want), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()

	if n, err := Send(a, []byte("x"), []int{int(f.Fd()), int(r.Fd())}); err != nil || n != 1 {
		t.Fatalf("Send = %d, %v", n, err)
	}
	p := make([]byte, 8)
	n, fds, err := Recv(b, p, nil)
	if err != nil || n != 1 || string(p[:1]) != "x" {
		t.Fatalf("Recv = %d %q, %v", n, p[:n], err)
	}
	if len(fds) != 2 {
		t.Fatalf("received %d descriptors, want 2", len(fds))
	}
	defer func() { CloseAll(fds) }()
	for i, wantKind := range []string{"file", "pipe"} {
		got, err := Kind(fds[i])
		if err != nil || got != wantKind {
			t.Errorf("Kind(fd %d) = %q, %v; want %q", i, got, err, wantKind)
		}
		flags, err := unix.FcntlInt(uintptr(fds[i]), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("received fd %d is not close-on-exec (flags %#x, %v)", fds[i], flags, err)
		}
	}
	got, err := io.ReadAll(os.NewFile(uintptr(fds[0]), "received"))
	fds = fds[1:] // the *os.File above owns the first one now
	if err != nil || string(got) != want {
		t.Fatalf("read through the received fd: %q, %v; want %q", got, err, want)
	}
}

func TestRecvTruncatedClosesNothingItReturns(t *testing.T) {
	a, b := unixPair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := Send(a, []byte("y"), []int{int(r.Fd()), int(w.Fd()), int(r.Fd())}); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 4)
	n, fds, err := Recv(b, p, make([]byte, OOBSize(1)))
	defer CloseAll(fds)
	if n != 1 || !errors.Is(err, ErrTruncated) {
		t.Fatalf("Recv with room for one of three = %d, %v; want 1, ErrTruncated", n, err)
	}
	// The room for one is rounded up to the word: two fit, never three.
	if len(fds) == 0 || len(fds) >= 3 {
		t.Fatalf("got %d descriptors of three in room for one", len(fds))
	}
}

func TestSendNeedsData(t *testing.T) {
	a, _ := unixPair(t)
	if _, err := Send(a, nil, []int{0}); err == nil {
		t.Fatal("Send with no data: want an error")
	}
	if _, err := Kind(-1); err == nil {
		t.Fatal("Kind(-1): want an error")
	}
}

func TestKindSocket(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseAll(fds[:])
	if k, err := Kind(fds[0]); err != nil || k != "socket" {
		t.Fatalf("Kind(socketpair) = %q, %v", k, err)
	}
}

func TestInherited(t *testing.T) {
	r, w, err := os.Pipe() // Go opens it close-on-exec: not inherited
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := Inherited(int(r.Fd())); err == nil || !strings.Contains(err.Error(), "was not inherited") {
		t.Fatalf("Inherited(a pipe of our own) = %v", err)
	}
	if err := unix.SetNonblock(int(w.Fd()), false); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETFD, 0); err != nil {
		t.Fatal(err)
	}
	if err := Inherited(int(w.Fd())); err != nil {
		t.Fatalf("Inherited(a descriptor without close-on-exec) = %v", err)
	}
	if err := Inherited(-1); err == nil || err.Error() != "fd -1 is not open" {
		t.Fatalf("Inherited(-1) = %v", err)
	}
}
