package ipc

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Named pipes, built on golang.org/x/sys/windows.
//
// Every handle is opened for overlapped I/O, and every operation waits on
// its own event object with WaitForMultipleObjects, together with a
// "closed" event and a "deadline changed" event: Close and deadlines can
// then interrupt an Accept, Read or Write (CancelIoEx), which synchronous
// pipe I/O does not allow reliably (closing a handle does not wake a
// thread blocked in ReadFile or ConnectNamedPipe). No I/O completion port
// is used: go-winio's IOCP-based pipes hung under Wine 8, events do not.
//
// Pipes are created in message mode and read in message mode at both
// nodenet ends, which is what gives them a half-close: CloseWrite writes a
// zero-length message, and Read returns io.EOF when it receives one. See
// the package documentation for what other peers see.

// pipeBufSize is the size of a pipe's in and out buffers, which is also
// the largest message nodenet writes: libuv's figure.
const pipeBufSize = 64 << 10

// dialBusyWait is how long Dial waits for a free pipe instance when ctx has
// no deadline (libuv's WaitNamedPipe timeout).
const dialBusyWait = 30 * time.Second

// ErrNoHalfClose is returned (inside a *net.OpError) by PipeConn.CloseWrite
// on a pipe that is not in message mode, that is, one created by a server
// other than nodenet: a byte-mode pipe has no way to signal the end of one
// direction. Node on Windows signals nothing either; the peer sees the end
// only when the connection is closed.
var ErrNoHalfClose = errors.New("the pipe is in byte mode and cannot be half-closed")

// createPipe creates an instance of the pipe name. The first instance is
// created with FILE_FLAG_FIRST_PIPE_INSTANCE, so that a name another
// server is using fails instead of adding instances to its pipe, and with
// WRITE_DAC, which SetSecurityInfo needs for ReadableAll/WritableAll.
func createPipe(name *uint16, first bool, sa *windows.SecurityAttributes) (windows.Handle, error) {
	flags := uint32(windows.PIPE_ACCESS_DUPLEX | windows.FILE_FLAG_OVERLAPPED)
	if first {
		flags |= windows.FILE_FLAG_FIRST_PIPE_INSTANCE | windows.WRITE_DAC
	}
	mode := uint32(windows.PIPE_TYPE_MESSAGE | windows.PIPE_READMODE_MESSAGE | windows.PIPE_WAIT)
	return windows.CreateNamedPipe(name, flags, mode, windows.PIPE_UNLIMITED_INSTANCES,
		pipeBufSize, pipeBufSize, 0, sa)
}

// newEvent creates an unnamed event object.
func newEvent(manualReset bool) (windows.Handle, error) {
	var m uint32
	if manualReset {
		m = 1
	}
	h, err := windows.CreateEvent(nil, m, 0, nil)
	if err != nil {
		return 0, os.NewSyscallError("CreateEvent", err)
	}
	return h, nil
}

// pipeListener accepts connections on a named pipe: each Accept hands out
// the instance a client connected to and creates the next one.
type pipeListener struct {
	path    string
	name    *uint16
	sa      *windows.SecurityAttributes // for later instances; nil: the default
	closed  atomic.Bool
	closeEv windows.Handle // manual-reset, set by Close

	mu   sync.Mutex // held by Accept; Close takes it to wait for Accept
	next windows.Handle
	ev   windows.Handle
	ov   windows.Overlapped
}

// listenPipe creates the first instance of the pipe path.
func listenPipe(path string, readable, writable bool) (*pipeListener, error) {
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	h, err := createPipe(name, true, nil)
	if err != nil {
		// libuv's translation: the first instance of a name that exists
		// is refused with ERROR_ACCESS_DENIED.
		if err == windows.ERROR_ACCESS_DENIED {
			return nil, &AddrInUseError{Path: path, Reason: "is a pipe name another server is using"}
		}
		return nil, os.NewSyscallError("CreateNamedPipe", err)
	}
	l := &pipeListener{path: path, name: name, next: h}
	// FILE_FLAG_FIRST_PIPE_INSTANCE is what refuses a name in use on
	// Windows; Wine 8 ignores it, so the instance count is checked too:
	// another server's instances are counted with ours.
	var instances uint32
	if err := windows.GetNamedPipeHandleState(h, nil, &instances, nil, nil, nil, 0); err == nil && instances > 1 {
		windows.CloseHandle(h)
		return nil, &AddrInUseError{Path: path, Reason: "is a pipe name another server is using"}
	}
	if readable || writable {
		if l.sa, err = grantEveryone(h, readable, writable); err != nil {
			windows.CloseHandle(h)
			return nil, err
		}
	}
	if l.closeEv, err = newEvent(true); err != nil {
		windows.CloseHandle(h)
		return nil, err
	}
	if l.ev, err = newEvent(true); err != nil {
		windows.CloseHandle(h)
		windows.CloseHandle(l.closeEv)
		return nil, err
	}
	return l, nil
}

