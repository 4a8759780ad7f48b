package netcore

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
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
	// PassFDs hands the child the descriptors that come with the
	// connection's first bytes (Node v0.4's 'fd' event; the peer's
	// WriteFDs over a Unix socket), as systemd's socket activation hands
	// its sockets: as fds 3, 4, ..., with LISTEN_FDS set to their number
	// and LISTEN_PID to the child's process id (which a shell sets before
	// it execs the command, since the id is known only in the child), so
	// that sd_listen_fds(3) accepts them. The child then starts at the
	// first bytes (or the peer's end), not at the connection: a command
	// that speaks first waits for the client. Descriptors that come later
	// cannot join a running child: TakeFD declines them, and the Socket
	// closes them. The socket's SocketHooks.OnFD must offer each
	// descriptor to TakeFD. Unix only.
	PassFDs bool
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
	waiting  map[*Socket]*[]int // PassFDs: descriptors for a child not yet started
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
	return &Exec{opts: opts, path: path, children: map[*Socket]*execChild{}, waiting: map[*Socket]*[]int{}}, nil
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
	var first []byte
	var files []*os.File
	if e.opts.PassFDs {
		var err error
		if first, files, err = e.firstBytes(s); err != nil {
			s.Destroy(err)
			return ExitStatus{ExitCode: -1}, err
		}
	}
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
	if len(files) > 0 {
		cmd = listenFDsCommand(cmd, files)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = theirs.in, theirs.out, e.opts.Stderr
	cmd.SysProcAttr = childSysProcAttr()
	err = cmd.Start()
	theirs.close()
	for _, f := range files {
		f.Close() // the child has its own now
	}
	if err == nil && len(first) > 0 {
		// The bytes read to learn the descriptors go first. They fit in
		// the pair's buffer (firstBytes reads at most 8 KiB), so this
		// does not wait on the child.
		if _, werr := ours.in.Write(first); werr != nil {
			ours.in.Close() // the child is gone or closed its stdin
		}
	}
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

// firstBytes is PassFDs' wait: it reads the connection's first bytes
// (at most 8 KiB), during which OnFD offers the descriptors that came
// with them to TakeFD, and returns both. The peer's end before any byte
// is no failure: the child starts with an empty stdin.
func (e *Exec) firstBytes(s *Socket) ([]byte, []*os.File, error) {
	var fds []int
	e.mu.Lock()
	e.waiting[s] = &fds
	e.mu.Unlock()
	buf := make([]byte, 8<<10)
	n, err := s.Read(buf)
	e.mu.Lock()
	delete(e.waiting, s)
	e.mu.Unlock()
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), "fd "+strconv.Itoa(fd))
	}
	if err != nil && err != io.EOF {
		for _, f := range files {
			f.Close()
		}
		return nil, nil, err
	}
	return buf[:n], files, nil
}

// TakeFD takes fd, received on s, for s's child when the child has not
// started yet (PassFDs): it becomes the child's next descriptor from 3 on,
// which TakeFD returns. Otherwise it returns 0 and false, and fd stays the
// caller's. It is meant for SocketHooks.OnFD.
func (e *Exec) TakeFD(s *Socket, fd int) (childFD int, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := e.waiting[s]
	if w == nil {
		return 0, false
	}
	*w = append(*w, fd)
	return 2 + len(*w), true
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

// listenFDsCommand runs cmd with files as its descriptors 3, 4, ... and
// systemd's variables: LISTEN_FDS, their number, and LISTEN_PID, the
// child's own process id, which only the child knows; so a shell sets it
// and execs the command in its place (the id stays the same). Any
// LISTEN_* inherited from our environment is replaced.
func listenFDsCommand(cmd *exec.Cmd, files []*os.File) *exec.Cmd {
	const script = `LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"`
	w := exec.Command("/bin/sh", append([]string{"-c", script, cmd.Path}, cmd.Args[1:]...)...)
	w.Dir = cmd.Dir
	for _, kv := range cmd.Env {
		if !strings.HasPrefix(kv, "LISTEN_PID=") && !strings.HasPrefix(kv, "LISTEN_FDS=") && !strings.HasPrefix(kv, "LISTEN_FDNAMES=") {
			w.Env = append(w.Env, kv)
		}
	}
	w.Env = append(w.Env, "LISTEN_FDS="+strconv.Itoa(len(files)))
	w.ExtraFiles = files
	return w
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

// PassesFDs reports ExecOptions.PassFDs.
func (e *Exec) PassesFDs() bool { return e.opts.PassFDs }
