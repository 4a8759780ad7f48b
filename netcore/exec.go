package netcore

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
)

// ExecOptions say what Exec runs for each connection (ncat's --exec and
// --sh-exec).
type ExecOptions struct {
	// Argv is the command and its arguments, run without a shell. A name
	// without a slash is looked up in PATH once, by NewExec.
	Argv []string
	// Env is the child's environment, to which Exec adds the connection's
	// NODENET_* variables; nil means this process's environment.
	Env []string
	// Dir is the child's working directory; "" means this process's.
	Dir string
	// Stderr is the child's stderr. An *os.File is handed to the child as
	// it is; nil sends it to the null device.
	Stderr io.Writer
	// OnExit is called when a child has exited and its status is known.
	// closed reports whether its connection had already closed (the peer
	// reset it, an idle timeout, Destroy): the child then outlived it, and
	// Status had nothing to give during the connection's OnClose. It runs
	// on the child's goroutine and must not block.
	OnExit func(s *Socket, status ExitStatus, closed bool)
}

// ExitStatus is how a child ended, in the terms of Node's ChildProcess:
// ExitCode is its exit status, or -1 when a signal ended it, and then
// Signal names the signal ("SIGTERM").
type ExitStatus struct {
	ExitCode int
	Signal   string
}

// Code is the status a shell reports for the child: ExitCode, or 128
// plus the signal's number.
func (st ExitStatus) Code() int {
	if st.Signal == "" {
		return st.ExitCode
	}
	if n, ok := signalNumber(st.Signal); ok {
		return 128 + n
	}
	return 128
}

// Exec runs a command per connection with its stdin and stdout on the
// connection: the handler of `nodenet listen --exec`, and the client
// side of `nodenet connect --exec`.
//
// The child's stdin and stdout are each one end of a socket pair (a pipe
// where the system has no socket pairs), and Relay moves the bytes
// between them and the connection, so that on Linux the kernel splices
// them both ways without copying them through nodenet, and the
// connection's events, byte counts and idle timer work as for any relay.
// Half-closes pass through both ways: the child's stdout reaching its
// end (the child closed it or exited) ends our side of the connection
// (FIN), and the peer's end closes the child's stdin. The child's exit,
// once its output is all sent, ends the connection.
//
// When the connection closes before the child has exited (the peer reset
// it, an idle timeout, Destroy), the child's stdin and stdout are closed
// and it is sent SIGHUP, as a terminal hang-up would; on Unix each child
// is the leader of its own process group, which receives the signal, so
// that the terminal's Ctrl-C reaches nodenet alone, which then lets the
// connections end. Every child is waited for: none is left a zombie.
type Exec struct {
	opts ExecOptions
	path string

	mu       sync.Mutex
	children map[*Socket]*execChild
	running  sync.WaitGroup
}

// execChild is one running child and what is known of it.
type execChild struct {
	proc      *os.Process
	exited    bool
	status    ExitStatus
	closeSeen bool // Status was asked during the connection's OnClose
}

// NewExec checks opts and finds the command, so that a command that does
// not exist is reported before any connection: as Node's spawn reports it
// ("spawn nosuch ENOENT", code ENOENT), marked as a usage error.
func NewExec(opts ExecOptions) (*Exec, error) {
	if len(opts.Argv) == 0 || opts.Argv[0] == "" {
		return nil, &Error{Code: "ERR_INVALID_ARG_VALUE", Message: "The argument 'file' cannot be empty. Received ''", Usage: true}
	}
	path, err := exec.LookPath(opts.Argv[0])
	if err != nil {
		return nil, spawnError(opts.Argv[0], err, true)
	}
	return &Exec{opts: opts, path: path, children: map[*Socket]*execChild{}}, nil
}

// spawnError names a failure to start a child as Node does: "spawn CMD
// ENOENT", with syscall "spawn CMD" and path CMD.
func spawnError(name string, err error, usage bool) *Error {
	code := "UNKNOWN"
	if errno, ok := Errno(err); ok {
		code, _ = errnoCode(errno)
	}
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		code = "ENOENT"
	case errors.Is(err, fs.ErrPermission):
		code = "EACCES"
	}
	return &Error{Code: code, Syscall: "spawn " + name, Address: name, Message: "spawn " + name + " " + code, Err: err, Usage: usage}
}

