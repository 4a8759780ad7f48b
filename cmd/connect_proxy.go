package cmd

import (
	"github.com/spf13/cobra"

	"github.com/nodenet/nodenet/netcore"
)

// parseProxy reads --proxy, or NODENET_PROXY when the flag is not set
// (never the ambient ALL_PROXY, which is meant for HTTP clients). An empty
// --proxy '' turns NODENET_PROXY off.
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
