package cmd

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/nodenet/nodenet/netcore"
)

// netcatArgs reads --proxy and checks the netcat flags' combinations.
func (o *ConnectOptions) netcatArgs(cmd *cobra.Command, f *Factory) error {
	if err := o.StreamFlags.check(); err != nil {
		return err
	}
	if (o.StreamFlags.on() || o.Telnet) && o.ExecFlags.On() {
		return usageErrorf("--crlf, --telnet, --hex, --send-only, --recv-only and --progress apply to the relay, not to --exec or --sh-exec")
	}
	if o.Send != nil && o.RecvOnly {
		return usageErrorf("--send and --recv-only cannot be used together")
	}
	if err := o.parseProxy(cmd, f); err != nil {
		return err
	}
	if o.Ports != nil {
		switch {
		case o.Path != "":
			return usageErrorf("-z with a port list scans TCP ports: it cannot be used with -U PATH")
		case o.Proxy != nil:
			return usageErrorf("-z with a port list scans directly: it cannot go through --proxy")
		case o.Wait > 0:
			return usageErrorf("--wait waits for one port: it cannot be used with a port list")
		}
	}
	return nil
}

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

// endGrace is the relay's EndGrace: none with --recv-only, whose FIN goes
// at once (there is no request whose answer it could cut short).
func (o *ConnectOptions) endGrace() time.Duration {
	if o.RecvOnly {
		return 0
	}
	return netcore.DefaultEndGrace
}
