package cmd

import "github.com/nodenet/nodenet/netcore"

// newBroker is listen --broker (and --chat): a client dropped for falling
// more than netcore.DefaultBrokerMaxQueued bytes behind gets a drop event
// naming it, with the bytes that were waiting for it.
func newBroker(chat bool, l *EventLog) *netcore.Broker {
	opts := netcore.BrokerOptions{Chat: chat}
	if l.On(1) {
		opts.OnDrop = func(s *netcore.Socket, queued int) {
			fields := append(socketFields(s), Field{"queuedBytes", queued})
			l.Emit("drop", fields...)
		}
	}
	return netcore.NewBroker(opts)
}