// grantEveryone adds an ACE that allows Everyone to read and/or write to
// the DACL of the pipe instance h (Node's readableAll/writableAll; the
// default DACL already lets Everyone read, not write). It returns the
// security attributes that give every later instance the same DACL; nil
// when h has no DACL at all, which already allows everyone everything
// (Wine gives pipes none), and which an added ACE would only restrict.
func grantEveryone(h windows.Handle, readable, writable bool) (*windows.SecurityAttributes, error) {
	sd, err := windows.GetSecurityInfo(h, windows.SE_KERNEL_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return nil, os.NewSyscallError("GetSecurityInfo", err)
	}
	dacl, _, err := sd.DACL()
	if err == windows.ERROR_OBJECT_NOT_FOUND {
		return nil, nil
	}
	if err != nil {
		return nil, os.NewSyscallError("GetSecurityDescriptorDacl", err)
	}
	everyone, err := windows.CreateWellKnownSid(windows.WinWorldSid)
	if err != nil {
		return nil, os.NewSyscallError("CreateWellKnownSid", err)
	}
	var access windows.ACCESS_MASK
	if readable {
		access |= windows.FILE_GENERIC_READ
	}
	if writable {
		access |= windows.FILE_GENERIC_WRITE
	}
	acl, err := windows.ACLFromEntries([]windows.EXPLICIT_ACCESS{{
		AccessPermissions: access,
		AccessMode:        windows.GRANT_ACCESS,
		Inheritance:       windows.NO_INHERITANCE,
		Trustee: windows.TRUSTEE{
			TrusteeForm:  windows.TRUSTEE_IS_SID,
			TrusteeType:  windows.TRUSTEE_IS_WELL_KNOWN_GROUP,
			TrusteeValue: windows.TrusteeValueFromSID(everyone),
		},
	}}, dacl)
	if err != nil {
		return nil, os.NewSyscallError("SetEntriesInAcl", err)
	}
	if err := windows.SetSecurityInfo(h, windows.SE_KERNEL_OBJECT, windows.DACL_SECURITY_INFORMATION,
		nil, nil, acl, nil); err != nil {
		return nil, os.NewSyscallError("SetSecurityInfo", err)
	}
	nsd, err := windows.NewSecurityDescriptor()
	if err != nil {
		return nil, os.NewSyscallError("InitializeSecurityDescriptor", err)
	}
	// The descriptor points into acl, Go memory that it keeps alive.
	if err := nsd.SetDACL(acl, true, false); err != nil {
		return nil, os.NewSyscallError("SetSecurityDescriptorDacl", err)
	}
	return &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: nsd}, nil
}

func (l *pipeListener) opErr(err error) error {
	return &net.OpError{Op: "accept", Net: "pipe", Addr: PipeAddr(l.path), Err: err}
}

// Accept waits for a client on the current instance, then creates the next
// instance at once, so that a client arriving before the next Accept finds
// one to connect to (and its Dial completes) instead of ERROR_PIPE_BUSY.
func (l *pipeListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return nil, l.opErr(net.ErrClosed)
	}
	if l.next == 0 {
		h, err := createPipe(l.name, false, l.sa)
		if err != nil {
			return nil, l.opErr(os.NewSyscallError("CreateNamedPipe", err))
		}
		l.next = h
	}
	h := l.next
	l.ov = windows.Overlapped{HEvent: l.ev}
	windows.ResetEvent(l.ev)
	err := windows.ConnectNamedPipe(h, &l.ov)
	switch err {
	case nil, windows.ERROR_PIPE_CONNECTED:
		// The client connected before we asked: fine.
		err = nil
	case windows.ERROR_NO_DATA:
		// The client connected and already closed its end: hand the
		// instance out anyway, its first Read returns io.EOF, as a
		// socket's would.
		err = nil
	case windows.ERROR_IO_PENDING:
		_, err = waitIO(h, &l.ov, l.closeEv, nil)
		if err == windows.ERROR_NO_DATA {
			err = nil
		}
	}
	if err == nil && l.closed.Load() {
		err = net.ErrClosed
	}
	if err != nil {
		// A failed instance cannot be used again: the next Accept makes a
		// new one.
		windows.CloseHandle(h)
		l.next = 0
		if err == net.ErrClosed {
			return nil, l.opErr(err)
		}
		return nil, l.opErr(os.NewSyscallError("ConnectNamedPipe", err))
	}
	l.next = 0
	if nh, err := createPipe(l.name, false, l.sa); err == nil {
		l.next = nh
	}
	c, err := newPipeConn(h, l.path, true)
	if err != nil {
		windows.CloseHandle(h)
		return nil, l.opErr(err)
	}
	return c, nil
}