// Serve runs the command for s and relays until the child has exited and
// the connection is over; s is destroyed when it returns. It returns the
// child's status and the relay's error, named as Relay names it; a child
// that could not be started destroys s with Node's spawn error.
func (e *Exec) Serve(s *Socket) (ExitStatus, error) {
	e.running.Add(1)
	defer e.running.Done()
	ours, theirs, err := childStreams()
	if err != nil {
		err = spawnError(e.opts.Argv[0], err, false)
		s.Destroy(err)
		return ExitStatus{ExitCode: -1}, err
	}
	cmd := exec.Command(e.path, e.opts.Argv[1:]...)
	cmd.Args[0] = e.opts.Argv[0]
	cmd.Dir = e.opts.Dir
	cmd.Env = append(e.environ(), connectionEnv(s)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = theirs.in, theirs.out, e.opts.Stderr
	cmd.SysProcAttr = childSysProcAttr()
	err = cmd.Start()
	theirs.close()
	if err != nil {
		ours.close()
		err = spawnError(e.opts.Argv[0], err, false)
		s.Destroy(err)
		return ExitStatus{ExitCode: -1}, err
	}
	child := &execChild{proc: cmd.Process}
	e.mu.Lock()
	e.children[s] = child
	e.mu.Unlock()

	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		st := exitStatus(cmd.ProcessState, err)
		e.mu.Lock()
		child.exited, child.status = true, st
		closed := child.closeSeen
		if !closed {
			select {
			case <-s.Closed():
				closed = true // closed without asking Status
			default:
			}
		}
		e.mu.Unlock()
		if e.opts.OnExit != nil {
			e.opts.OnExit(s, st, closed)
		}
		close(exited)
	}()

	relayErr := Relay(s, ours.out, ours.in, RelayOptions{EndOut: true, Stop: exited})
	ours.close()
	if relayErr != nil {
		// The connection failed or was destroyed with the child running:
		// hang up on it. After a normal end (both sides ended), its stdin
		// and stdout are closed and it is left to finish.
		e.mu.Lock()
		if !child.exited {
			hangUp(child.proc)
		}
		e.mu.Unlock()
	}
	<-exited
	e.mu.Lock()
	delete(e.children, s)
	st := child.status
	e.mu.Unlock()
	return st, relayErr
}

// Status is the exit status of s's child, once it has exited; it is meant
// for the connection's OnClose, which comes after the exit when the child
// ended the connection. After that, the status comes through
// ExecOptions.OnExit with closed set.
func (e *Exec) Status(s *Socket) (ExitStatus, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.children[s]
	if !ok {
		return ExitStatus{}, false
	}
	c.closeSeen = true
	return c.status, c.exited
}

// Kill sends SIGKILL to every child still running (on Unix, to its
// process group): for a second interrupt, when waiting is no longer
// wanted.
func (e *Exec) Kill() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.children {
		if !c.exited {
			killGroup(c.proc)
		}
	}
}

// Wait waits until every connection Serve was given is over and its child
// reaped.
func (e *Exec) Wait() { e.running.Wait() }

// environ is the child's environment before the connection's variables.
func (e *Exec) environ() []string {
	if e.opts.Env != nil {
		return append([]string(nil), e.opts.Env...)
	}
	return os.Environ()
}

// connectionEnv is what the child learns of its connection:
// NODENET_REMOTE_ADDRESS, NODENET_REMOTE_PORT, NODENET_LOCAL_ADDRESS and
// NODENET_LOCAL_PORT over TCP, NODENET_PATH over IPC. They come last, so
// that they replace any inherited ones.
func connectionEnv(s *Socket) []string {
	remote, local := s.RemoteAddr(), s.LocalAddr()
	if remote.Address == "" && local.Address == "" {
		path := local.Path
		if path == "" {
			path = remote.Path
		}
		return []string{"NODENET_PATH=" + path}
	}
	return []string{
		"NODENET_REMOTE_ADDRESS=" + remote.Address,
		"NODENET_REMOTE_PORT=" + strconv.Itoa(remote.Port),
		"NODENET_LOCAL_ADDRESS=" + local.Address,
		"NODENET_LOCAL_PORT=" + strconv.Itoa(local.Port),
	}
}

// exitStatus reads how the child ended.
func exitStatus(ps *os.ProcessState, err error) ExitStatus {
	if ps == nil {
		return ExitStatus{ExitCode: -1}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ExitStatus{ExitCode: -1, Signal: signalName(ws.Signal())}
	}
	return ExitStatus{ExitCode: ps.ExitCode()}
}

// streamPair is the two streams of a child: in is its stdin, out its
// stdout, seen from one side.
type streamPair struct {
	in, out io.ReadWriteCloser
}

func (p streamPair) close() {
	if p.in != nil {
		p.in.Close()
	}
	if p.out != nil {
		p.out.Close()
	}
}
