// Package cmd is nodenet's command line: one cobra command per subcommand,
// each an XOptions struct filled from flags by NewCmdX and run by xRun
// against injected IO streams. Main prints errors and maps them to exit
// statuses in one place (errors.go).
package cmd

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at link time (-ldflags "-X github.com/nodenet/nodenet/cmd.version=v1.2.3");
// otherwise it comes from the module's build information.
var version = ""

// Main runs nodenet with the process's arguments and streams and returns
// the exit status.
func Main() int {
	return Run(os.Args[1:], System(), os.Environ())
}

// Run runs nodenet with the given arguments, streams and environment, prints
// any error once as "nodenet: <message>" and returns the exit status.
func Run(args []string, ios *IOStreams, environ []string) int {
	f := NewFactory(ios)
	f.Getenv = envLookup(environ)
	return execute(NewCmdRoot(f, environ), ios, args)
}

// execute runs root with args and is the one place that prints an error.
func execute(root *cobra.Command, ios *IOStreams, args []string) int {
	root.SetArgs(args)
	err := root.Execute()
	var ee *ExitError
	if err != nil && !(errors.As(err, &ee) && ee.Err == nil) {
		fmt.Fprintf(ios.ErrOut, "nodenet: %s\n", strings.TrimRight(err.Error(), "\n"))
	}
	return exitCode(err)
}

// envLookup is os.Getenv over a given environment.
func envLookup(environ []string) func(string) string {
	return func(key string) string {
		for i := len(environ) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
				return v
			}
		}
		return ""
	}
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *Factory, environ []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "nodenet <command>",
		Short: "Node.js's net module on the command line",
		Long: `nodenet puts Node.js's net module on the command line: a netcat with
Node's semantics for TCP, Unix domain sockets and named pipes, the docs'
echo server, net.isIP and net.BlockList.

Where the Node docs say "test it with telnet localhost 8124" or
"nc -U /tmp/echo.sock", run "nodenet connect 8124" or
"nodenet connect -U /tmp/echo.sock".`,
		Version:       buildVersion(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(f.IO.ErrOut)
			cmd.Usage() //nolint:errcheck // stderr
			return &ExitError{Code: exitUsage}
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(f.ConfigFile, f.Getenv, environ)
			if err != nil {
				return err
			}
			f.config = cfg
			if err := cfg.apply(cmd); err != nil {
				return err
			}
			switch f.Events {
			case "", "text", "json":
			default:
				return usageErrorf("invalid argument %q for --events: want text or json", f.Events)
			}
			return nil
		},
	}
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetVersionTemplate("nodenet {{.Version}}\n")
	root.CompletionOptions.DisableDefaultCmd = true

	pf := root.PersistentFlags()
	pf.CountVarP(&f.Verbose, "verbose", "v", "print events on stderr (-vv: data events too)")
	pf.BoolVarP(&f.Quiet, "quiet", "q", false, "print no notices and no answers")
	pf.StringVar(&f.Events, "events", "", "print events on stderr as `text` or json (implies -v)")
	pf.BoolVar(&f.NoColor, "no-color", false, "never colour stderr (also NO_COLOR)")
	pf.StringVar(&f.ConfigFile, "config", "", "config `file` (default $XDG_CONFIG_HOME/nodenet/config.yaml)")
	pf.StringVar(&f.ReadyFile, "ready-file", "", "write the bound address to `file` once listening (for tests)")
	pf.MarkHidden("ready-file")                                                                                                     //nolint:errcheck // the flag exists
	root.RegisterFlagCompletionFunc("events", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp)) //nolint:errcheck // the flag exists

	root.AddCommand(
		NewCmdConnect(f, nil),
		NewCmdListen(f, nil),
		NewCmdEcho(f, nil),
		NewCmdIsip(f, nil),
		NewCmdBlock(f),
		NewCmdCompletion(f),
	)
	markRunStarted(root)
	return root
}

// markRunStarted wraps every RunE so that an error cobra returns before
// any RunE started (an unknown flag or command, a bad argument count, a
// required flag or a flag group, all returned unwrapped) is a usage error.
func markRunStarted(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			err := run(cmd, args)
			if err == nil {
				return nil
			}
			return &ranError{err}
		}
	}
	for _, sub := range c.Commands() {
		markRunStarted(sub)
	}
}

// ranError marks an error returned by a command's RunE.
type ranError struct{ err error }

func (e *ranError) Error() string { return e.err.Error() }
func (e *ranError) Unwrap() error { return e.err }

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
