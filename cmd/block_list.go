package cmd

import (
	"strings"

	"github.com/nodenet/nodenet/blocklist"
	"github.com/spf13/cobra"
)

// BlockListOptions is what `nodenet block list` runs with.
type BlockListOptions struct {
	IO *IOStreams
	BlockFileOptions
	JSON bool   // --json: the JSON array, as toJSON()
	Type string // --type: only the rules of this family ("" for all)
}

// NewCmdBlockList builds `nodenet block list`. runF, when not nil,
// receives the options instead of running them (for tests).
func NewCmdBlockList(f *Factory, runF func(*BlockListOptions) error) *cobra.Command {
	opts := &BlockListOptions{IO: f.IO}
	var fl blockFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Print the rules (blockList.rules)",
		Long: `Print the rules one per line, as blockList.rules lists them: address
rules, then subnets newest first, then ranges newest first. --json prints
them as a JSON array, as blockList.toJSON() (the rule file's format).`,
		Example: `  nodenet block list
  nodenet block list --type ipv6
  nodenet block list --json`,
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
			return blockListRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON array, as toJSON()")
	addBlockFlags(cmd, &fl, "list only the rules of this family: ipv4 or ipv6")
	return cmd
}

func blockListRun(opts *BlockListOptions) error {
	b, err := blockLoad(opts.BlockFileOptions)
	if err != nil {
		return err
	}
	rules := blockFilterRules(b.Rules(), opts.Type)
	var out []byte
	if opts.JSON {
		out = blocklist.FormatRules(rules)
	} else {
		for _, r := range rules {
			out = append(out, r...)
			out = append(out, '\n')
		}
	}
	_, err = opts.IO.Out.Write(out)
	return err
}

// blockFilterRules keeps the rules of a family ("" keeps all).
func blockFilterRules(rules []string, family string) []string {
	if family == "" {
		return rules
	}
	word := " IPv4 "
	if family == blocklist.IPv6 {
		word = " IPv6 "
	}
	kept := rules[:0:0]
	for _, r := range rules {
		if strings.Contains(r, word) {
			kept = append(kept, r)
		}
	}
	return kept
}

// BlockExportOptions is what `nodenet block export` runs with.
type BlockExportOptions struct {
	IO *IOStreams
	BlockFileOptions
	Type string // --type: only the rules of this family ("" for all)
}

// NewCmdBlockExport builds `nodenet block export`.
func NewCmdBlockExport(f *Factory, runF func(*BlockExportOptions) error) *cobra.Command {
	opts := &BlockExportOptions{IO: f.IO}
	var fl blockFlags
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Print the rules as JSON (blockList.toJSON)",
		Long: `Print the rules as a JSON array of Node's rule strings, as
blockList.toJSON() returns them: what blockList.fromJSON() and
"nodenet block import" read.`,
		Example: `  nodenet block export > rules.json
  nodenet block export | ssh host nodenet block import --replace -`,
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
			return blockExportRun(opts)
		},
	}
	addBlockFlags(cmd, &fl, "export only the rules of this family: ipv4 or ipv6")
	return cmd
}

func blockExportRun(opts *BlockExportOptions) error {
	return blockListRun(&BlockListOptions{IO: opts.IO, BlockFileOptions: opts.BlockFileOptions, JSON: true, Type: opts.Type})
}
