package ipc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// pipePath returns a pipe name no other test (or test run) uses.
func pipePath(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf(`\\.\pipe\nodenet-test-%d-%x`, os.Getpid(), randomBytes(t, 6))
}

func listenPipeT(t *testing.T, lc *ListenConfig, path string) *Listener {
	t.Helper()
	if lc == nil {
		lc = &ListenConfig{}
	}
	ln, err := lc.Listen(context.Background(), path)
	if err != nil {
		t.Fatalf("Listen(%q): %v", path, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func dialPipeT(t *testing.T, path string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatalf("Dial(%q): %v", path, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPipeRoundTripHalfClose(t *testing.T) {
	path := pipePath(t)
	ln := listenPipeT(t, nil, path)
	if got := ln.Path(); got != path {
		t.Errorf("Path() = %q, want %q", got, path)
	}
	if got := ln.Addr().String(); got != path {
		t.Errorf("Addr() = %q, want %q", got, path)
	}
	// Several times the pipe buffer, and not a multiple of it.
	payload := randomBytes(t, 5*pipeBufSize+12345)
	halfCloseRoundTrip(t, ln, func() (net.Conn, error) { return Dial(context.Background(), path) }, payload)
}

func TestPipeEmptyStreamHalfClose(t *testing.T) {
	// A CloseWrite with nothing sent before must still read as EOF, and a
	// zero-length Write must not end the stream.
	path := pipePath(t)
	ln := listenPipeT(t, nil, path)
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		b, err := io.ReadAll(c)
		done <- result{data: b, err: err}
	}()
	c := dialPipeT(t, path)
	if n, err := c.Write(nil); n != 0 || err != nil {
		t.Fatalf("Write(nil) = %d, %v", n, err)
	}
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := c.(*PipeConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	r := await(t, done, "server read")
	if r.err != nil || string(r.data) != "x" {
		t.Fatalf("server read %q, %v; want \"x\", nil", r.data, r.err)
	}
}

func TestPipeSeveralClients(t *testing.T) {
	path := pipePath(t)
	ln := listenPipeT(t, nil, path)
	const clients = 5
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*PipeConn).CloseWrite()
			}()
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(context.Background(), path)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			msg := bytes.Repeat([]byte(fmt.Sprintf("client %d;", i)), 10000)
			go func() {
				c.Write(msg)
				c.(*PipeConn).CloseWrite()
			}()
			got, err := io.ReadAll(c)
			if err != nil {
				errs <- fmt.Errorf("client %d: %v", i, err)
				return
			}
			if !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("client %d: got %d bytes back, want its %d", i, len(got), len(msg))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPipeNameInUse(t *testing.T) {
	path := pipePath(t)
	ln := listenPipeT(t, nil, path)
	_, err := Listen(context.Background(), path)
	if err == nil {
		t.Fatal("second Listen on the same pipe name succeeded")
	}
	var inUse *AddrInUseError
	if !errors.As(err, &inUse) || !errors.Is(err, windows.WSAEADDRINUSE) {
		t.Fatalf("second Listen: %v, want an AddrInUseError wrapping WSAEADDRINUSE", err)
	}
	// The first server still serves.
	halfCloseRoundTrip(t, ln, func() (net.Conn, error) { return Dial(context.Background(), path) }, []byte("still here"))
}

func TestPipeQuestionMarkPrefix(t *testing.T) {
	path := pipePath(t)
	qpath := `\\?\` + strings.TrimPrefix(path, `\\.\`)
	ln := listenPipeT(t, nil, qpath)
	if got := ln.Path(); got != qpath {
		t.Errorf("Path() = %q, want %q", got, qpath)
	}
	halfCloseRoundTrip(t, ln, func() (net.Conn, error) { return Dial(context.Background(), path) }, []byte("dot to question"))
	halfCloseRoundTrip(t, ln, func() (net.Conn, error) { return Dial(context.Background(), qpath) }, []byte("question to question"))
}

func TestPipeDialMissing(t *testing.T) {
	_, err := Dial(context.Background(), pipePath(t))
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" || !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		t.Fatalf("Dial of a missing pipe: %v, want a dial OpError wrapping ERROR_FILE_NOT_FOUND", err)
	}
}

func TestPipeBadPaths(t *testing.T) {
	long := `\\.\pipe\` + strings.Repeat("n", maxPipePathLen-len(`\\.\pipe\`)+1)
	fits := long[:maxPipePathLen]
	tests := []struct {
		name    string
		path    string
		tooLong bool
	}{
		{"file path", `C:\tmp\echo.sock`, false},
		{"abstract", "@echo", false},
		{"too long", long, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, op := range []string{"listen", "dial"} {
				var err error
				if op == "listen" {
					var ln *Listener
					ln, err = Listen(context.Background(), tt.path)
					if err == nil {
						ln.Close()
					}
				} else {
					var c net.Conn
					c, err = Dial(context.Background(), tt.path)
					if err == nil {
						c.Close()
					}
				}
				if !errors.Is(err, windows.WSAEINVAL) {
					t.Errorf("%s(%q): %v, want WSAEINVAL", op, tt.path, err)
				}
				if got := errors.Is(err, ErrPathTooLong); got != tt.tooLong {
					t.Errorf("%s(%q): errors.Is(err, ErrPathTooLong) = %v, want %v", op, tt.path, got, tt.tooLong)
				}
			}
		})
	}
	// The longest name that fits works.
	ln := listenPipeT(t, nil, fits)
	halfCloseRoundTrip(t, ln, func() (net.Conn, error) { return Dial(context.Background(), fits) }, []byte("256"))
}

func TestPipeCloseUnblocksAccept(t *testing.T) {
	ln := listenPipeT(t, nil, pipePath(t))
	done := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let Accept block (not needed for correctness)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if err := await(t, done, "Accept after Close"); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on a closed listener: %v, want net.ErrClosed", err)
	}
}

// pipePair returns both ends of a fresh pipe connection.
func pipePair(t *testing.T) (server, client *PipeConn) {
	t.Helper()
	path := pipePath(t)
	ln := listenPipeT(t, nil, path)
	acc := make(chan result, 1)
	var sc net.Conn
	go func() {
		c, err := ln.Accept()
		sc = c
		acc <- result{err: err}
	}()
	cc := dialPipeT(t, path)
	if r := await(t, acc, "Accept"); r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { sc.Close() })
	return sc.(*PipeConn), cc.(*PipeConn)
}

func TestPipeCloseUnblocksRead(t *testing.T) {
	s, c := pipePair(t)
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := await(t, done, "Read after Close"); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close: %v, want net.ErrClosed", err)
	}
	// The client sees the end.
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if n, err := c.Read(make([]byte, 10)); err != io.EOF {
		t.Fatalf("client Read after server Close = %d, %v; want io.EOF", n, err)
	}
}

func TestPipeReadDeadline(t *testing.T) {
	s, c := pipePair(t)
	s.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	_, err := s.Read(make([]byte, 10))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past deadline: %v, want a timeout", err)
	}
	// A deadline moved into the past wakes a Read that is waiting.
	s.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	s.SetReadDeadline(time.Now().Add(-time.Second))
	if err := await(t, done, "Read after deadline moved"); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after the deadline moved into the past: %v, want os.ErrDeadlineExceeded", err)
	}
	// Nothing was lost: the connection still works.
	s.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := c.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 10)
	n, err := s.Read(b)
	if err != nil || string(b[:n]) != "after" {
		t.Fatalf("Read = %q, %v; want \"after\"", b[:n], err)
	}
}

func TestPipeSmallReadsOfBigMessages(t *testing.T) {
	// Reads smaller than a message get it piece by piece (ERROR_MORE_DATA).
	s, c := pipePair(t)
	msg := randomBytes(t, 3000)
	go func() {
		c.Write(msg)
		c.CloseWrite()
	}()
	s.SetReadDeadline(time.Now().Add(testTimeout))
	var got []byte
	b := make([]byte, 7)
	for {
		n, err := s.Read(b)
		got = append(got, b[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("read %d bytes in 7-byte reads, want the %d sent", len(got), len(msg))
	}
}

func TestPipeWriteAfterCloseWrite(t *testing.T) {
	_, c := pipePair(t)
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatalf("second CloseWrite: %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, windows.ERROR_NO_DATA) {
		t.Fatalf("Write after CloseWrite: %v, want ERROR_NO_DATA (EPIPE)", err)
	}
}

func TestPipeDataWrittenBeforeCloseArrives(t *testing.T) {
	s, c := pipePair(t)
	msg := randomBytes(t, 3*pipeBufSize)
	done := make(chan error, 1)
	go func() {
		_, err := s.Write(msg)
		if err == nil {
			err = s.Close()
		}
		done <- err
	}()
	c.SetReadDeadline(time.Now().Add(testTimeout))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := await(t, done, "server write"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("read %d bytes, want the %d written before Close", len(got), len(msg))
	}
}

func TestPipeWriteToClosedPeer(t *testing.T) {
	s, c := pipePair(t)
	c.Close()
	s.SetDeadline(time.Now().Add(testTimeout))
	if n, err := s.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read from a closed peer = %d, %v; want io.EOF", n, err)
	}
	if _, err := s.Write([]byte("x")); !errors.Is(err, windows.ERROR_NO_DATA) {
		t.Fatalf("Write to a closed peer: %v, want ERROR_NO_DATA (EPIPE)", err)
	}
}

func TestPipeWritableAll(t *testing.T) {
	tests := []struct {
		name               string
		readable, writable bool
		want               windows.ACCESS_MASK
	}{
		{"writable", false, true, windows.FILE_WRITE_DATA},
		{"readable and writable", true, true, windows.FILE_READ_DATA | windows.FILE_WRITE_DATA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := pipePath(t)
			ln := listenPipeT(t, &ListenConfig{ReadableAll: tt.readable, WritableAll: tt.writable}, path)
			// Every instance carries it: the first, and the one made after
			// an Accept.
			for i := range 2 {
				pl := ln.ln.(*pipeListener)
				pl.mu.Lock()
				h := pl.next
				pl.mu.Unlock()
				if got := everyoneAccess(t, h); got&tt.want != tt.want {
					t.Errorf("instance %d: Everyone is allowed %#x, want at least %#x", i, got, tt.want)
				}
				if i == 0 {
					halfCloseRoundTrip(t, ln, func() (net.Conn, error) { return Dial(context.Background(), path) }, []byte("acl"))
				}
			}
		})
	}
}

// everyoneAccess returns the access that h's DACL allows Everyone.
func everyoneAccess(t *testing.T, h windows.Handle) windows.ACCESS_MASK {
	t.Helper()
	everyone, err := windows.CreateWellKnownSid(windows.WinWorldSid)
	if err != nil {
		t.Fatal(err)
	}
	return sidAccess(t, h, everyone)
}

// sidAccess returns the access that h's DACL allows sid by its own
// entries (an allowed ACE naming it).
func sidAccess(t *testing.T, h windows.Handle, who *windows.SID) windows.ACCESS_MASK {
	t.Helper()
	sd, err := windows.GetSecurityInfo(h, windows.SE_KERNEL_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatalf("GetSecurityInfo: %v", err)
	}
	dacl, _, err := sd.DACL()
	if err == windows.ERROR_OBJECT_NOT_FOUND {
		// No DACL: everyone may do everything (Wine's pipes).
		return windows.GENERIC_ALL | windows.FILE_GENERIC_READ | windows.FILE_GENERIC_WRITE
	}
	if err != nil || dacl == nil {
		t.Fatalf("DACL: %v, %v", dacl, err)
	}
	var mask windows.ACCESS_MASK
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			t.Fatalf("GetAce: %v", err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if sid.Equals(who) {
			mask |= ace.Mask
		}
	}
	return mask
}

func TestGrantEveryoneMergesACL(t *testing.T) {
	// A pipe whose DACL allows only SYSTEM and Administrators, as a
	// locked-down default would: grantEveryone must add Everyone's write
	// access and keep the entries that were there.
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;GA;;;SY)(A;;GA;;;BA)")
	if err != nil {
		t.Fatal(err)
	}
	sa := &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}
	name, _ := windows.UTF16PtrFromString(pipePath(t))
	h, err := createPipe(name, true, sa)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(h)
	if got := everyoneAccess(t, h); got&windows.FILE_WRITE_DATA != 0 {
		t.Skipf("this system does not keep the DACL a pipe is created with (Everyone has %#x)", got)
	}
	later, err := grantEveryone(h, false, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := everyoneAccess(t, h); got&windows.FILE_WRITE_DATA == 0 {
		t.Errorf("after grantEveryone Everyone is allowed %#x, want FILE_WRITE_DATA", got)
	}
	system, _ := windows.CreateWellKnownSid(windows.WinLocalSystemSid)
	if got := sidAccess(t, h, system); got == 0 {
		t.Error("grantEveryone dropped SYSTEM's entry")
	}
	// A later instance made with the returned attributes has it too.
	if later == nil {
		t.Fatal("grantEveryone returned no attributes for later instances")
	}
	h2, err := createPipe(name, false, later)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(h2)
	if got := everyoneAccess(t, h2); got&windows.FILE_WRITE_DATA == 0 {
		t.Errorf("later instance: Everyone is allowed %#x, want FILE_WRITE_DATA", got)
	}
}
