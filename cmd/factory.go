package cmd

import (
	"os"
	"sync"
)

// Factory carries what every command shares: the streams, the global
// flags, and the event log built from them. NewCmdRoot fills the global
// fields from persistent flags before any command runs.
type Factory struct {
	IO *IOStreams

	Verbose    int    // -v, repeatable
	Quiet      bool   // -q
	Events     string // --events text|json
	NoColor    bool   // --no-color
	ConfigFile string // --config
	ReadyFile  string // --ready-file (hidden): where servers write their address

	// Getenv reads the environment; tests replace it.
	Getenv func(string) string

	// config is the config file and environment, read once by the root
	// command's PersistentPreRunE.
	config *configSource

	eventsOnce sync.Once
	events     *EventLog
}

// NewFactory returns a Factory on the given streams, reading the process
// environment.
func NewFactory(io *IOStreams) *Factory {
	return &Factory{IO: io, Getenv: os.Getenv}
}

// ColorEnabled reports whether stderr output may be coloured: stderr is a
// terminal, and neither --no-color nor NO_COLOR (any value, see
// https://no-color.org) turns it off.
func (f *Factory) ColorEnabled() bool {
	if f.NoColor || f.Getenv("NO_COLOR") != "" {
		return false
	}
	return f.IO.StderrIsTTY()
}

// EventLog returns the event renderer for -v and --events, built on first
// use. It is nil-safe to call its methods when it is disabled.
func (f *Factory) EventLog() *EventLog {
	f.eventsOnce.Do(func() {
		f.events = newEventLog(f.IO.ErrOut, f.Events == "json", f.Verbose, f.ColorEnabled())
	})
	return f.events
}

// Ready writes addr and a newline to the --ready-file, if one was given,
// atomically: a reader sees the whole line or no file. Tests start a server
// on port 0 and learn the bound address from it.
func (f *Factory) Ready(addr string) error {
	if f.ReadyFile == "" {
		return nil
	}
	tmp := f.ReadyFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(addr+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, f.ReadyFile)
}

// ConfigValue returns a top-level key of the config file or of the
// environment (NODENET_<KEY>), for the few settings that are not a
// command's flag, such as the blocklist file. ok is false when neither
// sets it.
func (f *Factory) ConfigValue(key string) (value string, ok bool) {
	if f.config == nil {
		return "", false
	}
	return f.config.topLevel(key)
}