// Close stops listening: a pending Accept returns net.ErrClosed, and the
// instance waiting for a client is closed. Accepted connections stay.
func (l *pipeListener) Close() error {
	if l.closed.Swap(true) {
		return l.opErr(net.ErrClosed)
	}
	windows.SetEvent(l.closeEv)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next != 0 {
		windows.CloseHandle(l.next)
		l.next = 0
	}
	windows.CloseHandle(l.ev)
	windows.CloseHandle(l.closeEv)
	return nil
}

// Addr returns the pipe's path.
func (l *pipeListener) Addr() net.Addr { return PipeAddr(l.path) }

// dialPipe opens the client end of the pipe path.
func dialPipe(ctx context.Context, path string) (*PipeConn, error) {
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dialBusyWait)
		defer cancel()
	}
	var h windows.Handle
	for {
		// SECURITY_IDENTIFICATION: the server may learn who we are but not
		// act as us (the default would let it impersonate the client).
		h, err = windows.CreateFile(name, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil,
			windows.OPEN_EXISTING,
			windows.FILE_FLAG_OVERLAPPED|windows.SECURITY_SQOS_PRESENT|windows.SECURITY_IDENTIFICATION, 0)
		if err == nil {
			break
		}
		if err != windows.ERROR_PIPE_BUSY {
			return nil, os.NewSyscallError("CreateFile", err)
		}
		// Every instance is taken: poll until the server offers another
		// (x/sys has no WaitNamedPipe, and polling lets ctx end the wait).
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, os.NewSyscallError("CreateFile", err)
			}
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	// A nodenet server's pipe is a message pipe: reading messages is what
	// makes a zero-length message visible as the end of the stream. Another
	// server's byte pipe refuses message reads; it is then read as bytes
	// and cannot be half-closed.
	mode := uint32(windows.PIPE_READMODE_MESSAGE)
	message := windows.SetNamedPipeHandleState(h, &mode, nil, nil) == nil
	c, err := newPipeConn(h, path, message)
	if err != nil {
		windows.CloseHandle(h)
		return nil, err
	}
	return c, nil
}

// PipeConn is a connection over a Windows named pipe, at either end. It is
// a net.Conn with working deadlines, and CloseWrite half-closes it between
// nodenet ends (see the package documentation).
type PipeConn struct {
	h       windows.Handle
	addr    PipeAddr
	message bool // read in message mode: a zero-length message is the peer's CloseWrite

	closed  atomic.Bool
	closeEv windows.Handle // manual-reset, set by Close

	r, w pipeIO
	eof  bool // guarded by r.mu: the peer ended; Read returns io.EOF from now on
	shut bool // guarded by w.mu: CloseWrite was called
}

// pipeIO is one direction of a PipeConn: one operation at a time, with its
// overlapped structure, completion event, buffer and deadline. The
// operations go through buf, which lives on the heap with the PipeConn:
// the kernel writes into it while Go code runs, and a caller's slice on a
// goroutine stack could move under it.
type pipeIO struct {
	mu  sync.Mutex
	ov  windows.Overlapped
	ev  windows.Handle // manual-reset, signalled by the kernel on completion
	buf []byte
	dl  deadline
}

// deadline is a direction's deadline and the event that wakes its
// pending operation when the deadline changes.
type deadline struct {
	mu     sync.Mutex
	t      time.Time
	wake   windows.Handle // auto-reset
	closed bool
}

func (d *deadline) get() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.t
}

func (d *deadline) set(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return net.ErrClosed
	}
	d.t = t
	windows.SetEvent(d.wake)
	return nil
}

func (d *deadline) close() {
	d.mu.Lock()
	d.closed = true
	windows.CloseHandle(d.wake)
	d.mu.Unlock()
}

