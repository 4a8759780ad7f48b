package cmd

import (
	"errors"

	"github.com/nodenet/nodenet/blocklist"
	"github.com/spf13/cobra"
)

// BlockRemoveOptions is what `nodenet block remove` runs with.
type BlockRemoveOptions struct {
	BlockFileOptions
	// Rules are as the command line writes a rule: an address, START-END,
	// NET/PREFIX, or a full Node rule string.
	Rules []string
	// Type is "ipv4" or "ipv6" (--type), or "" to read it from each rule.
	Type string
}

// NewCmdBlockRemove builds `nodenet block remove`. runF, when not nil,
// receives the options instead of running them (for tests).
func NewCmdBlockRemove(f *Factory, runF func(*BlockRemoveOptions) error) *cobra.Command {
	opts := &BlockRemoveOptions{}
	var fl blockFlags
	cmd := &cobra.Command{
		Use:   "remove RULE...",
		Short: "Remove rules (blockList.removeAddress, removeRange, removeSubnet)",
		Long: `Remove each RULE: an address (10.0.0.5), a range (10.0.0.1-10.0.0.10), a
subnet (10.0.0.0/8), or a rule as "list" prints it
("Subnet: IPv4 10.0.0.0/8").

As in Node, an address rule goes whichever form it was added in
(1.2.3.4 removes "Address: IPv6 ::ffff:1.2.3.4"); a range or subnet
must match exactly, network host bits included, and when the same one
was added twice, one RULE removes the newer. A RULE that matches no rule
is an error (exit status 1), and then nothing is removed.`,
		Example: `  nodenet block remove 203.0.113.7
  nodenet block remove 10.0.0.0/8 "Range: IPv4 10.0.0.1-10.0.0.10"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.BlockFileOptions, err = fl.fileOptions(f); err != nil {
				return err
			}
			if opts.Type, err = fl.family(); err != nil {
				return err
			}
			opts.Rules = args
			if runF != nil {
				return runF(opts)
			}
			return blockRemoveRun(opts)
		},
	}
	addBlockFlags(cmd, &fl, "the rules' family: ipv4 or ipv6 (default: IPv6 when the address has a ':')")
	return cmd
}

func blockRemoveRun(opts *BlockRemoveOptions) error {
	rules := make([]blocklist.Rule, len(opts.Rules))
	for i, s := range opts.Rules {
		r, err := blocklist.ParseRuleFamily(s, opts.Type)
		if err != nil {
			return blockInputError(s, err)
		}
		rules[i] = r
	}
	return blockUpdate(opts.BlockFileOptions, func(b *blocklist.BlockList) error {
		for i, r := range rules {
			if !b.Remove(r) {
				return blockInputError(opts.Rules[i], errors.New("no rule to remove: "+r.String()))
			}
		}
		return nil
	})
}

// BlockClearOptions is what `nodenet block clear` runs with.
type BlockClearOptions struct {
	BlockFileOptions
	Type string // --type: remove only the rules of this family ("" for all)
}

// NewCmdBlockClear builds `nodenet block clear`.
func NewCmdBlockClear(f *Factory, runF func(*BlockClearOptions) error) *cobra.Command {
	opts := &BlockClearOptions{}
	var fl blockFlags
	cmd := &cobra.Command{
		Use:   "clear",
		Short: "Remove every rule (blockList.clear)",
		Long: `Remove every rule, or with --type every rule of that family, leaving an
empty rule file ("[]").`,
		Example: `  nodenet block clear
  nodenet block clear --type ipv6`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.BlockFileOptions, err = fl.fileOptions(f); err != nil {
				return err
			}
			if opts.Type, err = fl.family(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return blockClearRun(opts)
		},
	}
	addBlockFlags(cmd, &fl, "remove only the rules of this family: ipv4 or ipv6")
	return cmd
}

func blockClearRun(opts *BlockClearOptions) error {
	return blockUpdate(opts.BlockFileOptions, func(b *blocklist.BlockList) error {
		if opts.Type == "" {
			b.Clear()
			return nil
		}
		for _, s := range blockFilterRules(b.Rules(), opts.Type) {
			r, err := blocklist.ParseRule(s)
			if err != nil {
				return err // a rule Rules printed reads back
			}
			b.Remove(r)
		}
		return nil
	})
}
