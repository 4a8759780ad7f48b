// Package ipc is nodenet's inter-process transport: Unix domain sockets
// (socket files and Linux abstract names), Windows named pipes, and
// listening sockets inherited from a parent or from systemd. It gives
// netcore what Node's server.listen(path), net.connect(path) and
// server.listen({fd}) need, and nothing of Node's events or wording:
// netcore names the errors and emits the events.
//
// # Paths
//
// One string names every endpoint, as in Node:
//
//	/tmp/echo.sock, ./echo.sock   a socket file
//	@echo                          a Linux abstract socket (Node writes '\0echo'; both forms are taken)
//	./@echo                        a socket file named @echo
//	\\.\pipe\echo, \\?\pipe\echo  a Windows named pipe
//
// Display gives the form to show (an abstract name as @name); IsAbstract
// and IsPipe classify a path. Abstract names exist only on Linux; on
// Windows every IPC path must be a pipe, as in Node; elsewhere a pipe path
// is an ordinary file name, as it is for Node.
//
// # Listening
//
// ListenConfig.Listen returns a *Listener, a net.Listener whose Accept
// returns *net.UnixConn or, on Windows, *PipeConn. The socket is created by
// hand (socket, bind, chmod, listen) rather than through net.Listen, for
// three reasons: the backlog is Node's 511 (Go's net uses somaxconn, 4096
// on current Linux) or ListenConfig.Backlog; the mode is set between bind
// and listen, before any client can connect; and an existing path is
// handled as follows, which net.Listen cannot do.
//
// An existing path is looked at with lstat(2) after bind fails with
// EADDRINUSE:
//   - a socket file that refuses a connection (ECONNREFUSED) is stale, left
//     by a process that died: it is removed, OnStaleRemoved is called with
//     its path (nodenet prints a notice) and the path is bound again;
//   - a socket something accepts on is live: Listen fails with EADDRINUSE
//     and the server keeps working (it sees one connection that closes at
//     once without data: the probe);
//   - anything else (regular file, directory, symbolic link, even to a
//     socket, FIFO, device) is never touched: EADDRINUSE.
//
// These errors carry an *AddrInUseError that says which case it was.
// Node fails with EADDRINUSE on every existing path, stale or not, and
// caddy removes whatever is there; nodenet does neither. The races that
// remain (another process working on the same path at the same instant)
// are listed at removeStale.
//
// A path longer than sun_path allows (107 bytes on Linux, 103 on macOS and
// the BSDs; 107 bytes for an abstract name; 256 characters for a pipe
// name), or containing a NUL byte, fails before anything is created, with
// an error that wraps EINVAL (Node v26's "listen EINVAL: invalid argument
// PATH") and, for the length, a *PathTooLongError matching ErrPathTooLong
// whose text names the limit. Node v20 and ncat silently truncate the path
// and bind another one; nodenet never does. Linux would take a 108-byte
// path without its terminating NUL, and Node v26 lets it through, but such
// a socket cannot be reached by Go's net package (nodenet connect) or by
// any program that terminates the path, so the limit stays at 107.
//
// ReadableAll and WritableAll add read and write permission for everyone
// to the socket file's mode after bind: 0666 with both under umask 022,
// 0644 with ReadableAll alone. The execute bits, which mean nothing on a
// socket (connect(2) checks write permission only), are dropped when bits
// are added; the owner's bits are kept. Node v26 instead replaces the mode
// (readableAll alone gives 0444, locking the owner out); Node v20 adds the
// bits and keeps the execute bits (0777). Abstract sockets have no file
// and no mode; on Windows the flags add an Everyone ACE to the pipe's DACL.
//
// Closing a Listener unlinks the socket file it created, but only while
// the path still names that very socket (same device and inode, checked
// while the socket still holds the inode, so no other file can share the
// number): a file someone else put there is never removed. Unlink removes
// the file at once and keeps the socket open, for a SIGINT/SIGTERM handler
// that must not leave the file behind; Close after it is harmless.
// SetUnlinkOnClose(false) keeps the file.
//
// # Connecting
//
// Dial returns a *net.UnixConn or, on Windows, a *PipeConn. On Linux,
// io.Copy(conn, file) with the bare *net.UnixConn and an *os.File uses
// sendfile(2): Go 1.26's (*os.File).WriteTo (os/zero_copy_linux.go) hands
// any "unix" or "tcp" stream socket to poll.SendFile, so nodenet does not
// call sendfile itself. (Go's splice path, net/splice_linux.go, is for TCP
// only, and *net.UnixConn has no io.ReaderFrom; but copying from the socket
// to an *os.File splices, through (*os.File).ReadFrom.) A wrapper type
// that embeds *net.UnixConn keeps this; one that hides SyscallConn does
// not.
//
// # Inherited listeners
//
// FileListener(fd) serves a listening socket inherited as descriptor fd
// (Node's listen({fd})): a TCP or Unix stream socket on which listen(2)
// was called, checked with SO_TYPE and SO_ACCEPTCONN; it returns a
// *net.TCPListener or *net.UnixListener and takes ownership of fd. Errors
// are *FDError sentences: "fd 3 is not open", "fd 3 is not a socket",
// "fd 3 is not a listening socket". SystemdListeners implements systemd's
// socket activation (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, descriptors
// from 3) and, like sd_listen_fds(1), unsets the variables; `--fd systemd`
// takes the first listener.
//
// # Windows named pipes
//
// Listen creates the pipe's first instance with FILE_FLAG_FIRST_PIPE_INSTANCE
// (a name in use fails with EADDRINUSE, as libuv reports it) and every
// Accept hands out the connected instance after creating the next, so
// several clients are served. Handles are overlapped and each operation
// waits on an event together with Close's and the deadline's events, so
// Close interrupts a pending Accept, Read or Write (CancelIoEx), and
// SetDeadline works; no I/O completion port is involved. The tests run
// under Wine (see .ci/wine-setup.sh).
//
// Named pipes have no half-close. nodenet gives them one between its own
// ends: its pipes are message pipes, read in message mode at both ends;
// PipeConn.CloseWrite writes a zero-length message and PipeConn.Read
// returns io.EOF when it reads one (or when the peer has closed). Data is
// otherwise a plain byte stream: a Read may return part of a message or
// the end of one, and Write never writes a zero-length message. What other
// peers see:
//   - a client of a nodenet server that reads in byte mode (libuv, .NET's
//     default) receives the data byte-exact; the zero-length message of
//     CloseWrite is either invisible to it or a zero-length read, which
//     .NET reports as the end of the stream (no such peer runs under Wine
//     here, so this is from the documentation, not a test); it always
//     sees the end when nodenet closes the connection;
//   - a nodenet client of another server's byte-mode pipe reads bytes and
//     cannot half-close: CloseWrite returns ErrNoHalfClose and sends
//     nothing (libuv's shutdown of a Windows pipe only flushes, so Node's
//     end() signals nothing either); the peer sees the end when the
//     connection is closed;
//   - when a byte-mode peer writes zero bytes, nodenet reads that as the
//     end of the stream.
//
// # For netcore
//
// Listen and Dial errors are *net.OpError (Op "listen" or "dial") wrapping
// an *os.SyscallError or one of this package's error types, all with a
// syscall.Errno underneath (errors.As): netcore names it in Node's words
// with the path as Display shows it, e.g. "connect ENOENT /tmp/x.sock",
// "listen EADDRINUSE: address already in use /tmp/x.sock", "listen EINVAL:
// invalid argument PATH" followed by the PathTooLongError's sentence (a
// usage error: exit 2). The `listening` event's path is Listener.Path();
// an accepted connection's path is its LocalAddr().String() (the remote
// address of a Unix socket connection is usually empty, as Node's
// remoteAddress is undefined). ipc never prints: the one notice, a stale
// socket removed, goes through ListenConfig.OnStaleRemoved.
package ipc
