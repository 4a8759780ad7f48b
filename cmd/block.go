package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/nodenet/nodenet/blocklist"
	"github.com/spf13/cobra"
)

// NewCmdBlock builds `nodenet block` and its subcommands.
func NewCmdBlock(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "block <command>",
		Short: "Keep a rule file of Node's net.BlockList and check addresses",
		Long: `Keep net.BlockList rules in a rule file and check addresses against them,
with the semantics of current Node (v26).

The rule file is --file, else $NODENET_BLOCKLIST, else the config file's
"blocklist" key, else $XDG_CONFIG_HOME/nodenet/blocklist.json. It is a JSON
array of Node's rule strings, as blockList.toJSON() writes them: address
rules first (1.2.3.4 and ::ffff:1.2.3.4 are one rule, in the form added
last), then subnets newest first, then ranges newest first. listen,
connect and echo read it with --blocklist FILE.

Addresses are read as Node's BlockList reads them: a zone ("%eth0") is
ignored; leading zeros and spaces are refused. Without --type, an address
with a ':' is IPv6. IPv4 and IPv6 meet only through IPv4-mapped addresses:
::ffff:10.0.0.1 is blocked by a rule for 10.0.0.1, and the other way round.

Changes are atomic and take a lock (FILE.lock), so concurrent runs lose no
rule. Invalid input is refused with Node's error code, exit status 2, and
the file is left as it was.

The rule file must be a regular file of at most 6 MiB (200,000
rules): a FIFO, a device, a directory or a larger file is refused without
being read, and a change that would make the file larger is refused. A
rule file that is a symbolic link is followed: the file it points to is
locked and replaced, and the link stays. FILE.lock is never followed: a
link or anything but a regular file there is refused. A change removes
the temporary files (.FILE.tmp...) that a killed run left behind.`,
		Example: `  nodenet block add 203.0.113.7 2001:db8::1
  nodenet block add-range 10.0.0.1 10.0.0.10
  nodenet block add-subnet 192.168.0.0/16
  nodenet block check 10.0.0.5 ::ffff:10.0.0.5
  nodenet block list
  nodenet block import bad-hosts.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(f.IO.ErrOut)
			cmd.Usage() //nolint:errcheck // stderr
			return &ExitError{Code: exitUsage}
		},
	}
	cmd.AddCommand(
		NewCmdBlockAdd(f, nil),
		NewCmdBlockAddRange(f, nil),
		NewCmdBlockAddSubnet(f, nil),
		NewCmdBlockCheck(f, nil),
		NewCmdBlockList(f, nil),
		NewCmdBlockExport(f, nil),
		NewCmdBlockRemove(f, nil),
		NewCmdBlockClear(f, nil),
		NewCmdBlockImport(f, nil),
	)
	return cmd
}

// BlockFileOptions is the rule file a block subcommand works on.
type BlockFileOptions struct {
	// File is the rule file's path.
	File string
	// Default is set when File is the default location, nobody having
	// named a file: it may not exist yet (no rules), and its folder is
	// made when rules are written.
	Default bool
}

// blockFlags are the flags every block subcommand has: --file and --type.
type blockFlags struct {
	file string
	typ  string
}

func addBlockFlags(cmd *cobra.Command, fl *blockFlags, typeUsage string) {
	cmd.Flags().StringVar(&fl.file, "file", "", "the rule `file`, a regular file of at most 6 MiB; a symbolic link is followed (default: $NODENET_BLOCKLIST, the config's blocklist, $XDG_CONFIG_HOME/nodenet/blocklist.json)")
	cmd.Flags().StringVar(&fl.typ, "type", "", typeUsage)
	cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions([]string{blocklist.IPv4, blocklist.IPv6}, cobra.ShellCompDirectiveNoFileComp)) //nolint:errcheck // the flag exists
}

// fileOptions resolves the rule file: --file, then NODENET_BLOCKLIST, then
// the config's top-level blocklist key (ConfigValue reads the environment
// before the file), then $XDG_CONFIG_HOME/nodenet/blocklist.json.
func (fl *blockFlags) fileOptions(f *Factory) (BlockFileOptions, error) {
	if fl.file != "" {
		return BlockFileOptions{File: fl.file}, nil
	}
	if v, ok := f.ConfigValue("blocklist"); ok && v != "" {
		return BlockFileOptions{File: v}, nil // NODENET_BLOCKLIST, else the config's key
	}
	if v := f.Getenv("NODENET_BLOCKLIST"); v != "" {
		return BlockFileOptions{File: v}, nil // when no config was read (tests)
	}
	dir := f.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := f.Getenv("HOME")
		if home == "" {
			return BlockFileOptions{}, usageErrorf("no rule file: give --file, or set NODENET_BLOCKLIST, XDG_CONFIG_HOME or HOME")
		}
		dir = filepath.Join(home, ".config")
	}
	return BlockFileOptions{File: filepath.Join(dir, "nodenet", "blocklist.json"), Default: true}, nil
}

// family checks --type: "ipv4" or "ipv6" in any case, as Node reads a
// family; "" leaves it to each address.
func (fl *blockFlags) family() (string, error) {
	if fl.typ == "" {
		return "", nil
	}
	return blocklist.Family(fl.typ)
}

// blockFamilyOf is the family of an address given without --type: IPv6 when it
// has a ':' (no IPv4 address does), else IPv4.
func blockFamilyOf[T string | []byte](a T) string {
	for i := 0; i < len(a); i++ {
		if a[i] == ':' {
			return blocklist.IPv6
		}
	}
	return blocklist.IPv4
}

// blockLoad reads the rule file for a command that only reads it. The
// default file may not exist yet: then there are no rules.
func blockLoad(o BlockFileOptions) (*blocklist.BlockList, error) {
	b, err := blocklist.LoadFile(o.File)
	if err != nil {
		if o.Default && errors.Is(err, fs.ErrNotExist) {
			return blocklist.New(), nil
		}
		return nil, blockStoreError(err)
	}
	return b, nil
}

// blockUpdate changes the rule file under its lock and writes it back,
// unless change fails: then the file stays byte for byte as it was.
func blockUpdate(o BlockFileOptions, change func(*blocklist.BlockList) error) error {
	if o.Default {
		if err := os.MkdirAll(filepath.Dir(o.File), 0o755); err != nil {
			return &ExitError{Code: exitFailure, Err: err}
		}
	}
	// A change holds the rules in several forms at once (the file, the
	// rules, Node's address table), in large arrays without pointers that
	// the collector marks at little cost: collect more often than by
	// default, so that a change to a full rule file stays within a few
	// times its size. (Unless the caller turned collection off, under a
	// memory limit, as import does.)
	if gc := debug.SetGCPercent(blockUpdateGC); gc < 0 {
		debug.SetGCPercent(gc)
	} else {
		defer debug.SetGCPercent(gc)
	}
	var changeErr error
	err := blocklist.Update(o.File, func(b *blocklist.BlockList) error {
		changeErr = change(b)
		return changeErr
	})
	if err != nil && err != changeErr { //nolint:errorlint // identity: the error is change's own
		return blockStoreError(err)
	}
	return err
}

// blockUpdateGC is the collector's GOGC while a rule file changes.
const blockUpdateGC = 10

// blockStoreError is a rule file that cannot be read or written: a runtime
// failure (exit 1), even when what is wrong is a rule in it, which Node's
// code names. Bad input on the command line is a usage error instead.
func blockStoreError(err error) error {
	return &ExitError{Code: exitFailure, Err: err}
}

// blockInputError names the input an error is about.
func blockInputError(input string, err error) error {
	return fmt.Errorf("%q: %w", input, err)
}
