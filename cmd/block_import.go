package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nodenet/nodenet/blocklist"
	"github.com/spf13/cobra"
)

// BlockImportOptions is what `nodenet block import` runs with.
type BlockImportOptions struct {
	IO *IOStreams
	BlockFileOptions
	// Source is the file to read, "-" for stdin.
	Source string
	// Replace replaces the rules instead of adding to them.
	Replace bool
	// Type is "ipv4" or "ipv6" (--type), or "" to read it from each rule.
	Type string
}

// NewCmdBlockImport builds `nodenet block import`. runF, when not nil,
// receives the options instead of running them (for tests).
func NewCmdBlockImport(f *Factory, runF func(*BlockImportOptions) error) *cobra.Command {
	opts := &BlockImportOptions{IO: f.IO}
	var fl blockFlags
	cmd := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Add rules from a file (blockList.fromJSON)",
		Long: `Add the rules in FILE (- for stdin) to the rule file, in their order, as
blockList.fromJSON() adds them to a list; with --replace, they replace
the rules instead.

FILE is a JSON array of rules (what "export" prints), or one rule per
line, blank lines and lines starting with "#" aside. A rule is an address,
START-END, NET/PREFIX, or a Node rule string ("Subnet: IPv4 10.0.0.0/8").

Unlike fromJSON, which skips what it cannot read, import is strict: a
rule that is not valid refuses the whole import, naming its line, and the
rule file is left as it was.`,
		Example: `  nodenet block import bad-hosts.txt
  curl -s https://example.com/drop.txt | nodenet block import --replace -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.BlockFileOptions, err = fl.fileOptions(f); err != nil {
				return err
			}
			if opts.Type, err = fl.family(); err != nil {
				return err
			}
			opts.Source = args[0]
			if runF != nil {
				return runF(opts)
			}
			return blockImportRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Replace, "replace", false, "replace the rules instead of adding to them")
	addBlockFlags(cmd, &fl, "the rules' family: ipv4 or ipv6 (default: IPv6 when the address has a ':')")
	return cmd
}

func blockImportRun(opts *BlockImportOptions) error {
	name := opts.Source
	var data []byte
	var err error
	if name == "-" {
		name = "stdin"
		data, err = io.ReadAll(opts.IO.In)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return err
	}
	rules, err := parseImport(name, data, opts.Type)
	if err != nil {
		return err
	}
	return blockUpdate(opts.BlockFileOptions, func(b *blocklist.BlockList) error {
		if opts.Replace {
			b.Reset()
		}
		for _, r := range rules {
			if err := b.Add(r); err != nil {
				return err // each was checked when read
			}
		}
		return nil
	})
}

// parseImport reads every rule of an import, strictly: the first one that
// is not valid is an error naming its line.
func parseImport(name string, data []byte, family string) ([]blocklist.Rule, error) {
	var rules []blocklist.Rule
	add := func(line int, s string) error {
		r, err := blocklist.ParseRuleFamily(s, family)
		if err != nil {
			return fmt.Errorf("%s:%d: %q: %w", name, line, s, err)
		}
		rules = append(rules, r)
		return nil
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		return rules, scanJSONStrings(name, data, add)
	}
	for i, line := range strings.Split(string(data), "\n") {
		s := strings.TrimSpace(line)
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if err := add(i+1, s); err != nil {
			return nil, err
		}
	}
	return rules, nil
}

// scanJSONStrings calls add with each string of a JSON array and its line.
func scanJSONStrings(name string, data []byte, add func(line int, s string) error) error {
	d := json.NewDecoder(bytes.NewReader(data))
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte{'\n'}) }
	syntax := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return usageErrorf("%s:%d: invalid JSON: %v", name, lineAt(se.Offset), err)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return usageErrorf("%s:%d: invalid JSON: unexpected end", name, lineAt(int64(len(data))))
		}
		return usageErrorf("%s: invalid JSON: %v", name, err)
	}
	if _, err := d.Token(); err != nil { // the '['
		return syntax(err)
	}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return syntax(err)
		}
		line := lineAt(d.InputOffset() - 1)
		s, ok := tok.(string)
		if !ok {
			return usageErrorf("%s:%d: want a rule string, found %v", name, line, tok)
		}
		if err := add(line, s); err != nil {
			return err
		}
	}
	if _, err := d.Token(); err != nil { // the ']'
		return syntax(err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return usageErrorf("%s:%d: invalid JSON: more after the array", name, lineAt(d.InputOffset()))
	}
	return nil
}
