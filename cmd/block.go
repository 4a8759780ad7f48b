package cmd

import (
	"errors"

	"github.com/spf13/cobra"
)

// NewCmdBlock is a placeholder until the block command lands.
func NewCmdBlock(f *Factory) *cobra.Command {
	return &cobra.Command{Use: "block", Hidden: true, RunE: func(*cobra.Command, []string) error { return errors.New("block: not built yet") }}
}
