// Package cmd is nodenet's command line: one cobra command per subcommand,
// each an XOptions struct filled from flags by NewCmdX and run by xRun
// against injected IO streams. Main prints errors and maps them to exit
// statuses in one place (errors.go).
package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
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
	return execute(newRoot(f, environ, commandIn(args)), ios, args)
}

// commands are nodenet's commands and how each is built.
var commands = []struct {
	name string
	new  func(*Factory) *cobra.Command
}{
	{"connect", func(f *Factory) *cobra.Command { return NewCmdConnect(f, nil) }},
	{"listen", func(f *Factory) *cobra.Command { return NewCmdListen(f, nil) }},
	{"echo", func(f *Factory) *cobra.Command { return NewCmdEcho(f, nil) }},
	{"isip", func(f *Factory) *cobra.Command { return NewCmdIsip(f, nil) }},
	{"block", NewCmdBlock},
	{"completion", NewCmdCompletion},
}

// commandIn is the command that args run, when it is one of commands
// that works alone: any but completion, which writes the whole tree's
// script. It is "" for anything else too (no command, help, cobra's
// __complete, a mistyped command), which needs the whole tree.
//
// Building only the command that runs saves about 0.1 ms of every start
// (the other commands have some 150 flags): `nodenet isip` is called once
// per address by scripts.
func commandIn(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return ""
		case a == "--config" || a == "--events" || a == "--ready-file":
			i++ // the flag's value
		case strings.HasPrefix(a, "-"):
		default:
			for _, c := range commands {
				if c.name == a && a != "completion" {
					return a
				}
			}
			return ""
		}
	}
	return ""
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
	return newRoot(f, environ, "")
}

// newRoot builds the root and every command, or only the command named
// only when it is not "".
func newRoot(f *Factory, environ []string, only string) *cobra.Command {
	var root *cobra.Command
	// tree is the whole command tree, for telling the config file's
	// keys that no command reads.
	tree := func() *cobra.Command {
		if only == "" {
			return root
		}
		return NewCmdRoot(NewFactory(Test(nil, io.Discard, io.Discard)), nil)
	}
	root = &cobra.Command{
		Use:   "nodenet <command>",
		Short: "Node.js's net module on the command line",
		Long: `nodenet puts Node.js's net module on the command line: a netcat with
Node's semantics for TCP, Unix domain sockets and named pipes, the docs'
echo server, net.isIP and net.BlockList.

Where the Node docs say "test it with telnet localhost 8124" or
"nc -U /tmp/echo.sock", run "nodenet connect 8124" or
"nodenet connect -U /tmp/echo.sock".`,
		// The build information is read only when --version asks: the
		// version template calls nodenetVersion. Version only has to be
		// set for cobra to add the flag.
		Version:       "(devel)",
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          subcommandArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(f.IO.ErrOut)
			cmd.Usage() //nolint:errcheck // stderr
			return &ExitError{Code: exitUsage}
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if !readsConfig(cmd) {
				return nil
			}
			cfg, err := loadConfig(f.ConfigFile, f.Getenv, environ, cmd.Root())
			if err != nil {
				return err
			}
			f.config = cfg
			if err := cfg.apply(cmd, f.IO.ErrOut, tree); err != nil {
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
	root.SetVersionTemplate("nodenet {{nodenetVersion}}\n")
	root.SetFlagErrorFunc(flagError)
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

	for _, c := range commands {
		if only == "" || only == c.name {
			root.AddCommand(c.new(f))
		}
	}
	markRunStarted(root)
	return root
}

// markRunStarted wraps every RunE so that an error cobra returns before
// any RunE started (an unknown flag or command, a bad argument count, a
// required flag or a flag group, all returned unwrapped) is a usage error.
// A command that groups subcommands takes subcommandArgs as its Args.
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
	if c.HasSubCommands() {
		c.Args = subcommandArgs
	}
	for _, sub := range c.Commands() {
		markRunStarted(sub)
	}
}

// ranError marks an error returned by a command's RunE.
type ranError struct{ err error }

func (e *ranError) Error() string { return e.err.Error() }
func (e *ranError) Unwrap() error { return e.err }

// readsConfig tells whether cmd reads the config file and environment:
// not help, and not completion or cobra's __complete, which a shell runs
// at every Tab and which a broken config file must not break.
func readsConfig(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		switch c.Name() {
		case "help", "completion", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			return false
		}
	}
	return true
}

// subcommandArgs refuses an argument to a command that only groups
// subcommands (the root, block): it can only be a mistyped subcommand. It
// suggests the one meant, as cobra does for a root without an Args
// validator, or lists them all.
func subcommandArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	cmd.SuggestionsMinimumDistance = 2
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		return usageErrorf("%s. Did you mean %s?", msg, orList(s))
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return usageErrorf("%s: want %s", msg, orList(names))
}

// orList is "a", "a or b", "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

func init() {
	cobra.AddTemplateFunc("nodenetVersion", buildVersion)
}

// buildVersion is what --version prints after "nodenet ".
func buildVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return versionString(version, bi, runtime.GOOS+"/"+runtime.GOARCH)
}

// versionString is the version given at link time, else the module's
// version from the build information, else "(devel)"; then the VCS
// revision and its time when the build recorded them, and the Go version
// and platform it was built with:
//
//	v1.2.3 (rev 78721ba3c1d2, 2026-12-05T10:00:00Z) go1.26.8 linux/amd64
//	v0.0.0-20261205100000-78721ba3c1d2+dirty go1.26.8 linux/amd64
//	(devel) go1.26.8 linux/amd64
func versionString(linked string, bi *debug.BuildInfo, platform string) string {
	v := linked
	if v == "" && bi != nil && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	goVersion := runtime.Version()
	if bi == nil {
		return v + " " + goVersion + " " + platform
	}
	if bi.GoVersion != "" {
		goVersion = bi.GoVersion
	}
	var rev, at, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "modified"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	var vcs []string
	for _, s := range []string{rev, at, modified} {
		if s != "" {
			vcs = append(vcs, s)
		}
	}
	// A pseudo-version (v0.0.0-20261205100000-78721ba3c1d2+dirty) says
	// it all already.
	if rev != "" && !strings.Contains(v, rev) {
		v += " (rev " + strings.Join(vcs, ", ") + ")"
	}
	return v + " " + goVersion + " " + platform
}
