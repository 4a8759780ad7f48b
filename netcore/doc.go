// Package netcore is Node.js's net module in Go: net.Server (Server),
// net.Socket (Socket, Connect), their events as optional hooks, and Node's
// error codes and wording (Error), for TCP and for IPC endpoints (Unix
// sockets, Linux abstract names, Windows named pipes, inherited sockets;
// see package ipc).
//
// # Servers
//
// One Server type serves every handler. It owns the policy that Node's
// server applies to each connection, in Node's order: a closing server
// takes nothing, maxConnections drops (OnDrop), the block list closes
// (OnBlocked), then TLS, the idle timeout and the handler. Admitting a
// connection and counting it are one atomic step, so limits hold across
// accept loops. The engine is chosen inside: a goroutine and a Socket per
// connection for any handler (NewServer), or, for the docs' echo handler
// (NewEchoServer) on Linux, a few event loops in which a connection costs a
// descriptor and a slot in a table: io_uring loops where the kernel offers
// io_uring, else epoll loops. The events and the counters (Stats) are the
// same on every engine.
//
// Accept loops (ListenOptions.Workers) share one listening socket, so a
// port in use is EADDRINUSE whoever holds it; only ReusePort gives each
// loop a socket of its own.
//
// Worker processes (ServerOptions.Processes, Node's cluster) keep the
// policy in one place too: the Server listens, accepts and admits in
// its own process and hands each admitted connection to the next worker,
// round-robin, over a Unix socketpair (SCM_RIGHTS); each worker serves
// WorkerListener with the same handler, on the same engines (the echo
// handler's event loops take the handed-over descriptors as they are),
// and tells the Server when a connection ends. A worker that dies loses only its own connections and
// is started again.
//
// # Sockets and the relay
//
// A Socket has Node's vocabulary: End half-closes, Destroy closes,
// ResetAndDestroy sends RST, SetTimeout arms the idle timer. Relay copies
// between a Socket and a reader and writer (stdin and stdout) in both
// directions, half-closing on EOF and waiting for both, and hands the bare
// connection and files to io.Copy so that the kernel moves the bytes
// (splice, sendfile) when nothing needs to see them.
//
// # Hooks
//
// Events are nil-able function fields (ServerHooks, SocketHooks), called
// synchronously; an unset hook costs nothing.
package netcore
