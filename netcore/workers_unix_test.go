//go:build unix

package netcore

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/nodenet/nodenet/internal/fdpass"
)

// unixPair returns the two ends of a connected Unix stream socketpair.
func unixPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

// fdOf returns c's descriptor, for sending.
func fdOf(t *testing.T, c *net.UnixConn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	rc.Control(func(u uintptr) { fd = int(u) })
	return fd
}

// TestWorkerListenerRecords: the worker's side of the socketpair takes
// whatever the stream delivers: two records and their two descriptors in
// one message, a record cut into three writes (its descriptor on the
// first byte), and a record whose descriptor is missing, which it reports
// to the master as ended. Each accepted connection is the one sent, with
// the master's id. When the master's end closes, Accept fails with
// net.ErrClosed and the server is told the master is gone.
func TestWorkerListenerRecords(t *testing.T) {
	master, worker := unixPair(t)
	gone := make(chan struct{})
	l := &workerListener{
		c:    worker,
		buf:  make([]byte, 64*workerRecordSize),
		oob:  make([]byte, fdpass.OOBSize(fdpass.MaxFDs)),
		ids:  map[net.Conn]uint64{},
		gone: func() { close(gone) },
	}
	// Three connections, each a socketpair whose far end says its name.
	type peer struct {
		near, far *net.UnixConn
		name      string
	}
	var peers []peer
	for _, name := range []string{"one", "two", "three"} {
		near, far := unixPair(t)
		peers = append(peers, peer{near, far, name})
	}
	accept := func(wantID uint64, want peer) {
		t.Helper()
		stop := time.AfterFunc(10*time.Second, func() { l.Close() }) // bounded
		c, err := l.Accept()
		stop.Stop()
		if err != nil {
			t.Fatalf("%s: %v", want.name, err)
		}
		defer c.Close()
		if id := l.take(c); id != wantID {
			t.Errorf("%s: id %d; want %d", want.name, id, wantID)
		}
		if _, err := want.far.Write([]byte(want.name)); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want.name))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != want.name {
			t.Errorf("connection %d reads %q, %v; want %q", wantID, got, err, want.name)
		}
	}

	// Two records, two descriptors, one sendmsg.
	two := append(workerRecord{kind: recConn, id: 11}.encode(), workerRecord{kind: recConn, id: 12}.encode()...)
	if _, err := fdpass.Send(master, two, []int{fdOf(t, peers[0].near), fdOf(t, peers[1].near)}); err != nil {
		t.Fatal(err)
	}
	accept(11, peers[0])
	accept(12, peers[1])

	// One record in three writes.
	rec := workerRecord{kind: recConn, id: 13}.encode()
	if _, err := fdpass.Send(master, rec[:1], []int{fdOf(t, peers[2].near)}); err != nil {
		t.Fatal(err)
	}
	go func() {
		master.Write(rec[1:10])
		master.Write(rec[10:])
	}()
	accept(13, peers[2])

	// A record without its descriptor is ended at once, then a
	// worker's totals record is ignored, and the master hangs up.
	go func() {
		master.Write(workerRecord{kind: recConn, id: 14}.encode())
		master.Write(workerRecord{kind: recTotals}.encode())
		master.CloseWrite()
	}()
	c, err := l.Accept()
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after the master's end: %v, %v; want net.ErrClosed", c, err)
	}
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the server was not told that the master is gone")
	}
	b := make([]byte, workerRecordSize)
	master.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(master, b); err != nil {
		t.Fatal(err)
	}
	if r := decodeWorkerRecord(b); r.kind != recEnded || r.id != 14 {
		t.Errorf("the worker said %+v; want connection 14 ended", r)
	}
}

// TestWorkerListenerClose: Close ends a waiting Accept with
// net.ErrClosed, and is not taken for the master's end.
func TestWorkerListenerClose(t *testing.T) {
	_, worker := unixPair(t)
	gone := make(chan struct{})
	l := &workerListener{
		c:    worker,
		buf:  make([]byte, 64*workerRecordSize),
		oob:  make([]byte, fdpass.OOBSize(fdpass.MaxFDs)),
		ids:  map[net.Conn]uint64{},
		gone: func() { close(gone) },
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	l.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v; want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept still waits after Close")
	}
	select {
	case <-gone:
		t.Error("Close was taken for the master's end")
	default:
	}
}
