package cmd

import (
	"strings"

	"github.com/nodenet/nodenet/blocklist"
	"github.com/spf13/cobra"
)

// BlockAddOptions is what `nodenet block add` runs with.
type BlockAddOptions struct {
	BlockFileOptions
	// Addresses are added in order, as blockList.addAddress(address, type).
	Addresses []string
	// Type is "ipv4" or "ipv6" (--type), or "" to read it from each address.
	Type string
}

// NewCmdBlockAdd builds `nodenet block add`. runF, when not nil, receives
// the options instead of running them (for tests).
func NewCmdBlockAdd(f *Factory, runF func(*BlockAddOptions) error) *cobra.Command {
	opts := &BlockAddOptions{}
	var fl blockFlags
	cmd := &cobra.Command{
		Use:   "add ADDRESS...",
		Short: "Block addresses (blockList.addAddress)",
		Long: `Add a rule for each ADDRESS, as blockList.addAddress(address, type).

An address already in the file, in either form (1.2.3.4 and ::ffff:1.2.3.4
are the same address), keeps one rule, in the form given last. If any
ADDRESS is invalid, none is added.`,
		Example: `  nodenet block add 203.0.113.7 2001:db8::1
  nodenet block add --type ipv6 ::ffff:10.0.0.1`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.BlockFileOptions, err = fl.fileOptions(f); err != nil {
				return err
			}
			if opts.Type, err = fl.family(); err != nil {
				return err
			}
			opts.Addresses = args
			if runF != nil {
				return runF(opts)
			}
			return blockAddRun(opts)
		},
	}
	addBlockFlags(cmd, &fl, "the addresses' family: ipv4 or ipv6 (default: IPv6 when the address has a ':')")
	return cmd
}

func blockAddRun(opts *BlockAddOptions) error {
	return blockUpdate(opts.BlockFileOptions, func(b *blocklist.BlockList) error {
		for _, a := range opts.Addresses {
			fam := opts.Type
			if fam == "" {
				fam = blockFamilyOf(a)
			}
			if err := b.AddAddress(a, fam); err != nil {
				return blockInputError(a, err)
			}
		}
		return nil
	})
}

// BlockAddRangeOptions is what `nodenet block add-range` runs with.
type BlockAddRangeOptions struct {
	BlockFileOptions
	Start, End string
	// Type is "ipv4" or "ipv6" (--type), or "" to read it from Start.
	Type string
}

// NewCmdBlockAddRange builds `nodenet block add-range`.
func NewCmdBlockAddRange(f *Factory, runF func(*BlockAddRangeOptions) error) *cobra.Command {
	opts := &BlockAddRangeOptions{}
	var fl blockFlags
	cmd := &cobra.Command{
		Use:   "add-range START END",
		Short: "Block a range of addresses (blockList.addRange)",
		Long: `Add a rule for the addresses from START to END, both included, as
blockList.addRange(start, end, type). START must not come after END.

An IPv6 range blocks IPv4 addresses only when both its ends are
IPv4-mapped (::ffff:a.b.c.d), as in Node.`,
		Example: `  nodenet block add-range 10.0.0.1 10.0.0.10
  nodenet block add-range 2001:db8::1 2001:db8::ff`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.BlockFileOptions, err = fl.fileOptions(f); err != nil {
				return err
			}
			if opts.Type, err = fl.family(); err != nil {
				return err
			}
			opts.Start, opts.End = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return blockAddRangeRun(opts)
		},
	}
	addBlockFlags(cmd, &fl, "the range's family: ipv4 or ipv6 (default: IPv6 when START has a ':')")
	return cmd
}

func blockAddRangeRun(opts *BlockAddRangeOptions) error {
	fam := opts.Type
	if fam == "" {
		fam = blockFamilyOf(opts.Start)
	}
	return blockUpdate(opts.BlockFileOptions, func(b *blocklist.BlockList) error {
		if err := b.AddRange(opts.Start, opts.End, fam); err != nil {
			return blockInputError(opts.Start+" "+opts.End, err)
		}
		return nil
	})
}

// BlockAddSubnetOptions is what `nodenet block add-subnet` runs with.
type BlockAddSubnetOptions struct {
	BlockFileOptions
	// Network and Prefix are as given: "10.0.0.0" and "8".
	Network, Prefix string
	// Type is "ipv4" or "ipv6" (--type), or "" to read it from Network.
	Type string
}

// NewCmdBlockAddSubnet builds `nodenet block add-subnet`.
func NewCmdBlockAddSubnet(f *Factory, runF func(*BlockAddSubnetOptions) error) *cobra.Command {
	opts := &BlockAddSubnetOptions{}
	var fl blockFlags
	cmd := &cobra.Command{
		Use:   "add-subnet NET/PREFIX | NET PREFIX",
		Short: "Block a subnet (blockList.addSubnet)",
		Long: `Add a rule for the addresses whose first PREFIX bits are NET's, as
blockList.addSubnet(net, prefix, type). PREFIX is a decimal integer, 0 to
32 for IPv4 and 0 to 128 for IPv6; anything else is Node's
ERR_OUT_OF_RANGE. NET is kept as given, host bits included, as Node keeps
it ("Subnet: IPv4 192.168.1.7/24").

An IPv6 subnet blocks the IPv4 addresses whose mapped form it holds: ::/0
blocks every IPv4 address.`,
		Example: `  nodenet block add-subnet 192.168.0.0/16
  nodenet block add-subnet 2001:db8:: 32`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.BlockFileOptions, err = fl.fileOptions(f); err != nil {
				return err
			}
			if opts.Type, err = fl.family(); err != nil {
				return err
			}
			if len(args) == 2 {
				opts.Network, opts.Prefix = args[0], args[1]
			} else {
				var ok bool
				if opts.Network, opts.Prefix, ok = blockCutLast(args[0], "/"); !ok {
					return usageErrorf("add-subnet %q: want NET/PREFIX or NET PREFIX", args[0])
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return blockAddSubnetRun(opts)
		},
	}
	addBlockFlags(cmd, &fl, "the subnet's family: ipv4 or ipv6 (default: IPv6 when NET has a ':')")
	return cmd
}

func blockCutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

func blockAddSubnetRun(opts *BlockAddSubnetOptions) error {
	fam := opts.Type
	if fam == "" {
		fam = blockFamilyOf(opts.Network)
	}
	input := opts.Network + "/" + opts.Prefix
	r, err := blocklist.ParseSubnet(opts.Network, opts.Prefix, fam)
	if err != nil {
		return blockInputError(input, err)
	}
	return blockUpdate(opts.BlockFileOptions, func(b *blocklist.BlockList) error {
		if err := b.Add(r); err != nil {
			return blockInputError(input, err)
		}
		return nil
	})
}
