package cmd

import "github.com/spf13/cobra"

// emptyFlags refuses a flag given as an empty string, which would
// otherwise read as not given at all: listen with an empty -U PATH would
// listen on TCP.
func emptyFlags(cmd *cobra.Command, names ...string) error {
	for _, name := range names {
		f := cmd.Flags().Lookup(name)
		if f == nil || !f.Changed || f.Value.String() != "" {
			continue
		}
		switch name {
		case "unix":
			return usageErrorf("-U/--unix '': want a socket PATH, an @abstract name or a \\\\.\\pipe\\NAME")
		case "fd":
			return usageErrorf("--fd '': want a file descriptor number N or \"systemd\"")
		}
		return usageErrorf("--%s '': cannot be empty", name)
	}
	return nil
}
