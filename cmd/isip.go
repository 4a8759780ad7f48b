package cmd

import (
	"errors"

	"github.com/spf13/cobra"
)

// NewCmdIsip is a placeholder until the isip command lands.
func NewCmdIsip(f *Factory, runF func() error) *cobra.Command {
	return &cobra.Command{Use: "isip", Hidden: true, RunE: func(*cobra.Command, []string) error { return errors.New("isip: not built yet") }}
}
