package cmd

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/nodenet/nodenet/netcore"
)

// parseProxy reads --proxy, or NODENET_PROXY when the flag is not set
// (never the ambient ALL_PROXY, which is meant for HTTP clients). An empty
// --proxy="" turns NODENET_PROXY off.
func (o *ConnectOptions) parseProxy(cmd *cobra.Command, f *Factory) error {
	if !cmd.Flags().Changed("proxy") && o.ProxyURL == "" {
		o.ProxyURL = f.Getenv("NODENET_PROXY")
	}
	if o.ProxyURL == "" {
		return nil
	}
	if o.Path != "" {
		return usageErrorf("--proxy tunnels TCP only: it cannot be used with -U PATH")
	}
	p, err := netcore.ParseProxy(o.ProxyURL)
	if err != nil {
		return err
	}
	o.Proxy = p
	return nil
}

// ncOrder accepts nc's and ssh's "HOST PORT" order (ProxyCommand
// 'nodenet connect %h %p') besides Node's "PORT HOST": two arguments of
// which only the second is a decimal number are swapped. A host name is
// never all digits, so the two orders cannot be mistaken for each other.
func ncOrder(args []string) []string {
	if len(args) == 2 && !isDecimal(args[0]) && isDecimal(args[1]) {
		return []string{args[1], args[0]}
	}
	return args
}

func isDecimal(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