// newPipeConn wraps a connected pipe handle.
func newPipeConn(h windows.Handle, path string, message bool) (*PipeConn, error) {
	c := &PipeConn{h: h, addr: PipeAddr(path), message: message}
	var hs [5]windows.Handle
	var err error
	for i := range hs {
		if hs[i], err = newEvent(i < 3); err != nil {
			for _, x := range hs[:i] {
				windows.CloseHandle(x)
			}
			return nil, err
		}
	}
	c.closeEv, c.r.ev, c.w.ev, c.r.dl.wake, c.w.dl.wake = hs[0], hs[1], hs[2], hs[3], hs[4]
	c.r.buf = make([]byte, pipeBufSize)
	c.w.buf = make([]byte, pipeBufSize)
	return c, nil
}

func (c *PipeConn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "pipe", Source: c.addr, Addr: c.addr, Err: err}
}

// do starts an overlapped operation with start and waits for it, until it
// completes, the connection is closed or d's deadline passes.
func (c *PipeConn) do(d *pipeIO, start func(*windows.Overlapped) error) (uint32, error) {
	if t := d.dl.get(); !t.IsZero() && !time.Now().Before(t) {
		return 0, os.ErrDeadlineExceeded
	}
	d.ov = windows.Overlapped{HEvent: d.ev}
	windows.ResetEvent(d.ev)
	switch err := start(&d.ov); err {
	case nil, windows.ERROR_MORE_DATA:
		// Completed at once; the overlapped structure holds the count.
		var n uint32
		err := windows.GetOverlappedResult(c.h, &d.ov, &n, false)
		return n, err
	case windows.ERROR_IO_PENDING:
		return waitIO(c.h, &d.ov, c.closeEv, &d.dl)
	default:
		return 0, err
	}
}

// waitIO waits for the overlapped operation ov on h. When closeEv is set
// or dl's deadline passes, it cancels the operation (CancelIoEx) and
// returns net.ErrClosed or os.ErrDeadlineExceeded, unless the operation
// completed before the cancellation took: its result is then returned, so
// no data is lost. A nil dl means no deadline.
func waitIO(h windows.Handle, ov *windows.Overlapped, closeEv windows.Handle, dl *deadline) (uint32, error) {
	handles := []windows.Handle{ov.HEvent, closeEv}
	if dl != nil {
		handles = append(handles, dl.wake)
	}
	for {
		timeout := uint32(windows.INFINITE)
		if dl != nil {
			if t := dl.get(); !t.IsZero() {
				d := time.Until(t)
				if d <= 0 {
					return cancelIO(h, ov, os.ErrDeadlineExceeded)
				}
				// Round up, so that we do not wake just before it.
				ms := (d + time.Millisecond - 1) / time.Millisecond
				if ms >= windows.INFINITE {
					ms = windows.INFINITE - 1
				}
				timeout = uint32(ms)
			}
		}
		r, err := windows.WaitForMultipleObjects(handles, false, timeout)
		if err != nil {
			return cancelIO(h, ov, os.NewSyscallError("WaitForMultipleObjects", err))
		}
		switch r {
		case windows.WAIT_OBJECT_0:
			var n uint32
			err := windows.GetOverlappedResult(h, ov, &n, false)
			return n, err
		case windows.WAIT_OBJECT_0 + 1:
			return cancelIO(h, ov, net.ErrClosed)
		}
		// The deadline changed (wake) or passed (timeout): look again.
	}
}

// cancelIO cancels the overlapped operation ov on h and waits until the
// kernel is done with it (and with its buffer). why is the error to report
// if the cancellation took.
func cancelIO(h windows.Handle, ov *windows.Overlapped, why error) (uint32, error) {
	// ERROR_NOT_FOUND: it completed meanwhile; its result is below.
	windows.CancelIoEx(h, ov)
	var n uint32
	err := windows.GetOverlappedResult(h, ov, &n, true)
	if err == windows.ERROR_OPERATION_ABORTED {
		return n, why
	}
	return n, err
}

// Read reads data from the pipe. It returns io.EOF when the peer has
// called CloseWrite (a zero-length message) or closed its end.
func (c *PipeConn) Read(b []byte) (int, error) {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	if c.closed.Load() {
		return 0, c.opErr("read", net.ErrClosed)
	}
	if c.eof {
		return 0, io.EOF
	}
	if len(b) == 0 {
		return 0, nil
	}
	m := min(len(b), len(c.r.buf))
	n, err := c.do(&c.r, func(ov *windows.Overlapped) error {
		return windows.ReadFile(c.h, c.r.buf[:m], nil, ov)
	})
	copy(b, c.r.buf[:n])
	switch err {
	case nil:
		if n == 0 {
			// A zero-length message: the peer's CloseWrite.
			c.eof = true
			return 0, io.EOF
		}
		return int(n), nil
	case windows.ERROR_MORE_DATA:
		// The rest of the message comes with the next Read.
		return int(n), nil
	case windows.ERROR_BROKEN_PIPE, windows.ERROR_PIPE_NOT_CONNECTED:
		// The peer closed its end.
		c.eof = true
		if n > 0 {
			return int(n), nil
		}
		return 0, io.EOF
	case net.ErrClosed, os.ErrDeadlineExceeded:
		return int(n), c.opErr("read", err)
	}
	return int(n), c.opErr("read", os.NewSyscallError("ReadFile", err))
}

