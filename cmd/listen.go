package cmd

import (
	"errors"

	"github.com/spf13/cobra"
)

// NewCmdListen is a placeholder until the listen command lands.
func NewCmdListen(f *Factory, runF func() error) *cobra.Command {
	return &cobra.Command{Use: "listen", Hidden: true, RunE: func(*cobra.Command, []string) error { return errors.New("listen: not built yet") }}
}
