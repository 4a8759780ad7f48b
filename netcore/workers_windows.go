package netcore

import "net"

const processWorkersSupported = false

var errNoProcessWorkers = codeError("ERR_FEATURE_UNAVAILABLE_ON_PLATFORM", "Process workers need descriptors passed over Unix sockets, which Windows does not have")

// procWorkers does not exist on Windows.
type procWorkers struct{}

func (s *Server) startProcesses() error             { return errNoProcessWorkers }
func (p *procWorkers) handOff(c net.Conn)           { c.Close() }
func (p *procWorkers) close()                       {}
func (p *procWorkers) destroy()                     {}
func (p *procWorkers) bytes() (read, written int64) { return 0, 0 }
func (p *procWorkers) exited() <-chan struct{}      { return nil }

// workerListener does not exist on Windows.
type workerListener struct{ net.Listener }

func (l *workerListener) take(net.Conn) uint64 { return 0 }
func (l *workerListener) ended(uint64)         {}
func (l *workerListener) attach(*Server)       {}

func (l *workerListener) acceptFD() (int, uint64, error) { return -1, 0, net.ErrClosed }

// WorkerListener returns nil: a process on Windows is never a worker.
func WorkerListener() (net.Listener, error) { return nil, nil }
