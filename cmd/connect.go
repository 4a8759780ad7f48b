package cmd

import (
	"errors"

	"github.com/spf13/cobra"
)

// NewCmdConnect is a placeholder until the connect command lands.
func NewCmdConnect(f *Factory, runF func() error) *cobra.Command {
	return &cobra.Command{Use: "connect", Hidden: true, RunE: func(*cobra.Command, []string) error { return errors.New("connect: not built yet") }}
}
