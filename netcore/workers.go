package netcore

import (
	"encoding/binary"
	"os/exec"
)

// Process workers: a Server whose ServerOptions.Processes is set serves
// its connections in worker processes, as Node's cluster does by default
// on Linux (SCHED_RR): the master listens, accepts, applies the server's
// policy (MaxConnections across every worker, the BlockList, closing) and
// hands each admitted connection to the next worker, round-robin, over a
// Unix socketpair that the worker inherited. A worker serves what it is
// handed with the same handler and hooks, and tells the master when each
// connection ends, so the master's count of open connections and its
// counters hold for the whole set. A worker that dies loses only its own
// connections; the master starts it again.
//
// The socketpair carries fixed-size records of workerRecordSize bytes, so
// a reader that got part of one waits for the rest:
//
//	byte 0      kind: 'C' (master to worker: a connection, its descriptor
//	            attached to the record's first byte), 'E' (worker to
//	            master: connection id ended), 'T' (worker to master: its
//	            totals, with no connection), 'R' (worker to master: it
//	            is serving, and handles its signals: until then the
//	            master holds back the signals it would send it)
//	bytes 1-8   the connection's id (big-endian); 0 for 'T'
//	bytes 9-16  'E', 'T': the worker's bytes read so far
//	bytes 17-24 'E', 'T': the worker's bytes written so far
//
// The master numbers the connections, so the ids of connection events are
// unique across the workers.

// WorkerEnv is the environment variable that marks a worker process: its
// value is the number of the descriptor it inherited its socketpair as.
// WorkerListener reads it.
const WorkerEnv = "NODENET_WORKER"

// ProcessOptions ask a Server to serve its connections in worker
// processes.
type ProcessOptions struct {
	// Workers is the number of worker processes; 0 or less means one.
	Workers int
	// Command returns the command that runs one worker: a program that
	// serves WorkerListener with the same handler and options. The Server
	// adds the socketpair (ExtraFiles) and WorkerEnv, and starts it in a
	// process group of its own (a terminal's ^C reaches the master, which
	// passes it on); on Linux the worker is killed when the master dies.
	Command func() *exec.Cmd
	// OnWorker, when set, reports the workers' lives (cluster's 'online'
	// and 'exit'). It runs on the goroutine that watches that worker.
	OnWorker func(WorkerEvent)
}

// The states of a WorkerEvent.
const (
	WorkerStarted   = "started"   // first start
	WorkerExited    = "exited"    // the process ended; Status says how
	WorkerRestarted = "restarted" // started again after it exited
)

// WorkerEvent is one change in a worker process's life.
type WorkerEvent struct {
	// Worker is the worker's number, 1 to Workers; a restarted worker
	// keeps its number.
	Worker int
	Pid    int
	State  string
	// Status, when State is WorkerExited, is how the process ended: its
	// exit code, or the signal that killed it (Node's exitCode and
	// signalCode).
	Status ExitStatus
	// Closing is true when the worker exited because the server is
	// closing: it is not started again.
	Closing bool
}

// ProcessWorkersSupported tells whether this system can hand connections
// to worker processes (Unix: descriptors over Unix sockets).
const ProcessWorkersSupported = processWorkersSupported

// workerRecordSize is the size of every record on a worker's socketpair.
const workerRecordSize = 25

// The kinds of record.
const (
	recConn   = 'C'
	recEnded  = 'E'
	recTotals = 'T'
	recReady  = 'R'
)

// workerRecord is one record on a worker's socketpair.
type workerRecord struct {
	kind          byte
	id            uint64
	read, written int64
}

func (r workerRecord) encode() []byte {
	b := make([]byte, workerRecordSize)
	b[0] = r.kind
	binary.BigEndian.PutUint64(b[1:], r.id)
	binary.BigEndian.PutUint64(b[9:], uint64(r.read))
	binary.BigEndian.PutUint64(b[17:], uint64(r.written))
	return b
}

func decodeWorkerRecord(b []byte) workerRecord {
	return workerRecord{
		kind:    b[0],
		id:      binary.BigEndian.Uint64(b[1:]),
		read:    int64(binary.BigEndian.Uint64(b[9:])),
		written: int64(binary.BigEndian.Uint64(b[17:])),
	}
}
