package cmd

import (
	"net"
	"os"
	"os/exec"
	"runtime"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nodenet/nodenet/netcore"
)

// --processes: echo and listen -k --exec serve in worker processes of
// nodenet itself, as Node's cluster does. The master runs the command as
// typed; each worker runs the same command line again, marked by
// netcore.WorkerEnv, and serves what the master hands it with the same
// flags. Workers print their connections' events on the shared stderr
// (one write per line); the master prints listening, drop, blocked,
// worker and stats.

// addProcessesFlag registers --processes.
func addProcessesFlag(fl *pflag.FlagSet, p *bool) {
	fl.BoolVar(p, "processes", false, "serve in --workers worker processes (default: one per CPU); the master accepts and hands connections round-robin")
}

// checkProcesses checks --processes and, when --workers was not given,
// makes the workers one per CPU.
func checkProcesses(cmd *cobra.Command, processes bool, workers *int, sf *ServerFlags) error {
	if !processes {
		return nil
	}
	if !netcore.ProcessWorkersSupported {
		return usageErrorf("--processes: worker processes receive their connections as descriptors over Unix sockets, which this system does not have")
	}
	if sf.TLS.On && sf.TLS.Cert == "" {
		return usageErrorf("--processes with --tls needs --cert and --key: each worker would make a self-signed certificate of its own")
	}
	if !cmd.Flags().Changed("workers") {
		*workers = runtime.NumCPU()
	}
	return nil
}

// workerListener is, in a worker process, the connections its master
// hands it; nil in any other process.
func workerListener(processes bool) (net.Listener, error) {
	if !processes {
		return nil, nil
	}
	return netcore.WorkerListener()
}

// processRole sets so up for this process's part under --processes: in a
// worker, the listener its master hands connections through (returned;
// the server's close event is the master's); in the master, the worker
// processes. Without --processes it does nothing and returns nil.
func processRole(f *Factory, l *EventLog, processes bool, workers int, so *netcore.ServerOptions) (net.Listener, error) {
	wl, err := workerListener(processes)
	if err != nil {
		return nil, err
	}
	if wl != nil {
		so.Hooks.OnClose = nil // the master's
	} else if processes {
		if so.Processes, err = processOptions(f, l, workers); err != nil {
			return nil, err
		}
	}
	return wl, nil
}

// processOptions are the master's: workers runs of this program with the
// same arguments, their events through the event log.
func processOptions(f *Factory, l *EventLog, workers int) (*netcore.ProcessOptions, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := append([]string(nil), os.Args...)
	return &netcore.ProcessOptions{
		Workers: workers,
		Command: func() *exec.Cmd {
			c := exec.Command(exe)
			c.Args = args
			c.Stdout = os.Stdout
			c.Stderr = f.IO.ErrOut
			return c
		},
		OnWorker: workerEvents(f, l),
	}, nil
}