// Write writes b to the pipe, in messages of at most 64 KiB. After
// CloseWrite it fails with ERROR_NO_DATA (Node's EPIPE), as a write after
// shutdown(2) fails on a socket.
func (c *PipeConn) Write(b []byte) (int, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if c.closed.Load() {
		return 0, c.opErr("write", net.ErrClosed)
	}
	if c.shut {
		return 0, c.opErr("write", os.NewSyscallError("WriteFile", windows.ERROR_NO_DATA))
	}
	total := 0
	// A zero-length b writes nothing: a zero-length message would end the
	// stream for the peer.
	for len(b) > 0 {
		m := copy(c.w.buf, b)
		n, err := c.do(&c.w, func(ov *windows.Overlapped) error {
			return windows.WriteFile(c.h, c.w.buf[:m], nil, ov)
		})
		total += int(n)
		b = b[n:]
		if err != nil {
			return total, c.writeErr(err)
		}
		if n == 0 {
			return total, c.opErr("write", io.ErrShortWrite)
		}
	}
	return total, nil
}

func (c *PipeConn) writeErr(err error) error {
	switch err {
	case net.ErrClosed, os.ErrDeadlineExceeded:
		return c.opErr("write", err)
	case windows.ERROR_BROKEN_PIPE:
		// The reader is gone: that is EPIPE for a writer.
		err = windows.ERROR_NO_DATA
	}
	return c.opErr("write", os.NewSyscallError("WriteFile", err))
}

// CloseWrite ends the writing direction: it writes a zero-length message,
// which a nodenet peer's Read returns as io.EOF; reading goes on. On a
// byte-mode pipe (a server other than nodenet) it returns ErrNoHalfClose
// and sends nothing.
func (c *PipeConn) CloseWrite() error {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if c.closed.Load() {
		return c.opErr("close", net.ErrClosed)
	}
	if c.shut {
		return nil
	}
	if !c.message {
		return c.opErr("close", ErrNoHalfClose)
	}
	c.shut = true
	_, err := c.do(&c.w, func(ov *windows.Overlapped) error {
		return windows.WriteFile(c.h, nil, nil, ov)
	})
	if err != nil {
		return c.writeErr(err)
	}
	return nil
}

// Close closes the connection. Pending Read and Write calls return
// net.ErrClosed. Data already written stays readable by the peer.
func (c *PipeConn) Close() error {
	if c.closed.Swap(true) {
		return c.opErr("close", net.ErrClosed)
	}
	windows.SetEvent(c.closeEv)
	// Wait for pending operations to give up, then free everything.
	c.r.mu.Lock()
	c.w.mu.Lock()
	defer c.r.mu.Unlock()
	defer c.w.mu.Unlock()
	err := windows.CloseHandle(c.h)
	c.r.dl.close()
	c.w.dl.close()
	windows.CloseHandle(c.r.ev)
	windows.CloseHandle(c.w.ev)
	windows.CloseHandle(c.closeEv)
	if err != nil {
		return c.opErr("close", os.NewSyscallError("CloseHandle", err))
	}
	return nil
}

// LocalAddr returns the pipe's path.
func (c *PipeConn) LocalAddr() net.Addr { return c.addr }

// RemoteAddr returns the pipe's path.
func (c *PipeConn) RemoteAddr() net.Addr { return c.addr }

// SetDeadline sets the read and write deadlines.
func (c *PipeConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline for Read, including a Read that is
// already waiting.
func (c *PipeConn) SetReadDeadline(t time.Time) error {
	if err := c.r.dl.set(t); err != nil {
		return c.opErr("set", err)
	}
	return nil
}

// SetWriteDeadline sets the deadline for Write and CloseWrite, including
// one that is already waiting.
func (c *PipeConn) SetWriteDeadline(t time.Time) error {
	if err := c.w.dl.set(t); err != nil {
		return c.opErr("set", err)
	}
	return nil
}
