package cmd

import (
	"errors"

	"github.com/spf13/cobra"
)

// NewCmdEcho is a placeholder until the echo command lands.
func NewCmdEcho(f *Factory, runF func() error) *cobra.Command {
	return &cobra.Command{Use: "echo", Hidden: true, RunE: func(*cobra.Command, []string) error { return errors.New("echo: not built yet") }}
}
